"""Share of rolling windows that meet the P99 TTFT SLO, and the cost, before and after the
SLO-consistent sizing (docs/rolling.md, "Every window meets its SLO").

From the repository root::

    python -m benchmarks.rolling_slo --today /path/to/hetserve-of-main --out results/rolling-slo

For each day (flat synthetic, A = 0; Azure conversation) and solver, three runs of
``hetserve rolling paper-base``: ``today`` (the ``--today`` executable, the code before the
change), ``accounting`` (this code, ``--rate-margin 0``) and ``margin`` (this code, default
``--rate-margin``). A window meets the SLO when its ``slo_attainment`` is >= 0.99.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from hetserve.cli.sweep import machine_meta

DAYS = {"flat": ["--demand", "synthetic", "--diurnal-amplitude", "0"],
        "azure-conv": ["--demand", "azure-conv"]}


def _metrics(out: Path) -> dict[str, float]:
    with (out / "windows.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    att = [float(r["slo_attainment"]) for r in rows]
    rate = [float(r["realised_rate"]) for r in rows]
    return {"windows": len(rows),
            "windows_slo_met": sum(a >= 0.99 for a in att) / len(att),
            "slo_attainment": sum(a * w for a, w in zip(att, rate)) / sum(rate),
            "total_cost": sum(float(r["total_cost"]) for r in rows),
            "mean_gpus": sum(float(r["gpus"]) for r in rows) / len(rows)}


@click.command()
@click.option("--today", "today_exe", required=True, help="hetserve executable of the old code.")
@click.option("--solvers", default="gh,agh", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/rolling-slo"))
def main(today_exe: str, solvers: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    new_exe = shutil.which("hetserve") or sys.exit("hetserve: not on PATH")
    variants = {"today": (today_exe, []), "accounting": (new_exe, ["--rate-margin", "0"]),
                "margin": (new_exe, [])}
    rows = []
    for day, dargs in DAYS.items():
        for solver in solvers.split(","):
            for name, (exe, extra) in variants.items():
                run_dir = out / "runs" / f"{day}_{solver}_{name}"
                subprocess.run([exe, "rolling", "paper-base", "--solver", solver, "--seed", "0",
                                *dargs, *extra, "--out", str(run_dir)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                m = _metrics(run_dir)
                (run_dir / "cost.png").unlink(missing_ok=True)
                (run_dir / "gpus.png").unlink(missing_ok=True)
                rows.append({"day": day, "solver": solver, "variant": name, **m})
                click.echo(json.dumps(rows[-1]))
    base = {(r["day"], r["solver"]): r["total_cost"] for r in rows if r["variant"] == "today"}
    for r in rows:
        r["cost_change_pct"] = 100.0 * (r["total_cost"] / base[(r["day"], r["solver"])] - 1.0)
    with (out / "table.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["| day | solver | variant | windows meeting SLO | attainment | cost $ | vs today |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['day']} | {r['solver']} | {r['variant']} | "
                     f"{100 * r['windows_slo_met']:.1f} % | {r['slo_attainment']:.4f} | "
                     f"{r['total_cost']:.2f} | {r['cost_change_pct']:+.1f} % |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    meta = {**machine_meta(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "today": today_exe, "instance": "paper-base", "seed": 0,
            "window_metric": "a window meets the SLO when slo_attainment >= 0.99",
            "note": "machine shared by six helpers; only costs and shares are compared"}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
