"""Is there a plan cheaper than AGH's 1,414.78 at 100x40x40 s0? (issue 13, round 10)

Price-and-branch (`milp.bound.price_and_branch`) from AGH's cached plan with a long limit:
the LP's column generation in ``--bound-share`` of the time, then HiGHS on the restricted
master as a MIP (AGH's plan as its start) in the rest. Any plan it finds is feasible for
the full model (the one evaluator prices it). One JSON row to stdout (`emit_row`).

    PYTHONPATH=. python results/milp/exact-r10-upper/pnb.py --time 1800 \
        >> results/milp/exact-r10-upper/pnb.jsonl
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from benchmarks.milp_large_bound import cached_agh_plan, emit_row

HERE = Path(__file__).resolve().parent


@click.command()
@click.option("--size", default="100x40x40")
@click.option("--seed", type=int, default=0)
@click.option("--time", "seconds", type=float, default=1800.0)
@click.option("--bound-share", type=float, default=0.4)
def main(size: str, seed: int, seconds: float, bound_share: float) -> None:
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.milp.bound import price_and_branch

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    plan = cached_agh_plan(inst, size, seed, [HERE])
    agh = float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective)
    t0, c0 = time.perf_counter(), time.process_time()
    res = price_and_branch(inst, time_limit_s=seconds, start=plan, seed=seed,
                           bound_share=bound_share)
    st = res.stats
    emit_row(phase="pnb", size=size, seed=seed, agh=agh, time_limit_s=seconds,
             bound_share=bound_share, status=res.status.value, plan=res.objective,
             bound=res.bound, improvement=None if res.objective is None else agh - res.objective,
             master_routes=st.get("bound_routes"), cg_converged=st.get("bound_cg_converged"),
             # numpy numbers and the like in HiGHS's stats: as JSON numbers or strings
             mip=json.loads(json.dumps({k: v for k, v in st.items()
                                        if not k.startswith("bound_")}, default=str)),
             wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)


if __name__ == "__main__":
    main()
