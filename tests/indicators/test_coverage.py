"""Coverage on the demo: every buurt with residents or establishments has a score or a reason."""

import json

from riskmap.demo import DemoRun
from riskmap.indicators.catalogue import load_catalogue
from riskmap.store import Store


def test_every_demo_buurt_is_scored_with_its_coverage(demo_run: DemoRun):
    with Store.open(demo_run.project.config.store_path, read_only=True) as store:
        rows = store.query("SELECT area_code, score, coverage, coverage_note, drivers FROM scores "
                           "WHERE period = ? AND level = 'buurt' AND theme = 'totaal'",
                           [str(demo_run.period)]).set_index("area_code")
    assert len(rows) == 69 and rows["score"].notna().all()
    assert rows["coverage_note"].str.contains("thema's").all()
    # De Kooi: the industrial buurten that had no score; residents' themes do not apply there
    kooi = rows[rows.index.str.startswith("BU999906")]
    assert (kooi["coverage"] < 1).any()
    assert kooi["coverage_note"].str.contains("niet van toepassing: kwetsbaarheid").any()
    fallbacks = {i.id for i in load_catalogue() if i.fallback_for}
    named = {d for text in kooi["drivers"] for d in json.loads(text)}
    assert named & fallbacks  # drivers name the stand-in that was used, not its primary
