"""Round 16 probe: AGH with and without its fleet MIP as the 20x20x20 start — time and cost.

``PYTHONPATH=. python results/milp/exact-r16-probe/starts.py SPECS`` prints one JSON line per
(spec, start), the two alternated.
"""
from __future__ import annotations

import json
import sys
import time

from benchmarks.milp_starts import build
from hetserve.cli.methods import MethodSettings, _agh

for spec in sys.argv[1].split(","):
    inst = build(spec)
    for fleet in (True, False):
        t0 = time.perf_counter()
        r = _agh(inst, MethodSettings(), fleet_mip=fleet)
        print(json.dumps({"spec": spec, "fleet_mip": fleet, "objective": round(r.objective, 4),
                          "runtime_s": round(r.runtime_s, 2),
                          "wall_s": round(time.perf_counter() - t0, 2)}), flush=True)
