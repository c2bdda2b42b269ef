"""Round 15 probe: how much HiGHS's time on one subtree of the split varies with its seed.

``PYTHONPATH=. python results/milp/exact-r15-race/race.py SPEC SEEDS`` solves the subtree of
:mod:`subtree` (the one left alone on one core at 20x20x20 s1) with each HiGHS seed, two
seeds at a time, one thread each. Prints one JSON line per seed.
"""
from __future__ import annotations

import json
import sys
import threading

sys.path.insert(0, "results/milp/exact-r15-race")
from subtree import long_subtree, solve_part

spec, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
sub = long_subtree(spec)


def run(seed: int) -> None:
    out = solve_part(sub, sub.lb, sub.ub, seed=seed)
    print(json.dumps({"spec": spec, "seed": seed, **out, "c1": sub.closed[0],
                      "c2": sub.closed[1]}), flush=True)


for i in range(0, len(seeds), 2):
    pool = [threading.Thread(target=run, args=(s,)) for s in seeds[i:i + 2]]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
