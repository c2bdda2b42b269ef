"""Ablation of M1, M2 and M3 in GH and AGH: ``python -m benchmarks.ablation --out DIR``.

Runs GH and AGH with each mechanism switched off on paper-base and generated instances,
evaluates every plan with the one evaluator, and writes ``DIR/summary.md`` (committed run:
``results/ablation/``)
(cost per variant, "INF (kinds)" where the evaluator finds violations) and ``runs.csv``.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import click

from hetserve.cli.errors import BadInput
from hetserve.cli.sweep import ResumeRefused, prepare_out
from hetserve.heuristics import AghParams, GhParams, agh, gh
from hetserve.instances import Instance
from hetserve.instances.generate import generate, paper_base

VARIANTS = {"full": {}, "-M1": {"use_m1": False}, "-M2": {"use_m2": False},
            "-M3": {"use_m3": False}}


def instances() -> list[tuple[str, Instance]]:
    return [("paper-base", paper_base())] + [
        (f"{'x'.join(map(str, size))} s{seed}", generate(size, seed))
        for size, seed in (((6, 6, 10), 0), ((6, 6, 10), 1), ((10, 10, 10), 0),
                           ((10, 10, 10), 1), ((20, 20, 20), 0), ((20, 20, 20), 1),
                           ((20, 20, 20), 2))]


def cell(result) -> str:
    ev = result.evaluation
    if ev is None:
        return "no plan"
    if ev.feasible:
        return f"{ev.objective:,.1f}"
    kinds = sorted({v.kind for v in ev.violations})
    return f"{ev.objective:,.1f} INF ({', '.join(kinds)})"


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (new or empty).")
def main(out: Path) -> None:
    """GH and AGH with M1, M2 or M3 switched off: runs.csv and summary.md in OUT."""
    try:
        prepare_out(out, {"command": "ablation"}, resume=False, resumable=False)
    except ResumeRefused as exc:
        raise BadInput(str(exc)) from None
    run(out)


def run(out: Path) -> None:
    """Every instance x variant; writes ``out/runs.csv`` and ``out/summary.md``."""
    rows = []
    for name, inst in instances():
        row = {"instance": name}
        for label, switches in VARIANTS.items():
            row[f"GH {label}"] = cell(gh(inst, replace(GhParams(), **switches)))
            row[f"AGH {label}"] = cell(agh(inst, replace(AghParams(), **switches), seed=0))
        rows.append(row)
        print(row, flush=True)
    cols = list(rows[0])
    with (out / "runs.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    lines = ["# Ablation of M1, M2, M3 (`python -m benchmarks.ablation`)", "",
             "Total cost ($, evaluator) of GH and AGH (seed 0) with one mechanism switched off; "
             "INF = the evaluator found violations (kinds listed). Semantics of each switch: "
             "docs/heuristics.md §5.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    (out / "summary.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
