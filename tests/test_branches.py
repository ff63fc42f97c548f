"""Risk branches in both SBI versions: real code pairs get the same branch, splits need a rule."""

from pathlib import Path

import pandas as pd
import pytest

from riskmap.branches import branch_definitions, branch_of, risk_branches
from riskmap.errors import ConfigError

# (SBI 2008, SBI 2025) of the same establishment, each link in Eurostat's correspondence
PAIRS = {
    ("56101", "56111"): "horeca", ("5630", "56300"): "horeca", ("5610", "56120"): "horeca",
    ("96021", "96210"): "kapsalons", ("96022", "96220"): "nagel_schoonheid",
    ("9604", "96230"): "nagel_schoonheid", ("4511", "47810"): "autobranche",
    ("4511", "46710"): "autobranche", ("45204", "95315"): "autobranche",
    ("46771", "46871"): "autobranche", ("4742", "47402"): "belwinkels",
    ("68203", "68202"): "vastgoed", ("68204", "68203"): "vastgoed", ("4110", "68120"): "vastgoed",
    ("5210", "52109"): "opslag", ("4941", "49410"): "transport", ("53202", "53202"): "transport",
    ("66193", "66199"): "geldwissel", ("7830", "78201"): "uitzendbureaus",
    ("9200", "92000"): "speelautomaten", ("47892", "47793"): "tweedehands",
    ("46772", "46872"): "tweedehands", ("7711", "77112"): "autoverhuur",
    ("6201", "62100"): None, ("68201", "68201"): None, ("4741", "47401"): None,
    ("53201", "53201"): None, ("77391", "77390"): None,
}


def test_the_same_establishment_gets_the_same_branch_in_both_versions():
    old = pd.Series([a for a, _ in PAIRS])
    new = pd.Series([b for _, b in PAIRS])
    expected = list(PAIRS.values())
    assert branch_of(old, 2008).tolist() == expected
    assert branch_of(new, 2025).tolist() == expected


def test_branch_of_reads_each_code_in_its_own_version():
    # 68202 is "gemeentelijke woningbedrijven" in SBI 2008 (no branch) and "verhuur van overige
    # woonruimte" in SBI 2025 (vastgoed); 53202 is koeriers in both
    codes = pd.Series(["68202", "68202", "53202", "53202", None])
    versions = pd.Series([2008, 2025, 2008, 2025, 2025])
    assert branch_of(codes, versions).tolist() == [None, "vastgoed", "transport", "transport",
                                                    None]


def test_shipped_definitions_cover_every_split():
    definitions = branch_definitions()
    assert len(definitions.branches) == 13 and len(definitions.splits) >= 10
    assert all(rule.rule for rule in definitions.splits)
    assert any(rule.covers("4511", "4618") for rule in definitions.splits)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "risk_branches.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_split_without_rule_is_refused(tmp_path: Path):
    path = _write(tmp_path, 'branches:\n  auto:\n    sbi2008: ["4511"]\n    sbi2025: ["4781"]\n')
    with pytest.raises(ConfigError, match=r"zonder splitsingsregel, o\.a\. 4511 \(auto\) → 4618 "
                                          r"\(geen branche\)"):
        branch_definitions(path)
    rule = ('splits:\n  - sbi2008: ["4511", "4519"]\n    sbi2025: ["4618", "4671", "4781"]\n'
            '    rule: "bemiddeling valt erbuiten"\n')
    path = _write(tmp_path, 'branches:\n  auto:\n    sbi2008: ["4511", "4519"]\n'
                            '    sbi2025: ["4781", "4671"]\n' + rule)
    assert list(risk_branches(path)) == ["auto"]


@pytest.mark.parametrize(("yaml_text", "message"), [
    ('branches:\n  a:\n    sbi2008: ["4511"]\n    sbi2025: ["45110"]\n',
     r"branche 'a': SBI 2025-code\(s\) die niet in SBI 2025 bestaan: 45110"),
    ('branches:\n  a:\n    sbi2008: ["5630"]\n', r"branche 'a': .*\(geen opgegeven\)"),
    ('branches:\n  a:\n    sbi2008: ["56"]\n    sbi2025: ["56"]\n'
     '  b:\n    sbi2008: ["5630"]\n    sbi2025: ["5630"]\n', r"overlapt met branche 'b'"),
])
def test_bad_definitions_are_refused(tmp_path: Path, yaml_text: str, message: str):
    with pytest.raises(ConfigError, match=message):
        branch_definitions(_write(tmp_path, yaml_text))


@pytest.mark.parametrize("groups", [False, True])
def test_memberships_as_each_branch_asked_in_turn(groups: bool):
    from riskmap._config_files import config_file
    from riskmap.branches import _classes, _memberships
    branches = branch_definitions(str(config_file("sbi_groups.yaml")) if groups else None).branches
    for version in (2008, 2025):
        codes = {*_classes(version), *(c[:n] for c in _classes(version) for n in (1, 2, 3))}

        def plain(code: str, version: int = version) -> str | None:  # branch by branch
            whole = [b.key for b in branches.values() if code.startswith(b.prefixes[version])]
            part = sorted(b.key for b in branches.values()
                          if any(p.startswith(code) for p in b.prefixes[version]))
            return whole[0] if whole else f"deels {'/'.join(part)}" if part else None
        found = _memberships(codes, version, branches)
        assert found == {code: plain(code) for code in codes}
        assert any(str(v).startswith("deels") for v in found.values())
