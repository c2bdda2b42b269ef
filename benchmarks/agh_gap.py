"""AGH's gap to the proven optimum, on the ``paper`` set and on fresh seeds.

Two phases, so AGH can be re-measured without re-solving the MILPs::

    python -m benchmarks.agh_gap optima --out results/milp/agh-gap      # resumable
    python -m benchmarks.agh_gap agh --out results/milp/agh-gap --label now

``optima`` solves every instance with ``hetserve solve --method milp`` (AGH MIP start,
HiGHS, 1 thread, gap 1e-4, a time limit per size) and appends one row per instance to
``OUT/optima.csv`` (instances already there are skipped). ``agh`` runs AGH (default
parameters unless ``--budget``, seed 0) on every instance with a row in ``optima.csv``
and writes ``OUT/agh-LABEL.csv`` and ``OUT/summary-LABEL.md``.

Gap = (AGH − reference)/reference. The reference is the proven optimum; where the MILP
stopped at its time limit it is the best known plan (the MILP's incumbent or AGH's,
whichever is cheaper), and the table marks the row † and also gives the gap to the
MILP's bound (an upper estimate of the true gap).

Fresh seeds are seeds no benchmark or test of AGH was tuned on (1000+); the ``paper`` set
is ``scripts/instance_sets.py``'s.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import time
from pathlib import Path

import click

from hetserve.cli.instance_sets import INSTANCE_SETS, InstanceSpec
from hetserve.cli.sweep import machine_meta

FRESH_SIZES = [(6, 6, 10), (10, 10, 10), (12, 12, 12), (15, 15, 15), (20, 20, 20)]
FRESH_SEEDS = (1000, 1001, 1002)
OPT_FIELDS = ["name", "set", "size", "seed", "scenario", "status", "objective", "bound",
              "runtime_s", "start_objective", "time_limit_s", "load_avg"]
AGH_FIELDS = ["name", "set", "size", "seed", "scenario", "reference", "proven", "bound",
              "agh", "gap", "gap_to_bound", "runtime_s", "cpu_s", "work_used", "best_start",
              "load_avg"]


def specs() -> list[tuple[str, InstanceSpec]]:
    """(set, spec) of every instance: the ``paper`` set, then fresh seeds, small first."""
    out = [("paper", s) for s in INSTANCE_SETS["paper"]]
    out += [("fresh", InstanceSpec(f"{'x'.join(map(str, sz))}-s{seed}-base", sz, seed))
            for sz in FRESH_SIZES for seed in FRESH_SEEDS]
    return sorted(out, key=lambda t: (_n(t[1]), t[0], t[1].name))


def _n(spec: InstanceSpec) -> int:
    return 0 if spec.size is None else spec.size[0] * spec.size[1] * spec.size[2]


def _time_limit(spec: InstanceSpec) -> float:
    n = _n(spec)
    return 60.0 if n <= 1728 else 120.0 if n <= 3375 else 180.0


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _append(path: Path, fields: list[str], row: dict) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        if new:
            w.writeheader()
        w.writerow(row)


@click.group()
def main() -> None:
    """AGH's gap to the proven optimum (module docstring)."""


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--only", default="", help="Comma-separated size labels to solve (default all).")
def optima(out: Path, only: str) -> None:
    """Solve every instance with the MILP (resumable: rows in optima.csv are skipped)."""
    from hetserve.cli.methods import METHODS, MethodSettings

    out.mkdir(parents=True, exist_ok=True)
    path = out / "optima.csv"
    done = {r["name"] for r in _read(path)}
    sizes = {s for s in only.split(",") if s}
    for set_name, spec in specs():
        if spec.name in done or (sizes and spec.size_label not in sizes):
            continue
        inst = spec.build()
        limit = _time_limit(spec)
        res = METHODS["milp"](inst, MethodSettings(seed=0, time_limit_s=limit, threads=1))
        row = {"name": spec.name, "set": set_name, "size": spec.size_label, "seed": spec.seed,
               "scenario": spec.scenario, "status": res.status.value,
               "objective": res.objective if res.feasible else "", "bound": res.bound,
               "runtime_s": round(res.runtime_s, 2),
               "start_objective": res.stats.get("start_objective", ""),
               "time_limit_s": limit, "load_avg": round(os.getloadavg()[0], 2)}
        _append(path, OPT_FIELDS, row)
        click.echo(f"{spec.name:28s} {row['status']:9s} {row['objective']} "
                   f"bound={row['bound']} {row['runtime_s']} s", err=True)


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--label", required=True, help="Names the output files (agh-LABEL.csv).")
@click.option("--budget", type=click.IntRange(min=0), default=None,
              help="AGH work budget (default: AghParams's).")
