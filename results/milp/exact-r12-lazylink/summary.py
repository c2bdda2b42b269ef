"""Tables of runs.jsonl (run.py) and seeds.jsonl (seeds.py): per instance, off vs on."""
from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name: str) -> list[dict]:
    path = HERE / name
    if not path.exists():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt_run(r: dict, key: str) -> str:
    t = r[key]
    proven = r["status"] == "optimal"
    return f"{t:.1f}" if proven else f"limit ({100 * (r.get('gap') or 0):.2f} %)"


def main() -> None:
    out = ["# Link rows on demand, side by side (round 12)", ""]
    runs = load("runs.jsonl")
    if runs:
        out += ["## `hetserve solve --method milp --threads 1 --time-limit 60`, auto start "
                "(run.py; off and on at the same time, one per core)", "",
                "| instance | rows off → on | off: s (each rep) | on: s (each rep) | "
                "median on/off | nodes off / on |", "|---|---|---|---|---|---|"]
        by = defaultdict(lambda: defaultdict(list))
        order: list[str] = []
        for r in runs:
            if r["instance"] not in order:
                order.append(r["instance"])
            by[r["instance"]][r["mode"]].append(r)
        ratios = []
        for inst in order:
            off, on = by[inst]["off"], by[inst]["on"]
            m_off = statistics.median(r["runtime_s"] for r in off)
            m_on = statistics.median(r["runtime_s"] for r in on)
            ratio = m_on / m_off
            ratios.append(ratio)
            out.append(f"| {inst} | {off[0]['n_rows']} → {on[0]['n_rows']} | "
                       f"{', '.join(fmt_run(r, 'runtime_s') for r in off)} | "
                       f"{', '.join(fmt_run(r, 'runtime_s') for r in on)} | {ratio:.2f} | "
                       f"{off[0]['nodes']} / {on[0]['nodes']} |")
        out += ["", f"Median of the per-instance ratios: {statistics.median(ratios):.2f} "
                f"(a limit counts as 60 s).", ""]
    seeds = load("seeds.jsonl")
    if seeds:
        out += ["## From a fixed start, HiGHS's seed varied (seeds.py; 120 s limit; CPU s)", "",
                "| instance | seed | off: CPU s, nodes | on: CPU s, nodes | on/off |",
                "|---|---:|---|---|---:|"]
        pairs = defaultdict(dict)
        for r in seeds:
            pairs[(r["instance"], r["seed"])][r["mode"]] = r
        per_inst = defaultdict(list)
        for (inst, seed), p in pairs.items():
            if len(p) < 2:
                continue
            off, on = p["off"], p["on"]

            def cell(r: dict) -> str:
                if r["status"] == "optimal":
                    return f"{r['cpu_s']:.1f}, {r['nodes']}"
                gap = (r["objective"] - r["bound"]) / r["objective"] * 100
                return f"limit, gap {gap:.2f} %, {r['nodes']}"
            ratio = on["cpu_s"] / off["cpu_s"]
            per_inst[inst].append(ratio)
            out.append(f"| {inst} | {seed} | {cell(off)} | {cell(on)} | {ratio:.2f} |")
        out += [""] + [f"- {inst}: median on/off {statistics.median(v):.2f} over {len(v)} seeds"
                       for inst, v in per_inst.items()] + [""]
    (HERE / "summary.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
