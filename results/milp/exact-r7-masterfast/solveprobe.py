"""One master, several ways to re-solve it (issue 13, masterfast): a closing generation with
weighted covers (as ``fixed_model_bound`` runs it, U = AGH's plan cost) for ``--time`` s,
then its last restricted master re-solved from scratch by the interior point method with
each variant (tolerance; the cover rows whose dual is ~0 freed), recording CPU s, IPM
iterations, the master's value and L at the duals. One JSON line per solve.

    PYTHONPATH=. python results/milp/exact-r7-masterfast/solveprobe.py --time 200
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import numpy as np

from benchmarks.milp_large_bound import emit_row

HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "agh100-r4" / "plan-100x40x40-s0.npz"


def run_closing(seconds: float):  # type: ignore[no-untyped-def]
    """The closing generation with weighted covers at 100x40x40 s0, U = AGH's cached plan, as
    ``fixed_model_bound`` runs it for ``seconds`` (shared with ``solveprobe2.py``):
    ``(lagrangian_bound result, wall s, CPU s)``."""
    from hetserve.instances.evaluate import evaluate_arrays
    from hetserve.instances.generate import generate
    from hetserve.instances.solution import Solution
    from hetserve.milp import MilpParams
    from hetserve.milp.bound import lagrangian_bound
    from hetserve.milp.index import make_index

    inst = generate((100, 40, 40), 0)
    z = np.load(CACHE)
    x = np.zeros((len(inst.query_types), len(inst.routes)))
    x[z["xi"], z["xc"]] = z["xv"]
    plan = Solution.from_arrays(inst, z["r"], x)
    upper = float(evaluate_arrays(inst, *plan.to_arrays(inst)).objective)
    params = MilpParams(threads=1, time_limit_s=300, msg=False)
    _, x0 = plan.to_arrays(inst)
    ti, tc = np.nonzero(x0 > 0)
    t0, c0 = time.perf_counter(), time.process_time()
    idx = make_index(inst, params.tightening, params.reductions, upper)
    lb = lagrangian_bound(inst, upper_bound=upper, index=idx, iterations=0, keep_master=True,
                          seed=0, close=True, start_routes=(ti, tc), time_limit_s=seconds / 0.8,
                          wcover_rounds=10, wcover_per_row=2, wcover_gap=0.01)
    return lb, time.perf_counter() - t0, time.process_time() - c0


@click.command()
@click.option("--time", "seconds", type=float, default=200.0)
def main(seconds: float) -> None:
    from hetserve.milp.highs_model import INF

    lb, wall, cpu = run_closing(seconds)
    hist = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in h.items()}
            for h in lb.stats["cg_history"]]
    emit_row(phase="closing", value=lb.value, wall_s=wall, cpu_s=cpu, history=hist)
    m, lg = lb.master, lb.lagrangian
    assert m is not None and lg is not None
    h = m.h
    h.setOptionValue("time_limit", h.getRunTime() + 200.0)

    def once(name: str, **opts: object) -> np.ndarray:
        for k, v in opts.items():
            h.setOptionValue(k, v)
        c = time.process_time()
        w = time.perf_counter()
        out = m.solve(None)
        cpu, wall = time.process_time() - c, time.perf_counter() - w
        info = h.getInfo()
        lag = lg.evaluate(*out[1].multipliers)[0] if out else None
        omega = out[1].multipliers[7] if out else np.zeros(0)
        big = float(omega.max()) if len(omega) else 0.0
        emit_row(phase="solve", variant=name, cpu_s=cpu, wall_s=wall, status=m.status(),
                 ipm_iterations=int(info.ipm_iteration_count), master=out[0] if out else None,
                 lagrangian=lag, cover_rows=len(omega), omega_max=big,
                 idle={f"{t:g}": int((omega <= t * big).sum()) for t in (1e-9, 1e-6, 1e-4, 1e-2)},
                 n_rows=m.n_rows, n_cols=m.n_cols, routes=m.n_routes)
        return omega

    omega = once("base")
    once("tol1e-6", ipm_optimality_tolerance=1e-6)
    once("tol1e-5", ipm_optimality_tolerance=1e-5)
    h.setOptionValue("ipm_optimality_tolerance", 1e-8)
    big = float(omega.max())
    idle = np.nonzero(omega <= 1e-6 * big)[0]
    for r in m.cov_rows[idle].tolist():
        h.changeRowBounds(int(r), -INF, INF)
    emit_row(phase="freed", rows=len(idle), of=len(omega))
    once("freed-1e-6")
    once("freed-1e-6+tol1e-6", ipm_optimality_tolerance=1e-6)
    sys.exit(0)


if __name__ == "__main__":
    main()
