"""BAG loaders on small files in the real formats: NLExtract's ``bagadres-full.csv`` (BAG 1 and
BAG 2.0 headers, as ``adres-full2csv.sql`` writes them with PostgreSQL's ``COPY ... CSV HEADER
DELIMITER ';'``: empty fields for NULL, booleans ``t``/``f``, decimal points) and the Kadaster BAG
GeoPackage (PDOK ``bag-light.gpkg``: layers ``verblijfsobject``, ``ligplaats``, ``pand``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from riskmap.errors import InputError
from riskmap.indicators.business import addresses_measure
from riskmap.periods import Period
from riskmap.project import Project
from riskmap.sources.bag import _addresses as bag_addresses
from riskmap.sources.bag import bag_ids
from riskmap.store import LoadRecord

HEADER_V1 = ("openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;gemeente;"
             "provincie;nummeraanduiding;verblijfsobjectgebruiksdoel;oppervlakteverblijfsobject;"
             "verblijfsobjectstatus;object_id;object_type;nevenadres;pandid;pandstatus;pandbouwjaar;"
             "x;y;lon;lat")
HEADER_V2 = HEADER_V1.replace("oppervlakteverblijfsobject", "oppervlakteadresseerbaarobject") + \
    ";verkorteopenbareruimte"
FLAT, BASIN = (185_010.123, 445_020.456), (190_000.0, 444_200.0)  # a harbour basin of Havenwaard


def _row(street: str, number: int, addition: str, postcode: str, nra: str, use: str, status: str,
         obj: str, kind: str = "VBO", neven: str = "f", pand: str = "", xy=FLAT) -> str:
    return (f"{street};{number};;{addition};{postcode};Havenwaard;Havenwaard;Zuid-Holland;{nra};"
            f"{use};85;{status};{obj};{kind};{neven};{pand};"
            f"{'Pand in gebruik' if pand else ''};{'1968' if pand else ''};"
            f"{xy[0]};{xy[1]};4.12345678;51.91234567")


def _nlextract(path: Path, rows: list[str], header: str = HEADER_V1) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


IN_USE = "Verblijfsobject in gebruik"
ROWS_V1 = [
    # a block of flats: three addresses that differ only by huisnummertoevoeging
    *[_row("Kadeweg", 12, t, "7011AB", f"99992000000000{i}", "woonfunctie", IN_USE,
           f"99990100000000{i}", pand="9999100000000001") for i, t in ((11, ""), (12, "1"), (13, "2"))],
    # mixed use (BAG 1 lists them alphabetically after ", ") and a nevenadres of the same object
    _row("Kadeweg", 14, "", "7011AB", "9999200000000014", "kantoorfunctie, woonfunctie", IN_USE,
         "9999010000000014", pand="9999100000000002"),
    _row("Dwarsstraat", 1, "", "7011AC", "9999200000000015", "kantoorfunctie, woonfunctie", IN_USE,
         "9999010000000014", neven="t", pand="9999100000000002"),
    # one verblijfsobject in two panden: two rows, one nummeraanduiding
    _row("Kadeweg", 16, "", "7011AB", "9999200000000016", "winkelfunctie", IN_USE,
         "9999010000000016", pand="9999100000000003"),
    _row("Kadeweg", 16, "", "7011AB", "9999200000000016", "winkelfunctie", IN_USE,
         "9999010000000016", pand="9999100000000004"),
    # a houseboat in the harbour basin (a water part of a buurt), and a withdrawn object
    _row("Havenkade", 3, "", "7011AD", "9999200000000017", "Ligplaats", "Plaats aangewezen",
         "9999020000000017", kind="LIG", xy=BASIN),
    _row("Kadeweg", 18, "", "7011AB", "9999200000000018", "woonfunctie",
         "Verblijfsobject ingetrokken", "9999010000000018", pand="9999100000000005"),
]


def _addresses(project: Project) -> pd.DataFrame:
    with project.store(read_only=True) as store:
        return store.query("SELECT * FROM addresses ORDER BY use NULLS LAST")


def test_nlextract_csv_loads_without_mapping_and_keeps_every_flat(project: Project, tmp_path: Path):
    record = project.load_bag(_nlextract(tmp_path / "bagadres-full.csv", ROWS_V1))
    assert record.rows_read == 9
    assert record.rejects == {"dubbel adres": 1, "BAG-object bestaat niet (meer)": 1}
    assert record.rows_kept == 7
    stored = _addresses(project)
    assert stored["id"].nunique() == 7  # the three flats are three addresses
    assert stored["nummeraanduiding"].notna().all() and stored["nummeraanduiding"].nunique() == 7
    assert not stored["nummeraanduiding"].str.contains("9999200").any()  # pseudonymised
    # only the kind of use is stored (a mixed or business use is "overig"): see use_class
    assert sorted(stored["use"].dropna()) == ["ligplaats", "overig", "overig"] + ["woonfunctie"] * 3
    assert stored["use"].isna().sum() == 1  # the nevenadres places records, counts no object
    houseboat = stored[stored["use"] == "ligplaats"]
    assert houseboat["buurt"].notna().all()  # in the water part of a harbour buurt
    with project.store(read_only=True) as store:
        codes = store.query("SELECT code FROM areas WHERE level = 'buurt'")["code"].tolist()
        business = addresses_measure(store, {"business": True}, "buurt", Period(2025, 3), codes)
    assert business.sum() == 2  # mixed use and the shop: not the houseboat, not the nevenadres
    _lineage_names_the_file(project, "bag", tmp_path / "bagadres-full.csv")


def _lineage_names_the_file(project: Project, source: str, path: Path) -> None:
    """The lineage of the last load of ``source`` holds the size and sha256 of ``path``."""
    with project.store(read_only=True) as store:
        size, sha = store.con.execute("SELECT size, sha256 FROM loads WHERE source = ? ORDER BY "
                                      "load_id DESC LIMIT 1", [source]).fetchone()
    assert (size, sha) == (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())


def test_addresses_outside_the_gemeente_are_not_stored(project: Project, tmp_path: Path):
    """Rows placed outside every buurt are rejected and left out as the store writes the rest
    (also a nevenadres outside, which is not counted among the kept ones)."""
    far = (120_000.0, 480_000.0)  # far outside Havenwaard
    outside = [_row("Elders", 1, "", "1011AA", "9999200000000031", "woonfunctie", IN_USE,
                    "9999010000000031", xy=far),
               _row("Elders", 2, "", "1011AA", "9999200000000032", "woonfunctie", IN_USE,
                    "9999010000000031", neven="t", xy=far)]
    record = project.load_bag(_nlextract(tmp_path / "bagadres-full.csv", ROWS_V1 + outside))
    assert record.rows_read == 11 and record.rows_kept == 7
    assert record.rejects == {"dubbel adres": 1, "BAG-object bestaat niet (meer)": 1,
                              "buiten de gemeente": 2}
    stored = _addresses(project)
    assert len(stored) == 7 and stored["buurt"].notna().all() and "_keep" not in stored
    assert stored["use"].isna().sum() == 1  # the nevenadres inside only
    with project.store(read_only=True) as store:
        assert store.lineage()["rows_kept"].tolist()[-1] == 7


def test_bag2_header_lists_and_ligplaats_without_use(project: Project, tmp_path: Path):
    rows = [row.replace("kantoorfunctie, woonfunctie", "woonfunctie,kantoorfunctie")
            .replace(";Ligplaats;", ";;") + ";Kadeweg" for row in ROWS_V1]
    record = project.load_bag(_nlextract(tmp_path / "bagadres-full.csv", rows, HEADER_V2))
    assert record.rows_kept == 7
    uses = set(_addresses(project)["use"].dropna())
    assert uses == {"ligplaats", "overig", "woonfunctie"}


@pytest.mark.parametrize("numbered", [True, False])
def test_identical_rows_are_found_with_or_without_a_nummeraanduiding_on_every_row(numbered):
    """Identical rows are found among the rows whose nummeraanduiding repeats where every row
    has one, else among those whose address repeats: the same rows either way."""
    rows = [("7011AB", "12", "", "0363200000000012", "woonfunctie"),
            ("7011AB", "12", "", "0363200000000012", "woonfunctie"),  # the same row again
            ("7011AB", "12", "", "0363200000000012", "kantoorfunctie"),  # same address, other use
            ("7011AB", "14", "", "0363200000000014", "woonfunctie"),
            ("7011AB", "14", "", "0363200000000099", "woonfunctie"),  # same key, other object
            ("7011AC", "1", "", "0363200000000001", "woonfunctie")]
    if not numbered:
        rows.append(("7011AC", "2", "", "", "woonfunctie"))
    frame = pd.DataFrame(rows, columns=["postcode", "huisnummer", "huisletter", "nummeraanduiding",
                                        "gebruiksdoel"], dtype="str")
    record = LoadRecord("bag", "adressen", rows_read=len(frame))
    kept = bag_addresses(frame, record)
    assert record.rejects == {"dubbele regel": 1, "dubbel adres": 1}
    assert kept["_number"].tolist() == ["0363200000000012", "0363200000000014",
                                        "0363200000000099", "0363200000000001",
                                        *([] if numbered else [""])]


@pytest.mark.parametrize("numbered", [True, False])
def test_a_row_with_an_invalid_address_repeats_no_kept_one(numbered):
    """A row rejected for its postcode is not there to make another row a repeat, also where
    it shares that row's nummeraanduiding."""
    rows = [("7011AB", "12", "0363200000000012"), ("70X", "12", "0363200000000012"),
            ("7011AB", "14", "0363200000000014"), ("7011AB", "14", "0363200000000014")]
    if not numbered:
        rows.append(("7011AC", "2", ""))
    frame = pd.DataFrame(rows, columns=["postcode", "huisnummer", "nummeraanduiding"],
                         dtype="str").assign(gebruiksdoel="woonfunctie")
    record = LoadRecord("bag", "adressen", rows_read=len(frame))
    kept = bag_addresses(frame, record)
    assert record.rejects == {"ongeldige postcode of huisnummer": 1, "dubbele regel": 1}
    assert kept["_number"].tolist() == ["0363200000000012", "0363200000000014",
                                        *([] if numbered else [""])]


