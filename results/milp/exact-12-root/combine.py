"""Combine the raw runs of run.sh into runs.csv, summary.md and meta.json (this folder)."""
import csv
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/milp/exact-12-root")
rows, metas = [], []
for d in sorted((out / "raw").iterdir(), key=lambda p: int(p.name.split("-")[0])):
    variant = d.name.rsplit("-", 1)[1]
    with open(d / "runs.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.append({"order": int(d.name.split("-")[0]), "variant": variant, **r})
    metas.append(json.loads((d / "meta.json").read_text()))
with open(out / "runs.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
lines = ["# Support MIP before HiGHS: on (new) vs off (old), alternated\n",
         "`milp` with `--starts auto --threads 2 --time-limit 60`; each run its own process, "
         "the order of new/old flipped per instance. CPU s = process time of start + model + "
         "HiGHS; wall under the load shown (2 shared cores).\n",
         "| instance | variant | status | objective | gap | CPU s | wall s | load |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    gap = "" if r["gap"] in ("", "None") else f"{100 * float(r['gap']):.2f} %"
    lines.append(f"| {r['spec']} | {r['variant']} | {r['status']} | {float(r['objective']):.4f} | "
                 f"{gap} | {float(r['cpu_s']):.2f} | {float(r['wall_s']):.2f} | "
                 f"{float(r['load']):.1f} |")
lines += ["", "| size | variant | proven | CPU s median (max) | wall s median (max) |",
          "|---|---|---|---|---|"]
for size in dict.fromkeys(r["size"] for r in rows):
    for v in ("old", "new"):
        sel = [r for r in rows if r["size"] == size and r["variant"] == v]
        cpu = [float(r["cpu_s"]) for r in sel]
        wall = [float(r["wall_s"]) for r in sel]
        lines.append(f"| {size} | {v} | {sum(r['status'] == 'optimal' for r in sel)}/{len(sel)} | "
                     f"{statistics.median(cpu):.2f} ({max(cpu):.2f}) | "
                     f"{statistics.median(wall):.2f} ({max(wall):.2f}) |")
(out / "summary.md").write_text("\n".join(lines) + "\n")
meta = {k: metas[0][k] for k in metas[0] if k not in ("date", "load_average_at_end")}
meta.update(first=metas[0]["date"], last=metas[-1]["date"],
            load_average_at_end=[m["load_average_at_end"] for m in metas],
            toggle="HETSERVE_MILP_SUPPORT_MIP=0 (old) / 1 (new)")
(out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
