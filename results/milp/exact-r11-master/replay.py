"""Round 11 probe: re-solve dumped closing masters (dump.py) from their basis under HiGHS
simplex settings, alternated, one thread; prints one JSON row per solve.

    python results/milp/exact-r11-master/replay.py /tmp/r11/master/master-9 --reps 3
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click
import highspy

LIMIT_S = 90.0

VARIANTS = {
    "dual-choose": {"simplex_strategy": 1},
    "dual-devex": {"simplex_strategy": 1, "simplex_dual_edge_weight_strategy": 1},
    "dual-dantzig": {"simplex_strategy": 1, "simplex_dual_edge_weight_strategy": 0},
    "primal": {"simplex_strategy": 4},
    "primal-devex": {"simplex_strategy": 4, "simplex_primal_edge_weight_strategy": 1},
}


def run(stem: str, opts: dict) -> dict:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", LIMIT_S)
    h.readModel(stem + ".mps")
    h.readBasis(stem + ".bas")
    for k, v in opts.items():
        h.setOptionValue(k, v)
    t0, c0 = time.perf_counter(), time.process_time()
    h.run()
    info = h.getInfo()
    return dict(status=h.modelStatusToString(h.getModelStatus()),
                objective=info.objective_function_value,
                iterations=info.simplex_iteration_count,
                wall_s=round(time.perf_counter() - t0, 3), cpu_s=round(time.process_time() - c0, 3))


@click.command()
@click.argument("stems", nargs=-1)
@click.option("--variants", default=",".join(VARIANTS))
@click.option("--reps", type=int, default=2)
def main(stems, variants, reps):
    names = variants.split(",")
    for rep in range(reps):
        order = names if rep % 2 == 0 else names[::-1]
        for stem in stems:
            for v in order:
                row = dict(stem=stem, variant=v, rep=rep, **run(stem, VARIANTS[v]),
                           load=Path("/proc/loadavg").read_text().split()[0])
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
