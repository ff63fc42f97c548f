from pathlib import Path

import pytest
import yaml

from riskmap.config import OPTIONS, config_from_mapping, load_config, render_yaml
from riskmap.errors import ConfigError, ProjectError


def test_defaults_filled_in(tmp_path: Path):
    config = config_from_mapping({"gemeente": "GM0034"}, tmp_path)
    assert config["privacy.min_count"] == 5
    assert config["scoring.normalisation"] == "percentile"
    assert config["scoring.theme_weights"]["drugs"] == 1.0


def test_every_option_documented_and_rendered():
    text = render_yaml({"gemeente": "GM0034"})
    for option in OPTIONS:
        assert option.doc and option.doc in text, option.key
    # the rendered file is itself a valid configuration
    config_from_mapping(yaml.safe_load(text), Path())


@pytest.mark.parametrize(("data", "message"), [
    ({"gemeente": "GM0034", "privacy": {"min_count": 3}},
     r"optie 'privacy.min_count' moet een geheel getal >= 5 zijn \(nooit zwakker\) \(nu 3\)"),
    ({"gemeente": "GM0034", "scoring": {"normalisation": "rank"}},
     r"moet een van \{percentile, zscore, minmax\} zijn"),
    ({"gemeente": "GM0034", "scoring": {"theme_weights": {"fraude": 1}}},
     "heeft onbekend thema 'fraude'"),
    ({"gemeente": "0034"}, "moet een CBS-gemeentecode zijn zoals GM0034"),
    ({"gemeente": "GM0034", "scoring": {"draws": 1_000_000}},
     r"moet een geheel getal van 0 tot en met 100\.000 zijn"),
    ({"gemeente": "GM0034", "scorng": {"draws": 10}}, "onbekende optie 'scorng.draws'"),
    ({}, "'gemeente' is verplicht"),
])
def test_invalid_options_are_refused(tmp_path: Path, data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data, tmp_path)


def test_load_config_errors(tmp_path: Path):
    with pytest.raises(ProjectError, match=r"geen riskmap-project \(geen riskmap\.yaml\); maak er een "
                                           r"met `riskmap init -p "):
        load_config(tmp_path)
    (tmp_path / "riskmap.yaml").write_text("gemeente: [GM0034\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="regel 2, kolom 1: geen geldige YAML"):
        load_config(tmp_path)


def test_unreadable_config_says_how_to_recover(tmp_path: Path):
    (tmp_path / "riskmap.yaml").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match=r"riskmap.yaml: geen tekstbestand .* herstel: "):
        load_config(tmp_path)
    (tmp_path / "riskmap.yaml").write_text("- GM0034\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"verwacht opties \(sleutel: waarde\) op het hoogste "
                                          r"niveau; herstel: "):
        load_config(tmp_path)
