"""Rate probe (issue 13, closetime, round 9): how fast HiGHS proves the target-cost model
at 100x40x40 s0 as a function of its size. One closing as ``fixed_model_bound`` runs it
(300 s limit, today's defaults: B', 8 separations), its fixing saved to
``fixing-100x40x40-s0.npz`` (``--reuse`` reads it back), then for each route count of
``--routes`` the target model ``_target_cost(idx, fix, R)`` is solved by HiGHS with the
cutoff at *V* and the target options (``--limit`` s each, its log to ``highs-R.log``).
One JSON row per model: V, V − L, columns, status, HiGHS's wall / CPU s, its bound.

    PYTHONPATH=. python results/milp/exact-r9-closetime/rateprobe.py --routes 2000,5000,10000
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

from benchmarks.milp_large_bound import cached_agh_plan, emit_row

HERE = Path(__file__).resolve().parent
R6 = HERE.parent / "exact-r6-covclose"


@click.command()
@click.option("--routes", default="2000,5000,10000")
@click.option("--limit", type=float, default=110.0)
@click.option("--reuse", is_flag=True)
@click.option("--tag", default="")
def main(routes: str, limit: float, reuse: bool, tag: str) -> None:
    import hetserve.milp.bound as bound
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.milp.fixing import Fixing
    from hetserve.milp.index import make_index
    from hetserve.milp.solve import MilpParams, solve

    inst = generate((100, 40, 40), 0)
    plan = cached_agh_plan(inst, "100x40x40", 0, [R6, HERE])
    upper = float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective)
    params = MilpParams(threads=1, time_limit_s=limit, msg=False)
    path = HERE / f"fixing{tag}-100x40x40-s0.npz"
    if reuse:
        z = np.load(path)
        fix = Fixing(z["caps"], float(z["bound"]), math.nan, 0, 0, 0.0, "colgen+closing",
                     z["d_w"], z["d_r"], z["lp_w"])
        speed = None
    else:
        captured = {}
        orig = bound._target_cost

        def capture(idx, fixing, max_routes):  # type: ignore[no-untyped-def]
            captured["fix"] = fixing  # and None: the Lagrangian-only path, nothing built

        orig_lb = bound.lagrangian_bound

        def keep(*a, **k):  # type: ignore[no-untyped-def]
            captured["lb"] = orig_lb(*a, **k)
            return captured["lb"]

        bound._target_cost, bound.lagrangian_bound = capture, keep
        t0, c0 = time.perf_counter(), time.process_time()
        b, _ = bound.fixed_model_bound(inst, plan, time_limit_s=300.0, seed=0)
        bound._target_cost, bound.lagrangian_bound = orig, orig_lb
        fix = captured["fix"]
        hist = captured["lb"].stats.get("cg_history") or []
        speed = round(sum(h.get("master_cpu_s", 0.0) for h in hist[:5]), 2)
        np.savez_compressed(path, caps=fix.caps, bound=fix.bound, d_w=fix.d_w, d_r=fix.d_r,
                            lp_w=fix.lp_w)
        emit_row(phase="closing", value=b.value, closing_rounds=len(hist), speed=speed,
                 closing_s=hist[-1]["s"] if hist else None,
                 surviving=b.stats.get("surviving_routes"),
                 wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    idx = make_index(inst, params.tightening, params.reductions, upper)
    for r in (int(v) for v in routes.split(",")):
        target = bound._target_cost(idx, fix, r)
        if target is None:
            emit_row(phase="target", routes=r, target=None)
            continue
        caps = fix.with_upper(target)
        kept = int((caps.caps[idx.cfg][idx.rk] >= 1).sum())
        opts = (("objective_bound", target), *bound.TARGET_HIGHS_OPTIONS)
        p = replace(params, support_mip=False, log_file=str(HERE / f"highs{tag}-{r}.log"),
                    highs_options=params.highs_options + opts)
        t0, c0 = time.perf_counter(), time.process_time()
        run = solve(inst, p, seed=0, warm_start=None, fixing=caps)
        st = run.stats
        emit_row(phase="target", routes=r, kept=kept, target=target, L=fix.bound,
                 gap=target - fix.bound, status=str(run.status), highs_status=st.get("highs_status"),
                 highs_bound=run.bound, n_vars=st.get("n_vars"), n_rows=st.get("n_rows"),
                 build_s=st.get("build_s"), solve_s=st.get("solve_s"),
                 solve_cpu_s=st.get("solve_cpu_s"), wall_s=time.perf_counter() - t0,
                 cpu_s=time.process_time() - c0, nodes=st.get("nodes"), speed=speed)
    sys.exit(0)


if __name__ == "__main__":
    main()
