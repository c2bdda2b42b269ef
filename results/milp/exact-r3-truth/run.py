"""Lever 0 of round 3 (docs/milp.md "Known limits"): how far is 20x20x20 s1's best plan
from its optimum? One long exact solve from the auto start (`milp`, 1 thread, nice 10).

``nice -n 10 python -m results.milp.exact-r3-truth.run`` is not importable (dash), so:
``cd WORKTREE && PYTHONPATH=. nice -n 10 python results/milp/exact-r3-truth/run.py 1500``
writes result.json and highs.log here.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchmarks.milp_starts import build
from hetserve.cli.methods import MethodSettings, run_method
from hetserve.cli.sweep import machine_meta
from hetserve.instances.solver_log import SolverLog

HERE = Path(__file__).parent

if __name__ == "__main__":
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 1500.0
    inst = build("20x20x20-s1")
    c0, t0 = time.process_time(), time.perf_counter()
    res = run_method("milp", inst, MethodSettings(
        seed=0, time_limit_s=limit, threads=1,
        solver_log=SolverLog(file=str(HERE / "highs.log"))))
    out = {"spec": "20x20x20-s1", "time_limit_s": limit, "threads": 1,
           "status": res.status.value, "objective": res.objective, "bound": res.bound,
           "gap": res.gap, "cpu_s": time.process_time() - c0,
           "wall_s": time.perf_counter() - t0, "load_end": os.getloadavg(),
           "start_method": res.stats.get("start_method"),
           "start_objective": res.stats.get("start_objective"),
           "support_mip": res.stats.get("support_mip"), "fixing": res.stats.get("fixing"),
           "root_bound": res.stats.get("root_bound"), "nodes": res.stats.get("nodes"),
           "n_vars": res.stats.get("n_vars"),
           "plan_open": {str(k): int(v) for k, v in enumerate(
               res.solution.to_arrays(inst)[0]) if v > 0} if res.solution else None,
           "meta": machine_meta()}
    (HERE / "result.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(json.dumps({k: out[k] for k in ("status", "objective", "bound", "gap", "cpu_s")}))
