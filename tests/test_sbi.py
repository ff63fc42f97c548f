"""The shipped SBI lists, code validation per version, version evidence and harmonised sections."""

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap import sbi
from riskmap.errors import ConfigError, InputError
from riskmap.sbi import (
    check_version,
    harmonised_sections,
    normalise_sbi,
    placeholder_code,
    sbi_list,
    sbi_prefixes,
    version_evidence,
)

SHIPPED = ("sbi2008.csv", "sbi2025.csv", "sbi2008_sbi2025.csv")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_lists_are_the_official_ones(realdata: Path, name: str):
    shipped = resources.files("riskmap").joinpath("data", name).read_bytes()
    assert shipped == (realdata / name).read_bytes()


def test_list_sizes_and_levels():
    assert sbi_list(2008)["level"].value_counts().to_dict() == {
        "class": 604, "subclass": 478, "group": 266, "division": 86, "section": 21}
    assert sbi_list(2025)["level"].value_counts().to_dict() == {
        "subclass": 907, "class": 651, "group": 287, "division": 87, "section": 22}


def _check(values: list[str], version: int) -> list[tuple[str, bool, bool]]:
    codes, valid, repaired = normalise_sbi(pd.Series(values), version)
    return list(zip(codes, valid, repaired, strict=True))


def test_sbi_2025_codes_the_old_list_rejected_are_valid_in_their_own_version():
    # examples from the issue: real SBI 2025 codes that the SBI 2008 check called unknown
    codes = ["01110", "01290", "43310", "56300"]
    assert all(valid for _, valid, _ in _check(codes, 2025))
    assert not any(valid for _, valid, _ in _check(codes, 2008))


def test_cleaning_and_leading_zeros():
    assert _check(["56.30", "5630.0", " 96021 ", "111", "141"], 2008) == [
        ("5630", True, False), ("5630", True, False), ("96021", True, False),
        ("0111", True, True), ("0141", True, True)]  # 141 is a group; the KvK assigns classes
    # the KvK assigns only 5-digit codes in SBI 2025: 1110 is 01110 that lost its zero
    assert _check(["1110", "5630", "99999", "", "abc"], 2025) == [
        ("01110", True, True), ("5630", True, False), ("99999", False, False),
        ("", False, False), ("", False, False)]


def test_placeholders():
    assert placeholder_code(pd.Series(["0001", "2", "00002", "0111", "", "01"])).tolist()[:3] \
        == ["0001", "0002", "0002"]
    assert placeholder_code(pd.Series(["0111", "", "10"])).isna().all()


@pytest.mark.parametrize("dtype", ["str", object])
def test_codes_are_looked_up_as_isin_would(dtype: object):
    rng = np.random.default_rng(5)
    codes = sbi.assigned_codes(2008)
    pool = [*sorted(codes)[:200], "", "141", "0141", "abc", "4711 ", None]
    values = pd.Series(rng.choice(np.array(pool, dtype=object), 500), dtype=dtype,
                       index=rng.permutation(500) + 7, name="sbi")
    pd.testing.assert_series_equal(sbi._among(values, codes), values.isin(codes))


def test_version_evidence():
    evidence = version_evidence(pd.Series(["56101", "4511", "56300", "0001", "0111", "1110",
                                           "78201", "111"]))
    # 56101 and 111 (= 0111) exist only in SBI 2008, 56300 and 1110 (= 01110) only in SBI 2025;
    # 4511 and 0111 have 4 digits, which the KvK no longer assigns in SBI 2025; 78201 is in both
    # lists, and 0001 is a placeholder
    assert evidence == {2008: ["0111", "111", "4511", "56101"], 2025: ["1110", "56300"]}


def test_harmonised_sections_are_sbi_2025_sections():
    old, new = harmonised_sections(2008), harmonised_sections(2025)
    assert new["62100"] == "K" and old["6201"] == "K"  # software: J in 2008, K in 2025
    assert old["66193"] == new["66199"] == "L"  # finance: K in 2008, L in 2025
    assert old["5210"] == "H"  # splits into D, H and K: the class with the same number decides
    assert old["4540"] == "G"  # G, G, G, T, T: the most targets
    assert old["8691"] == "R"  # Dutch-only class: the SBI 2025 group with the same number
    assert set(old.values()) <= set(new.values())


def test_bad_version_is_one_dutch_line():
    with pytest.raises(InputError, match=r"--sbi moet 2008 of 2025 zijn, niet '2015'"):
        check_version("2015")
    assert check_version(" 2025") == 2025


def test_sbi_filter_prefixes_for_both_versions():
    assert sbi_prefixes(["5611", "5612", "5630"]) == {2008: ("5610", "5630"),
                                                       2025: ("5611", "5612", "5630")}
    explicit = sbi_prefixes({2008: ["96021"], 2025: ["9621"]})
    assert explicit == {2008: ("96021",), 2025: ("9621",)}


def test_sbi_filter_that_splits_a_class_needs_both_versions():
    with pytest.raises(ConfigError, match=r"indicator x: .*4511.*deels onder SBI 2025 4781; "
                                          r"geef beide versies"):
        sbi_prefixes(["4781"], "indicator x")
    # meal-delivery intermediaries (SBI 2025 5640) came from travel info (7990) and other
    # business services (8299): "all of 56" has no SBI 2008 equivalent
    with pytest.raises(ConfigError, match=r"7990, 8299 vallen maar deels onder SBI 2025 56"):
        sbi_prefixes(["56"])
    with pytest.raises(ConfigError, match=r"SBI 2025-code\(s\) 4511 bestaan niet"):
        sbi_prefixes(["4511"])
