"""Cover-rows probe (issue 13, closetime, round 9; measured, not merged): HiGHS on the
target-cost model at 100x40x40 s0 *with the closing's weighted error covers as rows*. One
closing as ``fixed_model_bound`` runs it (300 s, today's defaults), then for each route count
of ``--routes`` the target model of ``_target_cost`` is built (``milp.solve.fixed_model``) and
solved by HiGHS with the cutoff at *V* and ``TARGET_HIGHS_OPTIONS``, with the closing's
cover rows appended (``--plain`` also without). Each row, valid for every plan of the
complete model (docs/milp.md "Tightenings", weighted error cover), restricted to the target
model's columns: ``Σ_{c∉S} a⁺ x_ic + Σ_{c∈S} min(1, a⁺) w_c + u_i ≥ 1`` with ``a = 1 − t d_ic``
over the routes of type i the target model has (a plan of the target model is one of the
complete model with the other columns at 0, so the row holds there). One JSON row per
solve: V, V − L, columns, rows added, status, HiGHS's wall / CPU s, its bound.

    PYTHONPATH=. python results/milp/exact-r9-closetime/covprobe.py --routes 7000,14000,20000

The rows are now built by ``milp.bound.closing_cover_rows`` (the same rows; coefficients
below 1e-9 left out with the row's side lowered). The measured rows were built by this
script's first copy of that code, which dropped those coefficients without lowering the
side (short by at most |S_r| x 1e-9, below HiGHS's 1e-7 tolerance; findings.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.milp_large_bound import cached_agh_plan, emit_row

HERE = Path(__file__).resolve().parent
R6 = HERE.parent / "exact-r6-covclose"


@click.command()
@click.option("--routes", default="7000,14000,20000")
@click.option("--limit", type=float, default=100.0)
@click.option("--plain", is_flag=True, help="also solve each model without the rows")
def main(routes: str, limit: float, plain: bool) -> None:
    import hetserve.milp.bound as bound
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solver_log import SolverLog, new_highs
    from hetserve.milp.cutpool import with_cuts
    from hetserve.milp.highs_run import configure
    from hetserve.milp.solve import MilpParams, fixed_model

    inst = generate((100, 40, 40), 0)
    plan = cached_agh_plan(inst, "100x40x40", 0, [R6, HERE])
    float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective)
    captured = {}
    orig, orig_lb = bound._target_cost, bound.lagrangian_bound

    def capture(idx, fixing, max_routes):  # type: ignore[no-untyped-def]
        captured["fix"], captured["idx"] = fixing, idx  # and None: nothing is built

    def keep(*a, **k):  # type: ignore[no-untyped-def]
        captured["lb"] = orig_lb(*a, **k)
        return captured["lb"]

    bound._target_cost, bound.lagrangian_bound = capture, keep
    t0, c0 = time.perf_counter(), time.process_time()
    b, _ = bound.fixed_model_bound(inst, plan, time_limit_s=300.0, seed=0)
    bound._target_cost, bound.lagrangian_bound = orig, orig_lb
    fix, idx, lb = captured["fix"], captured["idx"], captured["lb"]
    covers = lb.master.covers
    hist = lb.stats.get("cg_history") or []
    speed = round(sum(h.get("master_cpu_s", 0.0) for h in hist[:5]), 2)
    emit_row(phase="closing", value=b.value, closing_rounds=len(hist), speed=speed,
             cover_rows=covers.n, wall_s=time.perf_counter() - t0,
             cpu_s=time.process_time() - c0)
    params = MilpParams(threads=1, time_limit_s=limit, msg=False)
    for r in (int(v) for v in routes.split(",")):
        target = bound._target_cost(idx, fix, r)
        if target is None:
            emit_row(phase="target", routes=r, target=None)
            continue
        caps = fix.with_upper(target)
        tb = time.perf_counter()
        am = fixed_model(inst, params, 0, None, None, tb, fixing=caps).am
        A, lo = bound.closing_cover_rows(am, covers, idx)
        build_s = time.perf_counter() - tb
        for with_rows in ((True, False) if plain else (True,)):
            m = with_cuts(am, A, lo, np.full(A.shape[0], np.inf)) \
                if with_rows else am
            h = new_highs()
            log = HERE / f"highs-cov{'' if with_rows else '-plain'}-{r}.log"
            configure(h, time_limit_s=limit, mip_rel_gap=0.0, threads=1, seed=0,
                      log=SolverLog(to_stderr=False, file=str(log)),
                      options=(("objective_bound", target), *bound.TARGET_HIGHS_OPTIONS))
            h.passModel(m.to_highs_lp())
            ts, cs = time.perf_counter(), time.process_time()
            h.run()
            info = h.getInfo()
            emit_row(phase="target", routes=r, rows=with_rows, n_cover=int(A.shape[0]),
                     target=target, L=fix.bound, gap=target - fix.bound,
                     status=str(h.getModelStatus()), dual_bound=float(info.mip_dual_bound),
                     n_vars=m.n_cols, n_rows=m.n_rows, build_s=build_s,
                     solve_s=time.perf_counter() - ts, solve_cpu_s=time.process_time() - cs,
                     nodes=int(info.mip_node_count), speed=speed)
    sys.exit(0)


if __name__ == "__main__":
    main()
