"""End to end: ``fixed_model_bound`` (the ``agh-bound`` path) with and without weighted covers
in its closing (``closing_wcover_rounds``), alternated in one process, from AGH's plan
(cached next to this file; at 100x40x40 s0 the one of results/milp/agh100-r4/).

    nice -n 5 python results/milp/exact-r6-covclose/e2e.py --size 50x30x30 --rounds 8,0 --time 300
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from benchmarks.milp_large_bound import cached_agh_plan, emit_row

HERE = Path(__file__).resolve().parent


@click.command()
@click.option("--size", default="50x30x30")
@click.option("--seed", type=int, default=0)
@click.option("--rounds", default="8,0")
@click.option("--time", "seconds", type=float, default=300.0)
@click.option("--per-row", type=int, default=2)
@click.option("--gap", type=float, default=0.01)
@click.option("--closing-share", type=float, default=0.5)
@click.option("--target-routes", type=int, default=None)
def main(size: str, seed: int, rounds: str, seconds: float, per_row: int, gap: float,
         closing_share: float, target_routes: int | None) -> None:
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.milp.bound import fixed_model_bound

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    plan = cached_agh_plan(inst, size, seed, [HERE])
    emit_row(phase="agh", size=size, plan=float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective))
    for k in [int(v) for v in rounds.split(",")]:
        t0, c0 = time.perf_counter(), time.process_time()
        b, run = fixed_model_bound(inst, plan, time_limit_s=seconds, seed=seed,
                                   closing_wcover_rounds=k, closing_wcover_per_row=per_row,
                                   closing_wcover_gap=gap, closing_share=closing_share,
                                   target_routes=target_routes)
        st = b.stats
        emit_row(phase="bound", size=size, closing_wcover_rounds=k, per_row=per_row, gap=gap,
              closing_share=closing_share, target_routes=target_routes, time_limit_s=seconds,
              value=b.value, method=b.method,
              lagrangian=st.get("lagrangian"), highs_bound=st.get("highs_bound"),
              highs_status=st.get("highs_status"), target=st.get("target"),
              surviving=st.get("surviving_routes"), n_vars=st.get("n_vars"),
              upper=st.get("upper"), plan=run.objective if run.feasible else None,
              wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    sys.exit(0)


if __name__ == "__main__":
    main()