@click.option("--only", default="", help="Comma-separated size labels (default all).")
@click.option("--fleet-mip-rounds", type=click.IntRange(min=0), default=None,
              help="AGH's fleet-MIP rounds (default: AghParams's; 0 = AGH without it).")
@click.option("--lp-guided/--no-lp-guided", default=True, show_default=True,
              help="AGH's LP-guided fleet-MIP rounds (AghParams.lp_guided_mip).")
@click.option("--note", default="", help="A sentence for the summary (what changed).")
def agh(out: Path, label: str, budget: int | None, only: str, fleet_mip_rounds: int | None,
        lp_guided: bool, note: str) -> None:
    """Run AGH on every instance with a reference in optima.csv; gap table."""
    from dataclasses import replace

    from hetserve.heuristics import AghParams
    from hetserve.heuristics import agh as run_agh

    params = AghParams() if budget is None else replace(AghParams(), work_budget=budget)
    if fleet_mip_rounds is not None:
        params = replace(params, fleet_mip_rounds=fleet_mip_rounds)
    params = replace(params, lp_guided_mip=lp_guided)
    refs = {r["name"]: r for r in _read(out / "optima.csv")}
    path = out / f"agh-{label}.csv"
    if path.exists():
        path.unlink()
    sizes = {s for s in only.split(",") if s}
    rows = []
    for set_name, spec in specs():
        ref = refs.get(spec.name)
        if ref is None or not ref["objective"] or (sizes and spec.size_label not in sizes):
            continue
        inst = spec.build()
        c0 = time.process_time()
        res = run_agh(inst, params, seed=0)
        cpu = time.process_time() - c0
        proven = ref["status"] == "optimal"
        reference = float(ref["objective"]) if proven else min(float(ref["objective"]),
                                                                res.objective)
        bound = float(ref["bound"]) if ref["bound"] not in ("", "None") else None
        row = {"name": spec.name, "set": set_name, "size": spec.size_label, "seed": spec.seed,
               "scenario": spec.scenario, "reference": reference, "proven": int(proven),
               "bound": bound, "agh": res.objective if res.feasible else "",
               "gap": (res.objective - reference) / reference if res.feasible else "",
               "gap_to_bound": ((res.objective - bound) / bound
                                if res.feasible and bound else ""),
               "runtime_s": round(res.runtime_s, 3), "cpu_s": round(cpu, 3),
               "work_used": res.stats["work_used"], "best_start": res.stats["best_start"],
               "load_avg": round(os.getloadavg()[0], 2)}
        _append(path, AGH_FIELDS, row)
        rows.append(row)
        click.echo(f"{spec.name:28s} ref={reference:.2f}{'' if proven else '†'} "
                   f"agh={res.objective:.2f} gap={row['gap']:.2%} {row['cpu_s']} s", err=True)
    (out / f"summary-{label}.md").write_text(summarise(rows, label, note, params))
    meta = {**machine_meta(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "label": label, "work_budget": params.work_budget,
            "fleet_mip_rounds": params.fleet_mip_rounds, "lp_guided_mip": params.lp_guided_mip,
            "load_average_at_end": os.getloadavg(),
            "note": "2 cores shared by several concurrent sessions; times measured under load"}
    (out / f"meta-{label}.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--labels", required=True, help="Comma-separated labels of earlier `agh` runs.")
def compare(out: Path, labels: str) -> None:
    """One table over several `agh` runs, all against the same reference: the proven
    optimum, else the cheapest plan any of them or the MILP found (``compare.md``)."""
    names = [v for v in labels.split(",") if v]
    runs = {n: {r["name"]: r for r in _read(out / f"agh-{n}.csv")} for n in names}
    refs = {r["name"]: r for r in _read(out / "optima.csv")}
    lines = ["# AGH vs the optimum: " + " vs ".join(names), "",
             "Reference = the proven MILP optimum, else († rows) the cheapest plan the MILP "
             "or any of these runs found (so a † gap is a lower estimate of the true gap). "
             "Median / max gap per group; CPU s median, measured under load.", "",
             "| set | size | n (proven) | " + " | ".join(f"{n}: median / max gap | {n}: CPU s"
                                                    for n in names) + " |",
             "|---|---|---|" + "---|---|" * len(names)]
    groups: dict[tuple[str, str], list[str]] = {}
    for set_name, spec in specs():
        if spec.name in refs and all(spec.name in runs[n] for n in names):
            groups.setdefault((set_name, spec.size_label), []).append(spec.name)
    overall: dict[str, list[float]] = {n: [] for n in names}
    for (set_name, size), members in groups.items():
        cells = []
        proven = 0
        gaps: dict[str, list[float]] = {n: [] for n in names}
        for name in members:
            ref = refs[name]
            best = float(ref["objective"])
            if ref["status"] == "optimal":
                proven += 1
            else:
                best = min([best] + [float(runs[n][name]["agh"]) for n in names])
            for n in names:
                gaps[n].append((float(runs[n][name]["agh"]) - best) / best)
        for n in names:
            overall[n] += gaps[n]
            cpu = statistics.median(float(runs[n][m]["cpu_s"]) for m in members)
            cells.append(f"{statistics.median(gaps[n]):.2%} / {max(gaps[n]):.2%} | {cpu:.2f}")
        lines.append(f"| {set_name} | {size} | {len(members)} ({proven}) | "
                     + " | ".join(cells) + " |")
    lines += [""] + [f"{n}: all {len(g)} instances, median {statistics.median(g):.2%}, "
                     f"max {max(g):.2%}." for n, g in overall.items() if g] + [""]
    (out / "compare.md").write_text("\n".join(lines))
    click.echo((out / "compare.md").read_text())


def summarise(rows: list[dict], label: str, note: str, params: object) -> str:
    lines = [f"# AGH vs the optimum ({label})", "",
             "AGH seed 0, work budget "
             f"{getattr(params, 'work_budget', '?'):,}, fleet-MIP rounds "
             f"{getattr(params, 'fleet_mip_rounds', '?')}; reference = the proven MILP optimum "
             "(`optima.csv`); † = not proven in the MILP's time limit: reference = best known "
             "plan, and the last column is the gap to the MILP's bound (an upper estimate). "
             "CPU seconds measured under load on 2 shared cores.", ""]
    if note:
        lines += [note, ""]
    lines += ["| set | size | scenario | n | proven | median gap | max gap | max gap to bound "
              "| median CPU s | max CPU s |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["set"], r["size"], r["scenario"]), []).append(r)
    for (set_name, size, sc), rs in groups.items():
        gaps = [r["gap"] for r in rs if r["gap"] != ""]
        gb = [r["gap_to_bound"] for r in rs if r["gap_to_bound"] != "" and not r["proven"]]
        cpu = [r["cpu_s"] for r in rs]
        lines.append(
            f"| {set_name} | {size} | {sc} | {len(rs)} | {sum(r['proven'] for r in rs)} | "
            f"{statistics.median(gaps):.2%} | {max(gaps):.2%} | "
            f"{f'{max(gb):.2%}' if gb else '–'} | {statistics.median(cpu):.2f} | "
            f"{max(cpu):.2f} |")
    all_gaps = [r["gap"] for r in rows if r["gap"] != ""]
    if all_gaps:
        lines += ["", f"All {len(all_gaps)} instances: median {statistics.median(all_gaps):.2%}, "
                  f"max {max(all_gaps):.2%}; at the reference on "
                  f"{sum(g <= 1e-6 for g in all_gaps)}.", ""]
    lines += ["| instance | reference | AGH | gap | CPU s | best start |", "|---|---|---|---|---|---|"]
    for r in rows:
        mark = "" if r["proven"] else "†"
        lines.append(f"| {r['name']} | {r['reference']:.2f}{mark} | {r['agh']:.2f} | "
                     f"{r['gap']:.2%} | {r['cpu_s']} | {r['best_start']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
