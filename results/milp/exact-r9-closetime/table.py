"""The findings' tables from the e2e-*.jsonl rows of this directory (one markdown row per
run: speed probe, certified value, how, gap U/L − 1 against AGH's plan, L, closing, HiGHS,
wall, CPU, load; round 9 adds the target *V*, its routes and, for C, the sizing's time left
and routes). ``python results/milp/exact-r9-closetime/table.py [DIR]`` (round 8's, extended;
DIR defaults to this directory, and round 8's table.py runs this one on its own)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(directory: Path = HERE) -> None:
    for f in sorted(directory.glob("e2e-*.jsonl")):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        plan = next(r["plan"] for r in rows if r["phase"] == "agh")
        print(f"\n### {f.name} (AGH's plan {plan:,.2f})\n")
        print("| run | speed (CPU s, 5 first solves) | certified | how | U/L − 1 | L (closing) "
              "| closing s / solves | converged | V (columns) | sizing: left s → routes "
              "| HiGHS | wall s | CPU s | load |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        count: dict[str, int] = {}
        by: dict[str, list[float]] = {}
        for r in rows:
            if r["phase"] != "bound":
                continue
            v = r["variant"]
            count[v] = count.get(v, 0) + 1
            by.setdefault(v, []).append(r["value"])
            solves = sum(1 for h in r["closing_history"] if "master_cpu_s" in h)
            highs = f"{r['highs_status']} ({r['solve_s']:.0f} s)" if r.get("solve_s") else "–"
            name = "B'" if v == "B" else v
            tgt = f"{r['target']:,.2f}" if r.get("target") else "–"
            sz = r.get("target_sizing")
            sized = "–" if not sz else f"{sz['left_s']:.0f} → {sz['routes']}" + (
                f", 2nd {sz['second'].get('routes')}" if sz.get("second") else "") + (
                ", more closing" if sz.get("closing_more") else "")
            print(f"| {name}{count[v]} | {r['speed']} | {r['value']:,.2f} | {r['how']} "
                  f"| {100 * (plan / r['value'] - 1):.2f} % | {r['lagrangian']:,.2f} "
                  f"| {r['closing_s']:.0f} / {solves} | {r['closing_converged']} "
                  f"| {tgt} ({r.get('n_vars') or '–'}) "
                  f"| {sized} | {highs} "
                  f"| {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {r['load']} |")
        for v, vals in by.items():
            print(f"\n{v}: median {statistics.median(vals):,.2f}, spread "
                  f"{max(vals) - min(vals):.2f} over {len(vals)}", end="")
        print()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
