"""Run an :class:`~hetserve.milp.highs_model.ArrayModel` with HiGHS (highspy).

The one place that configures and runs HiGHS on the array model: the MILP solve
(:mod:`hetserve.milp.solve`), the LP relaxation and the diagnosis
(:mod:`hetserve.milp.diagnose`) and the LPR baseline all come through here, so they use
the same options (seed, threads, time limit) and read statuses the same way. It imports
no PuLP and nothing that imports the diagnosis, so ``solve`` → ``diagnose`` → this
module has no cycle.
"""

from __future__ import annotations

import math
from typing import Any

import highspy
import numpy as np

from hetserve.instances.model import Instance
from hetserve.instances.solver_log import QUIET, SolverLog, new_highs
from hetserve.instances.solver_log import configure as configure_log
from hetserve.instances.solver_log import run as run_highs
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.index import Tightening


def use_threads(threads: int) -> None:
    """HiGHS keeps one global thread pool per process and refuses a run whose ``threads``
    option differs from the pool's size. Other code in the process (the heuristics' LPs)
    may have created it with another size, so rebuild it before every solve (cheap)."""
    del threads
    highspy.Highs.resetGlobalScheduler(True)


def run_checked(h: highspy.Highs) -> None:
    """``h.run()``, raising instead of reporting a silent ``no_solution`` on a HiGHS error."""
    if run_highs(h) == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS failed: {h.modelStatusToString(h.getModelStatus())}")


def set_start(h: highspy.Highs, values: Any) -> None:
    """Hand HiGHS a MIP start: the value of every column, in the model's column order."""
    sol = highspy.HighsSolution()
    sol.col_value = [float(v) for v in values]
    sol.value_valid = True
    h.setSolution(sol)


def configure(h: highspy.Highs, *, time_limit_s: float, mip_rel_gap: float, threads: int,
              seed: int, log: SolverLog = QUIET,
              options: tuple[tuple[str, Any], ...] = (), reset_pool: bool = True) -> None:
    """Set the options every hetserve HiGHS run shares (one seed, passed explicitly; the
    log only where ``log`` says, never on standard output). ``reset_pool=False`` leaves
    HiGHS's global thread pool alone: for runs started while another HiGHS is running in
    the process (:mod:`milp.split`), whose caller sized the pool once, before both."""
    if reset_pool:
        use_threads(int(threads))
    configure_log(h, log)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", int(threads))
    h.setOptionValue("random_seed", int(seed))
    for name, value in options:
        h.setOptionValue(name, value)


def run_array_model(am: ArrayModel, *, threads: int = 2, time_limit_s: float = 60.0,
                    objective: str = "cost", drop: tuple[str, ...] = (), seed: int = 0,
                    mip_rel_gap: float = 1e-4
                    ) -> tuple[str, float, np.ndarray | None, ArrayModel]:
    """Solve ``am`` (an LP or a MILP). Returns ``(HiGHS status string, objective, column
    values or None, am)``. ``objective="spend"`` minimises rental + storage only;
    ``drop`` frees the named row blocks (e.g. ``("budget",)``)."""
    lp = am.to_highs_lp()
    if objective == "spend":
        cost = np.zeros(am.n_cols)
        cost[am.cols["r"]] = am.cost[am.cols["r"]]
        cost[am.cols["o"]] = am.cost[am.cols["o"]]
        lp.col_cost_ = cost
    if drop:
        lo, hi = am.row_lo.copy(), am.row_hi.copy()
        for name in drop:
            if name in am.row_blocks:
                lo[am.row_blocks[name]] = -highspy.kHighsInf
                hi[am.row_blocks[name]] = highspy.kHighsInf
        lp.row_lower_ = lo
        lp.row_upper_ = hi
    h = new_highs()
    configure(h, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads,
              seed=seed)
    h.passModel(lp)
    run_checked(h)
    name = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        return name, float(info.objective_function_value), np.asarray(h.getSolution().col_value), am
    return name, math.inf, None, am


def solve_relaxation(instance: Instance, *, tightening: Tightening | None = None,
                     threads: int = 2, time_limit_s: float = 60.0,
                     objective: str = "cost", drop: tuple[str, ...] = ()
                     ) -> tuple[str, float, np.ndarray | None, ArrayModel]:
    """Solve the LP relaxation. Returns ``(HiGHS status string, objective, column values, model)``.

    ``objective="spend"`` minimises rental + storage instead of the total cost (used by
    the diagnosis); ``drop`` removes row blocks (e.g. ``("budget",)``) before solving.
    """
    am = build_arrays(instance, lp_relaxation=True, tightening=tightening)
    return run_array_model(am, threads=threads, time_limit_s=time_limit_s,
                           objective=objective, drop=drop)


__all__ = ["configure", "run_array_model", "run_checked", "solve_relaxation", "use_threads"]
