"""The reference docs in docs/ are generated from the catalogues and must be current."""

from pathlib import Path

import pytest

from riskmap.config import OPTIONS
from riskmap.docs import REFERENCES
from riskmap.indicators.catalogue import load_catalogue

DOCS = Path(__file__).resolve().parents[1] / "docs"
FILES = {"indicators": "indicators.md", "registers": "registers.md", "config": "configuration.md",
         "branches": "branches.md", "kvk": "kvk.md"}


@pytest.mark.parametrize("what", list(FILES))
def test_generated_docs_are_current(what: str):
    assert (DOCS / FILES[what]).read_text(encoding="utf-8") == REFERENCES[what](), \
        f"run `riskmap docs {what} --out docs/{FILES[what]}`"


def test_every_indicator_and_option_is_documented():
    indicators = (DOCS / "indicators.md").read_text(encoding="utf-8")
    assert all(f"`{i.id}`" in indicators for i in load_catalogue())
    configuration = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert all(f"`{o.key}`" in configuration for o in OPTIONS)


def test_docs_name_unavailable_cbs_variables_and_register_spellings():
    indicators = REFERENCES["indicators"]()
    moves = indicators[indicators.index("`verhuizingen`"):].split("###")[0]
    assert "niet beschikbaar in 2024 (CBS-tabel 85984NED" in moves
    registers = REFERENCES["registers"]()
    assert "`woonfraude` → `adresfraude`" in registers and "`Adres fraude`" in registers
