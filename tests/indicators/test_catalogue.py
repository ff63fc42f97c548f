from pathlib import Path

import pytest
import yaml

from riskmap.config import THEMES
from riskmap.errors import ConfigError
from riskmap.indicators.catalogue import INDICATOR_LEVELS, load_catalogue
from riskmap.sbi import config_file


def test_shipped_catalogue_is_complete():
    catalogue = load_catalogue()
    assert len(catalogue) >= 24
    assert {t for i in catalogue for t in i.themes} == set(THEMES)
    for level in INDICATOR_LEVELS:
        assert any(level in i.levels for i in catalogue)
    for indicator in catalogue:
        assert indicator.label and indicator.rationale and indicator.unit
    ids = {i.id for i in catalogue}
    required = {"laag_inkomen", "bijstand", "particuliere_verhuur", "onbewoonde_woningen",
                "woz_waarde", "jongeren", "aandeel_risicobranches", "verloop", "kortlevend",
                "adresconcentratie", "risicobranche_zonder_personeel", "hennep", "damocles",
                "opiumwet", "meldingen_mensenhandel", "meldingen_adresfraude",
                "bibob_weigeringen", "sluitingen_woningen", "opslag_transport",
                "leegstand_bedrijfspanden", "eenmanszaken", "controles_bevinding"}
    assert required <= ids
    woz = next(i for i in catalogue if i.id == "woz_waarde")
    assert woz.direction == -1


def _with(tmp_path: Path, change: dict) -> Path:
    data = yaml.safe_load(config_file("indicators.yaml").read_text(encoding="utf-8"))
    data["indicators"][0].update(change)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"themes": ["fraude"]}, "onbekend thema 'fraude'"),
    ({"levels": ["straat"]}, "onbekend niveau 'straat'"),
    ({"numerator": {"cbs": "AantalKatten"}}, "onbekende CBS-variabele 'AantalKatten'"),
    ({"numerator": {"establishments": {"branches": ["bakkerij"]}}},
     "onbekende risicobranche 'bakkerij'"),
    ({"numerator": {"events": {"kind": "meldingen", "category": ["parkeren"]}}},
     "meldingen.category heeft geen waarde 'parkeren'"),
    ({"numerator": {"events": {"kind": "boetes"}}}, "onbekend soort register 'boetes'"),
    ({"numerator": {"cbs": "AantalInwoners", "events": {"kind": "hennep"}}},
     "precies één soort maat"),
    ({"direction": "up"}, "direction moet higher of lower zijn"),
    ({"window": 5}, "veelvoud van 3"),
    ({"kleur": "rood"}, "onbekende sleutel 'kleur'"),
])
def test_invalid_entries_name_the_indicator(tmp_path: Path, change: dict, message: str):
    with pytest.raises(ConfigError, match=f"indicator 'laag_inkomen'.*{message}"):
        load_catalogue(_with(tmp_path, change))


def test_duplicate_ids_refused(tmp_path: Path):
    data = yaml.safe_load(config_file("indicators.yaml").read_text(encoding="utf-8"))
    data["indicators"].append(data["indicators"][0])
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="'laag_inkomen' komt meer dan eens voor"):
        load_catalogue(path)


@pytest.mark.parametrize(("change", "message"), [
    ({"fallback_for": "geen_indicator"}, "fallback_for moet een indicator noemen"),
    ({"fallback_for": "hennep_adressen"}, "fallback_for moet een indicator noemen die zelf geen "
                                          "fallback is"),
    ({"fallback_for": "hennep"}, "een fallback heeft de thema's en het gewicht van 'hennep'"),
])
def test_invalid_fallbacks_are_refused(tmp_path: Path, change: dict, message: str):
    with pytest.raises(ConfigError, match=f"indicator 'laag_inkomen'.*{message}"):
        load_catalogue(_with(tmp_path, change))


def test_shipped_fallbacks_share_their_primary_and_count_per_address_or_establishment():
    catalogue = {i.id: i for i in load_catalogue()}
    fallbacks = [i for i in catalogue.values() if i.fallback_for]
    assert len(fallbacks) >= 8
    for fallback in fallbacks:
        primary = catalogue[fallback.fallback_for]
        assert fallback.themes == primary.themes and fallback.weight == primary.weight
        assert fallback.denominator_noun in {"adressen", "vestigingen"}
        assert "kwetsbaarheid" not in fallback.themes  # residents only: no stand-in
