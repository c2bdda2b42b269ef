"""What do FP8 and FP4 tiers save? (docs/catalog.md §4)

For seeded instances of the 2026-12 catalog edition (``generate(..., edition="latest")``:
2026 GPUs and models, fp8 and fp4 among the tiers), solve the exact MILP twice through the
CLI's method registry (``milp``, auto MIP start, the same time limit, threads and seed):

* ``without``: every fp8 or fp4 tier replaced by the same GPU's fp16 tier (dropped when the
  instance already has it), i.e. the fleet a planner limited to the paper's precisions would
  see on the same GPUs;
* ``with``: those tiers plus the generated fp8/fp4 ones.

``with`` offers every route of ``without`` and more, so when both are proven optimal its
cost is at most ``without``'s. Demand, SLOs and budget are the generated instance's in both.
The table reports both costs, statuses and gaps (a time-limited solve is reported as
such), the saving, and how much of the demand the plan with fp8/fp4 routes to those
formats. Every plan goes through the one evaluator (``RunResult.evaluation``).

Run from the repository root: ``python -m benchmarks.precision_value --out results/precision``
(writes ``rows.csv``, ``summary.md`` and ``meta.json``).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from hetserve.cli.methods import MethodSettings, run_method
from hetserve.cli.sweep import machine_meta
from hetserve.instances.generate import generate
from hetserve.instances.model import Instance, Tier

LOW = ("fp8", "fp4")


def without_low_precision(inst: Instance) -> Instance:
    """The instance with every fp8/fp4 tier replaced by its GPU's fp16 tier (module docstring)."""
    tiers: list[Tier] = []
    for t in inst.tiers:
        tier = Tier(t.gpu, "fp16") if t.precision in LOW else t
        if tier not in tiers:
            tiers.append(tier)
    return inst.replace(tiers=tuple(tiers), name=inst.name + "-no-fp8-fp4")


def with_low_precision(inst: Instance, base: Instance) -> Instance:
    """``base``'s tiers plus ``inst``'s fp8/fp4 tiers (module docstring)."""
    low = tuple(t for t in inst.tiers if t.precision in LOW)
    return inst.replace(tiers=(*base.tiers, *low))


def low_share(inst: Instance, res: Any) -> float:
    """Share of the served demand routed to fp8/fp4 configurations."""
    if res.solution is None:
        return float("nan")
    t = inst.routes
    _, x = res.solution.to_arrays(inst)
    low = np.array([cfg.precision in LOW for cfg in t.configs])
    served = (t.rates[:, None] * x).sum()
    return float((t.rates[:, None] * x)[:, low].sum() / served) if served > 0 else 0.0


def solve_row(inst: Instance, settings: MethodSettings) -> dict[str, Any]:
    t0 = time.perf_counter()
    res = run_method("milp", inst, settings)
    wall = time.perf_counter() - t0
    ev = res.evaluation
    return {"status": str(res.status), "cost": res.objective, "gap": res.gap,
            "feasible": bool(ev is not None and ev.feasible), "wall_s": round(wall, 2),
            "gpus": sum(ev.gpus_by_type.values()) if ev else 0,
            "low_share": low_share(inst, res)}


@click.command()
@click.option("--size", default="10x10x16", show_default=True, help="QUERYxMODELSxTIERS.")
@click.option("--seeds", default="0,1,2,3,4,5,6,7", show_default=True,
              help="Generator seeds (comma list).")
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def main(size: str, seeds: str, time_limit: float, threads: int, out: Path) -> None:
    from hetserve.instances.generate import parse_size

    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"--out: {out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    dims = parse_size(size, "latest")
    settings = MethodSettings(seed=0, time_limit_s=time_limit, threads=threads)
    rows = []
    for seed in (int(s) for s in seeds.split(",")):
        base = without_low_precision(generate(dims, seed, edition="latest"))
        inst = with_low_precision(generate(dims, seed, edition="latest"), base)
        low_tiers = sum(t.precision in LOW for t in inst.tiers)
        a, b = solve_row(inst, settings), solve_row(base, settings)
        row = {"instance": inst.name, "seed": seed, "low_tiers": low_tiers,
               "tiers": len(inst.tiers), "tiers_without": len(base.tiers),
               **{f"with_{k}": v for k, v in a.items()},
               **{f"without_{k}": v for k, v in b.items()}}
        both = a["cost"] is not None and b["cost"] is not None
        # Rounded so that equal optima (up to HiGHS's feasibility tolerance) read as 0.0 %.
        row["saving"] = (round(1.0 - a["cost"] / b["cost"], 6) + 0.0
                         if both and b["cost"] > 0 else float("nan"))
        rows.append(row)
        click.echo(f"{inst.name}: with {a['cost']} ({a['status']}), without {b['cost']} "
                   f"({b['status']}), saving {row['saving']:.1%}", err=True)
    with (out / "rows.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["# What FP8 and FP4 tiers save", "",
             f"`python -m benchmarks.precision_value --size {size} --seeds {seeds} "
             f"--time-limit {time_limit:g} --threads {threads}`: seeded 2026-12-edition "
             "instances, exact MILP without their fp8/fp4 tiers (each replaced by the same "
             "GPU's fp16 tier) and with them added back. Cost = the evaluator's objective "
             "($ over the horizon).", "",
             "| instance | fp8/fp4 tiers | with: cost · status · gap | without: cost · status "
             "· gap | saving | demand on fp8/fp4 |", "|---|---:|---|---|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['low_tiers']} of {r['tiers']} | {r['with_cost']:.2f} · "
            f"{r['with_status']} · {r['with_gap']:.2%} | {r['without_cost']:.2f} · "
            f"{r['without_status']} · {r['without_gap']:.2%} | {r['saving']:.1%} | "
            f"{r['with_low_share']:.0%} |")
    savings = [r["saving"] for r in rows if np.isfinite(r["saving"])]
    proven = sum(r["with_status"] == "optimal" and r["without_status"] == "optimal"
                 for r in rows)
    lines += ["", f"Median saving {statistics.median(savings):.1%} (range "
              f"{min(savings):.1%}–{max(savings):.1%}) over {len(savings)} instances; "
              f"{proven} of {len(rows)} pairs proven optimal on both sides."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    meta = {**machine_meta(), "size": size, "seeds": seeds, "time_limit_s": time_limit,
            "threads": threads, "method": "milp (auto start)"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
