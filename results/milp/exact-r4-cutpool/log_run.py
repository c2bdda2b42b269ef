"""HiGHS's log of one ``milp.solve`` with the restart from its root cuts on (docs/milp.md
§Reductions, 6): both HiGHS runs (the root, then the restarted model) write to LOG.

``PYTHONPATH=. python results/milp/exact-r4-cutpool/log_run.py SPEC
TIME_LIMIT LOG`` (auto start cached in /tmp by results/milp/exact-r3-probe/explore.py).
``highs-12x12x12-s3.log``: 60 s, load ≈ 2; ``highs-20x20x20-s1-killed.log``: 300 s under
``nice -n 5`` at load ≈ 4, stopped by hand 20 s into the restarted HiGHS (its first root
took 88 s at that load, 43 s quiet).
"""
from __future__ import annotations

import os
import sys

from benchmarks.milp_starts import build
from hetserve.milp.solve import MilpParams, solve

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import start_of

if __name__ == "__main__":
    spec = sys.argv[1]
    inst = build(spec)
    res = solve(inst, MilpParams(time_limit_s=float(sys.argv[2]), threads=2, cutpool=True,
                                 log_file=sys.argv[3]), warm_start=start_of(spec))
    print(res.status, res.objective, res.bound, res.stats["cutpool"])
