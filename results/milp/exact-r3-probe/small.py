"""Probing on and off on small instances, alternated in one process (CPU s of ``milp``,
auto start computed once per instance and passed to both).

``PYTHONPATH=. python results/milp/exact-r3-probe/small.py SPECS REPEATS``; JSON lines.
"""
from __future__ import annotations

import json
import os
import sys
import time

from benchmarks.milp_starts import build
from hetserve.cli.methods import CAPPED_AGH, MethodSettings, _agh, auto_start
from hetserve.heuristics import AghParams, agh
from hetserve.milp import MilpParams, solve

if __name__ == "__main__":
    reps = int(sys.argv[2])
    for spec in sys.argv[1].split(","):
        inst = build(spec)
        name = auto_start(inst)
        start = (agh(inst, AghParams(**CAPPED_AGH)) if name == "agh-capped"  # type: ignore[arg-type]
                 else _agh(inst, MethodSettings(), fleet_mip=name == "agh-fleet"))
        for rep in range(reps):
            for probing in ((True, False) if rep % 2 == 0 else (False, True)):
                c0, t0 = time.process_time(), time.perf_counter()
                res = solve(inst, MilpParams(threads=2, probing=probing),
                            warm_start=start.solution)
                print(json.dumps({"spec": spec, "start": name, "probing": probing,
                                  "status": res.status.value, "objective": res.objective,
                                  "cpu_s": time.process_time() - c0,
                                  "wall_s": time.perf_counter() - t0,
                                  "highs_cpu_s": res.stats["solve_cpu_s"],
                                  "probe": res.stats["probing"],
                                  "load": os.getloadavg()[0]}), flush=True)
