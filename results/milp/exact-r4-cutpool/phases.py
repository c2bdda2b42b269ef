"""``milp.solve`` from the cached auto start (results/milp/exact-r3-probe/explore.py), with
and without the restart from HiGHS's root cuts (docs/milp.md §Reductions, 6), alternated
per instance in one process: status, objective, bound, CPU and wall, ``stats["cutpool"]``.

``PYTHONPATH=. python results/milp/exact-r4-cutpool/phases.py SPECS TIME_LIMIT [VARIANTS]``
(VARIANTS: comma-separated ``on``/``off``, default ``on,off``); one JSON line per run.
"""
from __future__ import annotations

import json
import os
import sys
import time

from benchmarks.milp_starts import build
from hetserve.milp.solve import MilpParams, solve

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "exact-r3-probe"))
from explore import start_of

if __name__ == "__main__":
    limit = float(sys.argv[2])
    variants = (sys.argv[3] if len(sys.argv) > 3 else "on,off").split(",")
    for k, spec in enumerate(sys.argv[1].split(",")):
        inst = build(spec)
        warm = start_of(spec)
        for v in variants[k % len(variants):] + variants[:k % len(variants)]:
            os.environ["HETSERVE_MILP_CUTPOOL"] = "1" if v == "on" else "0"
            c0, t0 = time.process_time(), time.perf_counter()
            res = solve(inst, MilpParams(time_limit_s=limit, threads=2), warm_start=warm)
            print(json.dumps({
                "spec": spec, "cutpool": v, "status": res.status.value,
                "objective": res.objective, "bound": res.bound,
                "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
                "load": os.getloadavg()[0], "build_s": res.stats["build_s"],
                "n_vars": res.stats["n_vars"], "root_bound": res.stats["root_bound"],
                "nodes": res.stats["nodes"], "plan": res.stats.get("plan"),
                "phases": res.stats["cutpool"]}), flush=True)
