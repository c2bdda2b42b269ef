import time, sys, resource
from hetserve.instances.generate import generate
from hetserve.heuristics import agh, AghParams
from hetserve.milp import MilpParams, solve
inst = generate((12,12,12), int(sys.argv[1]))
from hetserve.cli.methods import _agh, MethodSettings
start = _agh(inst, MethodSettings(seed=0, time_limit_s=60, threads=2), fleet_mip=False)
print("start", start.objective, flush=True)
for hs in [int(a) for a in sys.argv[2].split(",")]:
    for th in (1, 2):
        c0=time.process_time(); t=time.perf_counter()
        r = solve(inst, MilpParams(time_limit_s=60, threads=th), seed=hs, warm_start=start.solution)
        print(f"seed {hs} threads {th}: {r.status.value} {r.objective:.4f} wall {time.perf_counter()-t:.1f} cpu {time.process_time()-c0:.1f}", flush=True)