def test_bag_ids_restore_leading_zeros():
    ids = bag_ids(pd.Series(["363200000123456", "0363200000123456", "363200000123456.0", "abc", ""]))
    assert ids.tolist() == ["0363200000123456"] * 3 + ["", ""]


def _bag_light(path: Path) -> Path:
    """A small bag-light.gpkg: the columns of PDOK's layers, RD New, points and polygons."""
    common = {"openbare_ruimte_naam": "Kadeweg", "woonplaats_naam": "Havenwaard",
              "openbare_ruimte_identificatie": "9999300000000001",
              "woonplaats_identificatie": "9999", "bronhouder_identificatie": "9999"}
    vbo = gpd.GeoDataFrame({
        "identificatie": ["9999010000000021", "9999010000000022", "9999010000000023",
                          "0363010000000001"],
        "oppervlakte": [64, 71, 220, 90], "status": [IN_USE, IN_USE, "Verblijfsobject gevormd",
                                                     IN_USE],
        "gebruiksdoel": ["woonfunctie", "woonfunctie", "industriefunctie,kantoorfunctie",
                         "woonfunctie"],
        "huisnummer": [20, 20, 22, 1], "huisletter": [None, None, None, None],
        "toevoeging": ["A", "B", None, None], "postcode": ["7011AB", "7011AB", "7011AB", "1012JS"],
        "bouwjaar": 1931, "pand_identificatie": "9999100000000009", "pandstatus": "Pand in gebruik",
        "nummeraanduiding_hoofdadres_identificatie": ["9999200000000021", "9999200000000022",
                                                      "9999200000000023", "0363200000000001"],
        **common}, geometry=[shapely.Point(*FLAT), shapely.Point(*FLAT),
                             shapely.Point(185_400, 445_300), shapely.Point(121_390, 487_380)],
        crs=28992)
    ligplaats = gpd.GeoDataFrame({
        "identificatie": ["9999020000000031"], "status": ["Plaats aangewezen"], "huisnummer": [5],
        "huisletter": [None], "toevoeging": [None], "postcode": ["7011AD"],
        "nummeraanduiding_hoofdadres_identificatie": ["9999200000000031"], **common},
        geometry=[shapely.box(BASIN[0] - 10, BASIN[1] - 3, BASIN[0] + 10, BASIN[1] + 3)],
        crs=28992)
    pand = gpd.GeoDataFrame({"identificatie": ["9999100000000009"], "bouwjaar": [1931],
                             "status": ["Pand in gebruik"]},
                            geometry=[shapely.Point(*FLAT).buffer(15)], crs=28992)
    for name, layer in (("verblijfsobject", vbo), ("ligplaats", ligplaats), ("pand", pand)):
        layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def test_bag_geopackage_within_the_gemeente(project: Project, tmp_path: Path):
    record = project.load_bag(_bag_light(tmp_path / "bag-light.gpkg"))
    assert record.rows_read == 4  # the Amsterdam object lies outside the buurten's bounding box
    assert record.rows_kept == 4
    stored = _addresses(project)
    assert stored["id"].nunique() == 4 and stored["nummeraanduiding"].nunique() == 4
    assert sorted(stored["use"]) == ["ligplaats", "overig", "woonfunctie", "woonfunctie"]
    assert stored.loc[stored["use"] == "ligplaats", "buurt"].notna().all()


def test_bag_geopackage_errors(project: Project, tmp_path: Path):
    other = tmp_path / "panden.gpkg"
    gpd.GeoDataFrame({"identificatie": ["1"]}, geometry=[shapely.Point(*FLAT)], crs=28992) \
        .to_file(other, layer="pand", driver="GPKG", engine="pyogrio")
    with pytest.raises(InputError, match=r"panden\.gpkg: geen laag 'verblijfsobject'"):
        project.load_bag(other)
    broken = tmp_path / "kapot.gpkg"
    broken.write_text("geen geopackage", encoding="utf-8")
    with pytest.raises(InputError, match=r"kapot\.gpkg: niet te openen als GeoPackage"):
        project.load_bag(broken)
