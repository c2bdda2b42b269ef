"""Link rows on demand: the same start, HiGHS's seed varied (round 12).

`python results/milp/exact-r12-lazylink/seeds.py INSTANCE.json START.json SEEDS...`: for each
seed, `milp.solve` from the plan START.json runs with HETSERVE_MILP_LINK_ON_DEMAND=0 and =1
at the same time (one process per core, one thread each); one JSON line per run on stdout.
The seed reaches HiGHS (and the fixing's LPs), not the start, so the pairs differ only in
the model and in HiGHS's path through its tree.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
from hetserve.instances.io import read_instance
from hetserve.instances.solution import Solution
from hetserve.milp import MilpParams, solve
inst = read_instance(sys.argv[1])
with open(sys.argv[2]) as f:
    warm = Solution.from_dict(json.load(f))
c = time.process_time()
res = solve(inst, MilpParams(time_limit_s=float(sys.argv[4]), threads=1), seed=int(sys.argv[3]),
            warm_start=warm)
st = res.stats
print(json.dumps({"status": res.status.value, "objective": res.objective, "bound": res.bound,
                  "runtime_s": res.runtime_s, "cpu_s": time.process_time() - c,
                  "nodes": st["nodes"], "n_rows": st["n_rows"], "root_bound": st["root_bound"],
                  "link_rows": st["link_rows"]}))
"""


def main() -> None:
    inst, start, *seeds = sys.argv[1:]
    for seed in seeds:
        procs = []
        for mode in ("0", "1"):
            env = dict(os.environ, HETSERVE_MILP_LINK_ON_DEMAND=mode)
            procs.append((mode, subprocess.Popen(
                [sys.executable, "-c", CHILD, inst, start, seed, "120"], env=env,
                stdout=subprocess.PIPE, text=True)))
        for mode, p in procs:
            out, _ = p.communicate()
            row = json.loads(out)
            row.update(instance=os.path.basename(inst), seed=int(seed),
                       mode="on" if mode == "1" else "off")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
