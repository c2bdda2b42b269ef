"""AGH against a certified lower bound at sizes the MILP cannot close.

``python -m benchmarks.milp_large_bound --size 50x30x30 --time-limit 240`` prints one JSON
row (GH, AGH with its work budget, the Lagrangian bound of ``milp/bound.py`` with AGH's
cost as the target, times, peak RSS); ``results/milp/large_bound.md`` collects the rows.
"""

from __future__ import annotations

import json
import resource
import time

import click


@click.command()
@click.option("--size", default="50x30x30", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-limit", type=float, default=240.0, show_default=True,
              help="Wall limit of the bound (column generation stops at 80 %).")
def main(size: str, seed: int, time_limit: float) -> None:
    from hetserve.heuristics import agh, gh
    from hetserve.instances.generate import generate
    from hetserve.milp.bound import lagrangian_bound

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    g = gh(inst)
    t0, c0 = time.perf_counter(), time.process_time()
    a = agh(inst, seed=0)
    agh_wall, agh_cpu = time.perf_counter() - t0, time.process_time() - c0
    c0 = time.process_time()
    b = lagrangian_bound(inst, upper_bound=a.objective, iterations=200, time_limit_s=time_limit)
    click.echo(json.dumps({
        "size": size, "seed": seed, "gh": g.objective, "agh": a.objective,
        "agh_wall_s": agh_wall, "agh_cpu_s": agh_cpu, "agh_work": a.stats["work_used"],
        "agh_exhausted": a.stats["budget_exhausted"], "lb": b.value,
        "gap": (a.objective - b.value) / a.objective, "lb_wall_s": b.seconds,
        "lb_cpu_s": time.process_time() - c0, "it": b.iterations,
        "cg_rounds": b.stats["cg_rounds"], "cg_routes": b.stats["cg_routes"],
        "routes": b.stats["routes"], "lp_s": b.stats["lp_start_s"],
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))


if __name__ == "__main__":
    main()
