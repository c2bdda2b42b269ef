"""The roofline model against published vLLM / TensorRT-LLM measurements.

Each record in ``benchmarks/perf_compare.py`` states a band for ours/published (0.5–2x
unless the record explains a wider one). A change to ``PerfConstants`` or to the
catalog that pushes a prediction out of its band fails here; if the change is right,
update the band and the discussion in ``docs/performance.md`` together.
"""

import pytest

from benchmarks.perf_compare import DEFAULT_BAND, METRICS, RECORDS, markdown_table, predict
from hetserve.instances import PerfConstants


@pytest.mark.parametrize("rec", RECORDS, ids=[r.key for r in RECORDS])
def test_prediction_within_stated_band(rec):
    ours = predict(rec)
    lo, hi = rec.band
    assert lo <= ours / rec.value <= hi, (
        f"{rec.case} {rec.metric}: ours {ours:.4g} vs published {rec.value:.4g} "
        f"(ratio {ours / rec.value:.2f}, band {lo}-{hi}); source: {rec.source}")


def test_records_are_complete_and_distinct():
    assert len({r.key for r in RECORDS}) == len(RECORDS)
    assert len({(r.model, r.gpu, r.tp) for r in RECORDS}) >= 3
    for r in RECORDS:
        assert r.metric in METRICS and r.value > 0
        assert r.source and r.engine and r.date and r.conditions
        lo, hi = r.band
        assert 0 < lo < 1 < hi
        if r.band != DEFAULT_BAND:
            assert r.note, f"{r.key}: a non-default band needs a stated reason"


def test_most_records_hold_the_default_band():
    """Wide bands are the exception: at least 80 % of records keep 0.5–2x."""
    lo, hi = DEFAULT_BAND
    inside = [lo <= predict(r) / r.value <= hi for r in RECORDS]
    assert sum(inside) >= 0.8 * len(RECORDS)


def test_predictions_use_default_constants_unless_an_engine_setting_is_stated():
    rec = next(r for r in RECORDS if r.gpu_memory_utilization is None)
    assert predict(rec) == predict(rec, PerfConstants())


def test_table_has_one_row_per_record():
    rows = [line for line in markdown_table().splitlines() if line.startswith("| ") and
            line.split("|")[1].strip().isdigit()]
    assert len(rows) == len(RECORDS)
