"""Link rows on demand, side by side (issue 13, round 12; docs/milp.md "Link rows on demand").

For each instance and repetition, `hetserve solve INSTANCE --method milp --threads 1
--time-limit 60` runs twice *at the same time*, one process per core: with
HETSERVE_MILP_LINK_ON_DEMAND=0 (every link row, the round-11 model) and =1 (the rows the root
LP needs). Same start (auto), same seed, same gap. Writes runs.jsonl (one line per run) and
summary.md (medians per instance, ratio on/off).

    python results/milp/exact-r12-lazylink/run.py --reps 2 [--only 12x12x12]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
INSTANCES = ([("paper-base", None)] + [("10x10x10", s) for s in range(3)]
             + [("12x12x12", s) for s in range(5)] + [("20x20x20", s) for s in range(5)])


def run_pair(path: str, limit: float) -> list[dict]:
    procs = {}
    for mode in ("0", "1"):
        env = dict(os.environ, HETSERVE_MILP_LINK_ON_DEMAND=mode)
        fd, out = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as sink:
            p = subprocess.Popen(["hetserve", "solve", path, "--method", "milp", "--threads",
                                  "1", "--time-limit", str(limit), "--seed", "0", "--json"],
                                 stdout=sink, stderr=subprocess.DEVNULL, env=env)
        procs[p.pid] = (mode, out, time.perf_counter())
    rows = []
    while procs:
        pid, status, usage = os.wait4(-1, 0)
        mode, out, t0 = procs.pop(pid)
        wall = time.perf_counter() - t0
        with open(out) as f:
            d = json.load(f)
        os.unlink(out)
        st = d["stats"]
        rows.append({"mode": "on" if mode == "1" else "off", "status": d["status"],
                     "objective": d["objective"], "bound": d["bound"], "gap": d["gap"],
                     "runtime_s": d["runtime_s"], "process_wall_s": wall,
                     "process_cpu_s": usage.ru_utime + usage.ru_stime,
                     "solve_s": st.get("solve_s"), "nodes": st.get("nodes"),
                     "n_rows": st.get("n_rows"), "root_bound": st.get("root_bound"),
                     "link_rows": st.get("link_rows"), "exit": status})
    return rows


@click.command()
@click.option("--reps", default=2, show_default=True)
@click.option("--limit", default=60.0, show_default=True)
@click.option("--only", default=None, help="Run only instances whose size contains this.")
def main(reps: int, limit: float, only: str | None) -> None:
    work = Path(tempfile.mkdtemp())
    todo = [(n, s) for n, s in INSTANCES if only is None or only in n]
    with open(HERE / "runs.jsonl", "a") as log:
        for rep in range(reps):
            for name, seed in todo:
                if seed is None:
                    path = name
                else:
                    path = str(work / f"{name}-s{seed}.json")
                    if not os.path.exists(path):
                        subprocess.run(["hetserve", "generate", "--size", name, "--seed", str(seed),
                                        "--out", path], check=True, capture_output=True)
                for row in run_pair(path, limit):
                    row.update(instance=name if seed is None else f"{name} s{seed}", rep=rep)
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                    print(row["instance"], rep, row["mode"], row["status"],
                          round(row["objective"], 3), round(row["gap"] or 0, 5),
                          round(row["runtime_s"], 2), round(row["process_cpu_s"], 2),
                          row["nodes"], row["n_rows"], flush=True)


if __name__ == "__main__":
    sys.exit(main())
