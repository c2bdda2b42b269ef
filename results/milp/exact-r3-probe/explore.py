"""Probing alone on the fixed model (docs/milp.md §Reductions, 5): how many configurations
drop beyond the reduced-cost fixing, and how far the fixed model's LP moves.

``PYTHONPATH=. python results/milp/exact-r3-probe/explore.py SPECS [PROBE_S]`` computes the
auto start per instance (cached in /tmp), builds the model as ``milp.solve`` does with
probing given PROBE_S seconds, and prints ``stats["probing"]`` as JSON lines.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.milp_starts import build
from hetserve.cli.methods import MethodSettings, _agh, auto_start
from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.solver_log import new_highs
from hetserve.milp import solve as solve_mod
from hetserve.milp.highs_run import configure, run_checked, set_start
from hetserve.milp.solve import MilpParams, _configure, _start_vector, fixed_model


def start_of(spec: str):  # type: ignore[no-untyped-def]
    cache = Path(f"/tmp/ufl-start-{spec}.pkl")
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    inst = build(spec)
    name = auto_start(inst)
    if name == "agh-capped":
        from hetserve.cli.methods import CAPPED_AGH
        from hetserve.heuristics import AghParams, agh
        res = agh(inst, AghParams(**CAPPED_AGH), seed=0)  # type: ignore[arg-type]
    else:
        res = _agh(inst, MethodSettings(), fleet_mip=name == "agh-fleet")
    cache.write_bytes(pickle.dumps(res.solution))
    return res.solution


def fixed_of(spec: str):  # type: ignore[no-untyped-def]
    """The instance, its auto start and the model ``milp.solve`` hands HiGHS from it
    (``milp.solve.fixed_model`` with a 60 s limit), shared by the probe scripts."""
    inst = build(spec)
    warm = start_of(spec)
    upper = evaluate_arrays(inst, *warm.to_arrays(inst)).objective
    return inst, warm, fixed_model(inst, MilpParams(time_limit_s=60.0), 0, upper, warm,
                                   time.perf_counter())


def root_cuts_of(spec: str, threads: int = 2):  # type: ignore[no-untyped-def]
    """:func:`fixed_of` plus HiGHS's root cuts on that model (``milp.cutpool.root_cuts``
    from the start, 600 s, ``ROOT_SETTINGS``): ``(inst, fm, cuts or None, stats)``, shared
    by the cut-pool probe scripts."""
    from hetserve.milp.cutpool import root_cuts
    from hetserve.milp.solve import ROOT_SETTINGS

    inst, _warm, fm = fixed_of(spec)
    cuts, st = root_cuts(fm.am, _start_vector(fm.am, inst, fm.warm_start), time_limit_s=600,
                         threads=threads, seed=0, mip_rel_gap=1e-4, options=ROOT_SETTINGS)
    return inst, fm, cuts, st


def lp_solution(am):  # type: ignore[no-untyped-def]
    """The LP relaxation of ``am`` by dual simplex, one thread: ``(value, column values,
    row duals)``."""
    h = new_highs()
    configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
    run_checked(h)
    sol = h.getSolution()
    return (h.getInfo().objective_function_value, np.asarray(sol.col_value),
            np.asarray(sol.row_dual))


def fixed_lp(am):  # type: ignore[no-untyped-def]
    """The LP relaxation of ``am``: its column values (:func:`lp_solution`)."""
    return lp_solution(am)[1]


def highs_from_start(model, inst, params, warm_start) -> dict:  # type: ignore[no-untyped-def]
    """HiGHS configured as ``milp.solve`` configures it, on ``model`` from ``warm_start``:
    its status, objective, bound, nodes, CPU and wall seconds and the load (one JSON row's
    measurements, shared by highs_after.py and mixcut.py)."""
    h = new_highs()
    _configure(h, params, 0, True)
    h.passModel(model.to_highs_lp())
    set_start(h, _start_vector(model, inst, warm_start))
    c0, t0 = time.process_time(), time.perf_counter()
    run_checked(h)
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "objective": info.objective_function_value, "bound": info.mip_dual_bound,
            "nodes": int(info.mip_node_count), "cpu_s": time.process_time() - c0,
            "wall_s": time.perf_counter() - t0, "load": os.getloadavg()[0]}


if __name__ == "__main__":
    probe_s = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    for spec in sys.argv[1].split(","):
        inst = build(spec)
        warm = start_of(spec)
        upper = evaluate_arrays(inst, *warm.to_arrays(inst)).objective
        solve_mod.PROBING_TIME_SHARE = probe_s / 60.0
        t0, c0 = time.perf_counter(), time.process_time()
        fm = fixed_model(inst, MilpParams(time_limit_s=60.0), 0, upper, warm, t0)
        fx = fm.fixing
        print(json.dumps({"spec": spec, "start": upper, "upper": fm.upper,
                          "fixing_dropped": None if fx is None else fx.dropped,
                          "fixing_L": None if fx is None else fx.bound,
                          "cols": fm.am.n_cols, "cfg": fm.am.index.n_cfg,
                          "probing": None if fm.probing is None else fm.probing.stats(),
                          "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}),
              flush=True)
