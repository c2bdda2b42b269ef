"""The sparse restricted master by simplex (warm, dual) vs interior point (no crossover).

    PYTHONPATH=. python results/milp/large-bound-3/ipm_probe.py 50x30x30 ipm sparse 150
    PYTHONPATH=. python results/milp/large-bound-3/ipm_probe.py 50x30x30 dual sparse 150

``lagrangian_bound`` (no incumbent, no polish) with the master solved one way or the
other (the IPM by patching ``RestrictedMaster.solve``, as ``ipm=True`` now does); prints
the bound and the per-round history (master value, best certified L, master CPU s).
Output of the run in ``ipm-vs-simplex-50x30x30-s0.txt`` (niced, load ≈ 5).
"""

from __future__ import annotations

import json
import sys
import time

import hetserve.milp.colgen as cg
from hetserve.instances.generate import generate
from hetserve.milp.bound import lagrangian_bound


def main() -> None:
    size, mode, shape, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    inst = generate(tuple(int(v) for v in size.split("x")), 0)  # type: ignore[arg-type]
    if mode == "ipm":
        orig = cg.RestrictedMaster.solve

        def solve(self, time_limit_s=None):  # type: ignore[no-untyped-def]
            self.h.setOptionValue("solver", "ipm")
            self.h.setOptionValue("run_crossover", "off")
            return orig(self, time_limit_s)

        cg.RestrictedMaster.solve = solve  # type: ignore[method-assign]
    t0, c0 = time.perf_counter(), time.process_time()
    b = lagrangian_bound(inst, iterations=0, time_limit_s=limit, full_cover=shape == "full")
    print(mode, shape, "bound", b.value, "wall", round(time.perf_counter() - t0, 1), "cpu",
          round(time.process_time() - c0, 1), b.stats["cg_rounds"], b.stats["cg_converged"],
          b.stats["master_lp"])
    keys = ("round", "s", "master", "best", "routes", "master_cpu_s", "simplex_iterations")
    for h in b.stats["cg_history"]:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                          for k, v in h.items() if k in keys}))


if __name__ == "__main__":
    main()
