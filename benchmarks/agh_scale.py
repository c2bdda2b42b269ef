"""AGH at the sizes the MILP cannot close (50x30x30, 100x40x40): cost, CPU, work and
convergence, side by side, against a certified lower bound.

::

    python -m benchmarks.agh_scale --out results/milp/agh-scale \\
        --bounds 50x30x30=846.90,100x40x40=512.24

Per size (``generate(size, seed)``), the variants run alternately in one process:

- ``now``: AGH with today's defaults (:class:`AghParams`);
- ``pass-gain-0``: the same with ``pass_gain=0`` (the stopping rule before: any gain of
  the cheap operators postpones the LP moves);
- ``no-mip``: today's defaults without the fleet MIP (``--method agh-paper``);
- ``no-lp-mip``: today's defaults without the LP-guided fleet-MIP rounds (the default
  before them).

The exact candidate list and the sparse GPU check (docs/heuristics.md §4) change no plan,
only the CPU, so they have no "off" variant; the CPU before them is quoted from the run
recorded in the summary's note. ``--bounds`` gives each size's certified lower bound
(``hetserve solve --method agh-bound``, :mod:`milp.bound`), quoted, not recomputed here.
Writes ``OUT/runs.csv``, ``OUT/summary.md`` and ``OUT/meta.json``.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import time
from dataclasses import replace
from pathlib import Path

import click

from hetserve.cli.sweep import machine_meta
from hetserve.heuristics import AghParams

FIELDS = ["size", "seed", "variant", "objective", "cpu_s", "wall_s", "work_used",
          "budget_exhausted", "passes", "ls_stopped_by_budget", "fleet_mip_improved",
          "best_start", "bound", "gap_to_bound", "load_avg", "lp_guided_improved",
          "peak_rss_gb"]


def _variants() -> dict[str, AghParams]:

    now = AghParams()
    return {"now": now, "pass-gain-0": replace(now, pass_gain=0.0),
            "no-mip": replace(now, fleet_mip_rounds=0),
            "no-lp-mip": replace(now, lp_guided_mip=False)}


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--sizes", default="50x30x30,100x40x40", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--variants", default="now,no-lp-mip", show_default=True)
@click.option("--bounds", default="", help="SIZE=VALUE,... certified lower bounds to quote.")
@click.option("--note", default="", help="A sentence for the summary.")
def main(out: Path, sizes: str, seed: int, variants: str, bounds: str, note: str) -> None:
    """AGH at scale (module docstring)."""
    from hetserve.heuristics import agh
    from hetserve.instances.generate import generate

    out.mkdir(parents=True, exist_ok=True)
    known = _variants()
    names = [v for v in variants.split(",") if v]
    for v in names:
        if v not in known:
            raise click.BadParameter(f"variant {v!r} not understood; expected {sorted(known)}",
                                     param_hint="--variants")
    lb = {k: float(v) for k, v in (p.split("=") for p in bounds.split(",") if p)}
    rows = []
    for label in [s for s in sizes.split(",") if s]:
        n_i, n_m, n_g = (int(v) for v in label.split("x"))
        inst = generate((n_i, n_m, n_g), seed)
        for v in names:
            c0, t0 = time.process_time(), time.perf_counter()
            res = agh(inst, known[v], seed=0)
            cpu, wall = time.process_time() - c0, time.perf_counter() - t0
            ls = res.stats["local_search"]
            bound = lb.get(label)
            row = {"size": label, "seed": seed, "variant": v, "objective": res.objective,
                   "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                   "work_used": res.stats["work_used"],
                   "budget_exhausted": res.stats["budget_exhausted"],
                   "passes": "+".join(str(s["passes"]) for s in ls),
                   "ls_stopped_by_budget": any(s["stopped_by_budget"] for s in ls),
                   "fleet_mip_improved": res.stats["fleet_mip"]["improved"],
                   "best_start": res.stats["best_start"], "bound": bound if bound else "",
                   "gap_to_bound": (res.objective - bound) / bound if bound else "",
                   "load_avg": round(os.getloadavg()[0], 2),
                   "lp_guided_improved": res.stats["fleet_mip"].get("lp_guided_improved", 0),
                   # the process's peak so far (ru_maxrss, kB on Linux): an upper bound
                   # for this run, exact for the first run or the largest
                   "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                        / 2**20, 2)}
            rows.append(row)
            click.echo(f"{label} {v:12s} {res.objective:10.2f} cpu={cpu:.1f}s "
                       f"work={row['work_used']:,} passes={row['passes']}", err=True)
    with (out / "runs.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    lines = ["# AGH at scale: cost, CPU and convergence", "",
             f"`generate(size, {seed})`, AGH seed 0, variants run alternately in one process "
             "(`python -m benchmarks.agh_scale`). CPU = process time; the machine (2 cores) "
             "was shared with other sessions, so absolute times are inflated; compare rows of "
             "one size. Gap = (AGH − bound)/bound against the quoted certified bound.", ""]
    if note:
        lines += [note, ""]
    lines += ["| size | variant | AGH $ | CPU s | wall s | work | budget hit | LS passes | "
              "fleet-MIP rounds kept (LP-guided) | peak RSS GB (process) | load | bound $ | "
              "gap to bound |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gap = f"{r['gap_to_bound']:.1%}" if r["gap_to_bound"] != "" else "–"
        lines.append(f"| {r['size']} | {r['variant']} | {r['objective']:.2f} | {r['cpu_s']} | "
                     f"{r['wall_s']} | {r['work_used']:,} | "
                     f"{'yes' if r['budget_exhausted'] else 'no'} | {r['passes']} | "
                     f"{r['fleet_mip_improved']} ({r['lp_guided_improved']}) | "
                     f"{r['peak_rss_gb']} | {r['load_avg']} | {r['bound'] or '–'} | {gap} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    meta = {**machine_meta(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sizes": sizes, "seed": seed, "variants": names, "bounds": lb,
            "load_average_at_end": os.getloadavg(),
            "note": "2 cores shared by several concurrent sessions; times measured under load"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
    click.echo((out / "summary.md").read_text())


if __name__ == "__main__":
    main()
