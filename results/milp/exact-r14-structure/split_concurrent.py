"""Two concurrent HiGHS runs, one per branch of one configuration's open flag, against one
HiGHS run on the whole model (round 14 probe; docs/milp-history.md, round 14).

``PYTHONPATH=. python results/milp/exact-r14-structure/split_concurrent.py SPECS [RULE]`` builds, per
instance, the model ``milp.solve`` hands HiGHS (``explore.fixed_of``: start, fixing, support
MIP, probing), picks the configuration ``c*`` with the largest ``π_c·w_c·(1 − w_c)`` in its LP
(price times how undecided the LP leaves it), and times, alternated, twice:

* ``mono``: HiGHS on the model from the start, 2 threads (what ``solve`` does);
* ``split``: two Python threads, each a HiGHS with one thread, on the model with
  ``w_c* = 1`` (``r_c* ≥ 1``) and with ``w_c* = 0`` (``r_c* = 0``). The start goes to the
  branch it belongs to; the other gets HiGHS's ``objective_bound`` = the start's cost. When
  one branch finds a plan cheaper than the other's cutoff (HiGHS's improving-solution
  callback), the other is interrupted and restarted with that cost as its cutoff. A branch
  that ends without a plan below its cutoff is bounded by it; the split's optimum is the
  cheaper branch's, proven when both end.

Prints one JSON line per run: instance, variant, objective, proven, wall seconds, restarts.
The ``.jsonl`` files beside it were written by this script at commit 093fad8, when it held
its own copy of the two-branch loop (HiGHS's cutoff at ``U·(1 + 1e-4)``, where
:mod:`milp.split` sets it at ``U``); that loop is now :mod:`milp.split`, which it calls.
"""
from __future__ import annotations

import json
import sys
import time

import highspy
import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of, lp_solution

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, run_checked, set_start, use_threads
from hetserve.milp.solve import ROOT_SETTINGS, MilpParams, _configure, _start_vector
from hetserve.milp.split import solve_split

GAP = 1e-4
LIMIT_S = 120.0
RULE = sys.argv[2] if len(sys.argv) > 2 else "undecided"
"""Which configuration to split on: ``undecided`` (the default above), ``start`` (the start's
costliest open configuration) or ``traffic`` (the most traffic among the LP's fractional
ones)."""


def mono(inst, fm) -> dict:  # type: ignore[no-untyped-def]
    use_threads(2)
    h = new_highs()
    _configure(h, MilpParams(time_limit_s=LIMIT_S, threads=2), 0, True)
    h.passModel(fm.am.to_highs_lp())
    set_start(h, _start_vector(fm.am, inst, fm.warm_start))
    t0 = time.perf_counter()
    run_checked(h)
    return {"objective": h.getInfo().objective_function_value,
            "proven": h.getModelStatus() == highspy.HighsModelStatus.kOptimal,
            "wall_s": time.perf_counter() - t0, "restarts": 0}


def split(inst, fm, k: int) -> dict:  # type: ignore[no-untyped-def]
    """The two branches on ``w`` of position ``k``, through :func:`milp.split.solve_split`
    (every link row, as ``mono`` has them)."""
    am = fm.am
    start = _start_vector(am, inst, fm.warm_start)

    def configure_branch(h, seconds: float) -> None:  # type: ignore[no-untyped-def]
        configure(h, time_limit_s=seconds, mip_rel_gap=GAP, threads=1, seed=0,
                  options=ROOT_SETTINGS, reset_pool=False)

    t0 = time.perf_counter()
    res = solve_split(am, start, float(am.cost @ start), k, configure=configure_branch,
                      time_limit_s=LIMIT_S, mip_rel_gap=GAP)
    return {"objective": res.objective if res.objective is not None else float(am.cost @ start),
            "proven": res.proven, "wall_s": time.perf_counter() - t0,
            "restarts": sum(b.restarts for b in res.branches)}


if __name__ == "__main__":
    for spec in sys.argv[1].split(","):
        inst, warm, fm = fixed_of(spec)
        _, lp, _ = lp_solution(fm.am)
        w = lp[fm.am.cols["w"]]
        price = fm.am.cost[fm.am.cols["r"]]
        if RULE == "start":  # the start's costliest open configuration
            sv = _start_vector(fm.am, inst, fm.warm_start)
            k = int(np.argmax(price * sv[fm.am.cols["r"]]))
        elif RULE == "traffic":  # the most traffic among the LP's undecided configurations
            x = lp[fm.am.cols["x"]]
            lam = np.array([q.rate_per_s for q in inst.query_types])
            traffic = np.zeros(len(w))
            np.add.at(traffic, fm.am.index.rk, lam[fm.am.index.ri] * x)
            k = int(np.argmax(traffic * (w > 1e-6) * (w < 1 - 1e-6)))
        else:  # "undecided": price times how undecided the LP leaves it
            k = int(np.argmax(price * w * (1 - w)))
        for rep in range(2):
            for variant in (("mono", "split") if rep == 0 else ("split", "mono")):
                row = mono(inst, fm) if variant == "mono" else split(inst, fm, k)
                print(json.dumps({"spec": spec, "variant": variant, "rep": rep, "rule": RULE,
                                  "cfg": int(fm.am.index.cfg[k]), **row}), flush=True)
