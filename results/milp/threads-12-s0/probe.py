"""12x12x12 s<SEED>: ``milp.solve`` from one full-AGH start with several HiGHS seeds, 1 and 2 threads.

Usage: ``python results/milp/threads-12-s0/probe.py SEED HIGHS_SEEDS`` (e.g. ``0 0,1,2``);
prints one line per run (status, objective, wall and CPU seconds). README.md holds the output.
"""

from __future__ import annotations

import sys
import time

from hetserve.cli.methods import MethodSettings, _agh
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams, solve


def main(instance_seed: int, highs_seeds: list[int]) -> None:
    inst = generate((12, 12, 12), instance_seed)
    start = _agh(inst, MethodSettings(seed=0, time_limit_s=60, threads=2), fleet_mip=False)
    print("start", start.objective, flush=True)
    for highs_seed in highs_seeds:
        for threads in (1, 2):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            run = solve(inst, MilpParams(time_limit_s=60, threads=threads), seed=highs_seed,
                        warm_start=start.solution)
            print(f"seed {highs_seed} threads {threads}: {run.status.value} {run.objective:.4f}"
                  f" wall {time.perf_counter() - wall0:.1f} cpu {time.process_time() - cpu0:.1f}",
                  flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(a) for a in sys.argv[2].split(",")])
