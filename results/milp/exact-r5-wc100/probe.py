"""Weighted-cover separation rounds on the LP of fixed_model_bound's target-cost model.

python results/milp/exact-r5-wc100/probe.py --size 100x40x40 --targets 110000,200000 \
    --rounds 15 --out results/milp/exact-r5-wc100/probe.jsonl

Replicates fixed_model_bound's closing path (closing, support MIP, resume; 300 s budget as
``--fixed-time 300``), then per target route count: V, the target model, its LP with
rounds of milp.cuts.weighted_cover_cuts (dual simplex, warm), and after each round the
certified Lagrangian value of the LP's duals over the model with the rows
(milp.fixing.lagrangian_value): min(V, that) is a certified bound (docs/milp.md).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace

import click
import numpy as np


@click.command()
@click.option("--size", default="100x40x40")
@click.option("--seed", type=int, default=0)
@click.option("--targets", default="110000,200000")
@click.option("--rounds", type=int, default=15)
@click.option("--round-wall", type=float, default=300.0)
@click.option("--out", default=None)
def main(size, seed, targets, rounds, round_wall, out):
    from hetserve.heuristics import agh
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solver_log import new_highs
    from hetserve.milp import MilpParams
    from hetserve.milp.bound import _target_cost, lagrangian_bound, resume_closing
    from hetserve.milp.cutpool import with_cuts
    from hetserve.milp.cuts import weighted_cover_cuts
    from hetserve.milp.fixing import fixing_from_closing, lagrangian_value
    from hetserve.milp.highs_run import configure, run_checked
    from hetserve.milp.index import make_index
    from hetserve.milp.solve import SUPPORT_MIP_MIN_ROOM, SUPPORT_MIP_TIME_SHARE, fixed_model, support_mip

    def emit(d):
        d = {"size": size, "seed": seed, "load": os.getloadavg()[0], **d}
        line = json.dumps(d)
        print(line, flush=True)
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")

    inst = generate(tuple(int(v) for v in size.split("x")), seed)
    a = agh(inst, seed=0)
    plan = a.solution
    time_limit_s = 300.0
    t0, c0 = time.perf_counter(), time.process_time()
    ev = evaluate_arrays(inst, *plan.to_arrays(inst))
    params = MilpParams(threads=1, time_limit_s=time_limit_s, msg=False)
    _, x0 = plan.to_arrays(inst)
    ti, tc = np.nonzero(x0 > 0)
    idx = make_index(inst, params.tightening, params.reductions, float(ev.objective))
    upper = float(ev.objective)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          seed=seed, close=True, start_routes=(ti, tc),
                          time_limit_s=0.5 * time_limit_s / 0.8)
    caps_fix = fixing_from_closing(idx, lb, t0)
    better = upper
    if upper - caps_fix.bound > SUPPORT_MIP_MIN_ROOM * abs(upper):
        left = max(0.1, time_limit_s - (time.perf_counter() - t0))
        sp_ = replace(params, time_limit_s=0.4 * left / SUPPORT_MIP_TIME_SHARE)
        plan, better, _ = support_mip(inst, sp_, seed, idx, caps_fix, upper, plan)
        if better < upper and not lb.stats["cg_converged"]:
            left = max(0.1, time_limit_s - (time.perf_counter() - t0))
            lb = resume_closing(lb, better, 0.4 * left)
            caps_fix = fixing_from_closing(idx, lb, t0)
        elif better < upper:
            caps_fix = caps_fix.with_upper(better)
    emit({"stage": "closing", "agh": upper, "upper": better, "L": caps_fix.bound,
          "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
          "survivors": int((caps_fix.caps[idx.cfg][idx.rk] >= 1).sum())})
    for tr in [int(v) for v in targets.split(",")]:
        t1, c1 = time.perf_counter(), time.process_time()
        V = _target_cost(idx, caps_fix, tr)
        if V is None:
            emit({"stage": "target", "target_routes": tr, "V": None})
            continue
        fx = caps_fix.with_upper(V)
        am = fixed_model(inst, params, seed, None, None, t1, fixing=fx).am
        rec = {"stage": "target", "target_routes": tr, "V": V, "cols": am.n_cols,
               "rows": am.n_rows, "x": am.cols["x"].stop - am.cols["x"].start,
               "build_s": time.perf_counter() - t1}
        h = new_highs()
        configure(h, time_limit_s=round_wall, mip_rel_gap=0.0, threads=1, seed=0,
                  options=(("solver", "simplex"), ("presolve", "off")))
        h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
        blocks = []
        hist = []
        for k in range(rounds + 1):
            if k > 0:
                A, lo, hi = weighted_cover_cuts(am, np.asarray(h.getSolution().col_value))
                if A.shape[0] == 0:
                    break
                h.addRows(A.shape[0], lo, hi, A.nnz, A.indptr[:-1].astype(np.int32),
                          A.indices.astype(np.int32), A.data)
                blocks.append(A)
            ts = time.perf_counter()
            run_checked(h)
            lp_s = time.perf_counter() - ts
            lpv = float(h.getInfo().objective_function_value)
            amc = am if not blocks else with_cuts(
                am, __import__("scipy.sparse").sparse.vstack(blocks).tocsr(),
                np.ones(sum(b.shape[0] for b in blocks)),
                np.full(sum(b.shape[0] for b in blocks), np.inf))
            cert, _ = lagrangian_value(amc, np.asarray(h.getSolution().row_dual))
            hist.append({"round": k, "lp": lpv, "cert": cert,
                         "rows_added": int(sum(b.shape[0] for b in blocks)),
                         "lp_s": lp_s, "wall_s": time.perf_counter() - t1,
                         "cpu_s": time.process_time() - c1, "status": str(h.getModelStatus())})
            print(json.dumps(hist[-1]), file=sys.stderr, flush=True)
            if time.perf_counter() - t1 > round_wall:
                break
        rec["history"] = hist
        rec["best_cert"] = max(hh["cert"] for hh in hist)
        rec["certified"] = min(V, rec["best_cert"])
        emit(rec)


if __name__ == "__main__":
    main()
