"""HiGHS root settings on the fixed model, alternated in one process (docs/milp.md "Root settings").

``python results/milp/root2/bench.py --specs 12x12x12-s0,... --variants base,presolve``
computes each instance's auto start once (its CPU time is reported, not re-run), then runs
``milp.solve`` from it for every variant in turn (order rotated per repetition), 2 threads,
time limit = 60 s minus the start's runtime, and writes runs.csv + meta.json to --out.
"""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import click

from benchmarks.milp_starts import build
from hetserve.cli.methods import MethodSettings, _agh, auto_start
from hetserve.milp import MilpParams, solve
from hetserve.milp.index import Tightening

VARIANTS: dict[str, tuple[tuple[str, object], ...]] = {
    "base": (),
    "presolve": (("presolve", "on"),),
    "presolve-lift": (("presolve", "on"), ("mip_lifting_for_probing", 1)),
    "presolve-lift0": (("presolve", "on"), ("mip_lifting_for_probing", 0)),
    "pool2000": (("mip_pool_soft_limit", 2000),),
    "no-restart": (("mip_allow_restart", False),),
    "no-node-cuts": (("mip_allow_cut_separation_at_nodes", False),),
}
TIGHTENINGS = {"rounding": Tightening(rounding=True)}
"""Variants that change the model's valid inequalities instead of HiGHS's options."""


@click.command()
@click.option("--specs", required=True)
@click.option("--variants", default="base,presolve")
@click.option("--reps", type=int, default=1)
@click.option("--time-limit", type=float, default=60.0)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/milp/root2/run"))
@click.option("--highs-log", is_flag=True, help="write HiGHS's log to OUT/highs-SPEC-VARIANT-REP.log")
def main(specs: str, variants: str, reps: int, time_limit: float, out: Path,
         highs_log: bool) -> None:
    from hetserve.cli.methods import CAPPED_AGH
    from hetserve.cli.sweep import machine_meta
    from hetserve.heuristics import AghParams, agh

    out.mkdir(parents=True, exist_ok=True)
    names = variants.split(",")
    rows = []
    for spec in specs.split(","):
        inst = build(spec)
        s = MethodSettings(threads=2, time_limit_s=time_limit)
        name = auto_start(inst)
        c0, w0 = time.process_time(), time.perf_counter()
        if name == "agh-capped":
            start = agh(inst, AghParams(**CAPPED_AGH), seed=0)  # type: ignore[arg-type]
        else:
            start = _agh(inst, s, fleet_mip=name == "agh-fleet")
        start_cpu, start_wall = time.process_time() - c0, time.perf_counter() - w0
        for rep in range(reps):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for v in order:
                load = os.getloadavg()[0]
                c0, w0 = time.process_time(), time.perf_counter()
                res = solve(inst, MilpParams(time_limit_s=max(1.0, time_limit - start.runtime_s),
                                             threads=2, highs_options=VARIANTS.get(v, ()),
                                             tightening=TIGHTENINGS.get(v, Tightening()),
                                             log_file=str(out / f"highs-{spec}-{v}-{rep}.log")
                                             if highs_log else None),
                            warm_start=start.solution)
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                st = res.stats
                row = dict(spec=spec, variant=v, rep=rep, status=res.status.value,
                           objective=res.objective, bound=res.bound,
                           gap=st.get("mip_gap"), root_bound=st.get("root_bound"),
                           n_vars=st.get("n_vars"), start=name, start_obj=start.objective,
                           start_cpu=round(start_cpu, 2), start_wall=round(start_wall, 2),
                           solve_cpu=round(cpu, 2), solve_wall=round(wall, 2),
                           total_cpu=round(cpu + start_cpu, 2),
                           total_wall=round(wall + start_wall, 2), load=round(load, 2))
                print(row, flush=True)
                rows.append(row)
                with open(out / "runs.csv", "w", newline="") as f:
                    wr = csv.DictWriter(f, fieldnames=list(rows[0]))
                    wr.writeheader()
                    wr.writerows(rows)
    meta = machine_meta() if callable(machine_meta) else {}
    meta.update(specs=specs, variants={v: str(VARIANTS.get(v, TIGHTENINGS.get(v))) for v in names}, reps=reps,
                time_limit=time_limit, loadavg_end=os.getloadavg())
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))


if __name__ == "__main__":
    main()
