"""The full (B, gamma) sweep gives the same plans as before the cold-path speed work.

``data/sweep_golden.json.gz`` holds the sweep rows of every bundled CDF (the three fleet
simulator CDFs and the two Azure 2023 traces) at 50 req/s for a flat P99 TTFT of 0.5 s and
2 s and a length-aware SLO with the ``exclude`` policy, first written by the planner at
commit 6aeafdf (before the vectorised cold path, docs/queueing.md §4 "Planner time") and
rewritten when the iteration-time spread changed the model (docs/queueing.md §1,
"Iteration-time spread"). Regenerate only when a change of the model is intended::

    python -m tests.queueing.test_sweep_golden --write
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

import pytest

from hetserve.queueing.planner import clear_caches, plan_two_pool
from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.slo import TTFTSLO
from hetserve.queueing.workload import BUILTIN_CDFS, TRACE_FILES, load_workload

GOLDEN = Path(__file__).parent / "data" / "sweep_golden.json.gz"
ROW_KEYS = ("B", "gamma", "alpha", "n_short", "n_long", "cost_per_hour", "p99_ttft_short_s",
            "p99_ttft_long_s", "rho_short", "rho_long", "feasible", "reason")
PLAN_KEYS = ("feasible", "b_star", "gamma_star", "cost_per_hour", "gpus", "savings_pct",
             "cr_gain_pts")
SLOS = {"flat-0.5": 0.5, "flat-2": 2.0,
        "length-exclude": TTFTSLO(0.5, per_token_s=2e-5, unservable="exclude")}


def cases():
    return [(w, s) for w in sorted(BUILTIN_CDFS) + sorted(TRACE_FILES) for s in SLOS]


def sweep(workload: str, slo: str) -> dict:
    clear_caches()
    plan = plan_two_pool(load_workload(workload), 50.0, SLOS[slo], PRESETS["a100"],
                         bstar_check=False)
    d = plan.to_dict(include_rows=True)
    return {"plan": {k: d[k] for k in PLAN_KEYS},
            "rows": [[r[k] for k in ROW_KEYS] for r in d["rows"]]}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize(("workload", "slo"), cases())
def test_sweep_unchanged(workload, slo):
    want = json.loads(gzip.decompress(GOLDEN.read_bytes()))[f"{workload}|{slo}"]
    got = sweep(workload, slo)
    for k in PLAN_KEYS:
        assert _same(got["plan"][k], want["plan"][k]), k
    assert len(got["rows"]) == len(want["rows"])
    for g, w in zip(got["rows"], want["rows"]):
        for k, a, b in zip(ROW_KEYS, g, w):
            assert _same(a, b), (k, g, w)


if __name__ == "__main__" and "--write" in sys.argv:
    data = {f"{w}|{s}": sweep(w, s) for w, s in cases()}
    GOLDEN.write_bytes(gzip.compress(json.dumps(data, allow_nan=True).encode(), mtime=0))
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes, {len(data)} sweeps)")
