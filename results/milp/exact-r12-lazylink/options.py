"""One HiGHS option against the defaults, from a fixed start (round 12).

`python results/milp/exact-r12-lazylink/options.py INSTANCE.json START.json NAME VALUE SEEDS...`:
per seed, `milp.solve` with the defaults and with `highs_options=((NAME, VALUE),)` at the same
time (one process per core, one thread each, 120 s); one JSON line per run on stdout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import ast, json, sys, time
from hetserve.instances.io import read_instance
from hetserve.instances.solution import Solution
from hetserve.milp import MilpParams, solve
inst = read_instance(sys.argv[1])
with open(sys.argv[2]) as f:
    warm = Solution.from_dict(json.load(f))
opts = () if sys.argv[4] == "-" else ((sys.argv[4], ast.literal_eval(sys.argv[5])),)
c = time.process_time()
res = solve(inst, MilpParams(time_limit_s=120.0, threads=1, highs_options=opts),
            seed=int(sys.argv[3]), warm_start=warm)
st = res.stats
print(json.dumps({"status": res.status.value, "objective": res.objective, "bound": res.bound,
                  "runtime_s": res.runtime_s, "cpu_s": time.process_time() - c,
                  "nodes": st["nodes"], "root_bound": st["root_bound"]}))
"""


def main() -> None:
    inst, start, name, value, *seeds = sys.argv[1:]
    for seed in seeds:
        procs = []
        for variant, (n, v) in (("default", ("-", "-")), (f"{name}={value}", (name, value))):
            procs.append((variant, subprocess.Popen(
                [sys.executable, "-c", CHILD, inst, start, seed, n, v],
                stdout=subprocess.PIPE, text=True)))
        for variant, p in procs:
            out, _ = p.communicate()
            row = json.loads(out)
            row.update(instance=os.path.basename(inst), seed=int(seed), variant=variant)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
