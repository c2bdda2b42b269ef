"""Where the certified bound's time goes at 100x40x40 s0 (cProfile of ``lagrangian_bound``).

    PYTHONPATH=. python results/milp/large-bound-3/profile.py --size 100x40x40 --time-limit 300

runs AGH (seed 0, default work budget; its plan is cached in ``--cache`` so repeated
profiles skip it), then ``milp.bound.lagrangian_bound`` from AGH's cost and routes
(``--close`` closes configurations during the generation) under cProfile, and prints the
generation's per-round history and the top functions by cumulative and own time.
"""

from __future__ import annotations

import cProfile
import json
import pickle
import pstats
import resource
import time
from pathlib import Path

import click
import numpy as np


@click.command()
@click.option("--size", default="100x40x40", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-limit", type=float, default=300.0, show_default=True)
@click.option("--close", is_flag=True, help="Close configurations during the generation.")
@click.option("--cache", type=click.Path(path_type=Path), default=Path("/tmp/agh-plans"),
              show_default=True)
def main(size: str, seed: int, time_limit: float, close: bool, cache: Path) -> None:
    from hetserve.heuristics import agh
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.milp.bound import lagrangian_bound

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    path = cache / f"agh_{size}_s{seed}.pkl"
    if path.exists():
        plan = pickle.loads(path.read_bytes())
    else:
        plan = agh(inst, seed=0).solution
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(plan))
    r0, x0 = plan.to_arrays(inst)
    upper = evaluate_arrays(inst, r0, x0).objective
    prof = cProfile.Profile()
    t0, c0 = time.perf_counter(), time.process_time()
    prof.enable()
    b = lagrangian_bound(inst, upper_bound=upper, iterations=0, time_limit_s=time_limit,
                         start_routes=np.nonzero(x0 > 0), close=close)
    prof.disable()
    click.echo(json.dumps({"upper": upper, "bound": b.value, "wall_s": time.perf_counter() - t0,
                           "cpu_s": time.process_time() - c0,
                           "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                           **{k: v for k, v in b.stats.items() if k != "cg_history"}}))
    for row in b.stats["cg_history"]:
        click.echo(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                               for k, v in row.items()}))
    pstats.Stats(prof).sort_stats("cumulative").print_stats(20)
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
