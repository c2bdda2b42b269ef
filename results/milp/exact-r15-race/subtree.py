"""The subtree the round-15 probes here work on (shared by ``race.py``, ``third_flag.py``
and ``set_split.py``): the model ``milp.solve`` hands HiGHS (``explore.fixed_of``) with
``w = r = 0`` on the start's two costliest open configurations (:func:`milp.split.split_order`),
the link rows of :func:`milp.link_rows.select_link_rows` left out and HiGHS's cutoff at
the start's cost; :func:`solve_part` solves it with more bounds, one HiGHS thread.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

sys.path.insert(0, "results/milp/exact-r3-probe")
from explore import fixed_of

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import configure, use_threads
from hetserve.milp.link_rows import LinkSelection, select_link_rows
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector
from hetserve.milp.split import split_order


@dataclass(frozen=True)
class Subtree:
    am: ArrayModel
    upper: float
    """The start's cost: HiGHS's cutoff."""
    closed: tuple[int, int]
    """The start's two costliest open configurations (positions), closed here."""
    links: LinkSelection
    lb: np.ndarray
    ub: np.ndarray

    def fixed(self, closed: list[int] = (), opened: int | None = None  # type: ignore[assignment]
              ) -> tuple[np.ndarray, np.ndarray]:
        """Column bounds with ``closed`` at ``w = r = 0`` and ``opened`` at ``w = 1, r ≥ 1``."""
        w0, r0 = self.am.cols["w"].start, self.am.cols["r"].start
        lo, hi = self.lb.copy(), self.ub.copy()
        for k in closed:
            lo[w0 + k] = hi[w0 + k] = lo[r0 + k] = hi[r0 + k] = 0.0
        if opened is not None:
            lo[w0 + opened] = hi[w0 + opened] = 1.0
            lo[r0 + opened] = max(lo[r0 + opened], 1.0)
        return lo, hi

    def lp_w(self) -> np.ndarray:
        """``w`` of the subtree's LP relaxation."""
        lp = replace(self.am, lb=self.lb, ub=self.ub).to_highs_lp()
        lp.integrality_ = []
        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.passModel(lp)
        h.deleteRows(len(self.links.drop), self.links.drop)
        h.run()
        return np.asarray(h.getSolution().col_value)[self.am.cols["w"]]


def long_subtree(spec: str) -> Subtree:
    inst, _, fm = fixed_of(spec)
    am = fm.am
    start = _start_vector(am, inst, fm.warm_start)
    c1, c2 = split_order(am, start)[:2]
    links = select_link_rows(am, 0)
    assert links is not None
    sub = Subtree(am, float(am.cost @ start), (c1, c2), links, am.lb, am.ub)
    lb, ub = sub.fixed([c1, c2])
    use_threads(1)  # once, before the probes' threads start
    return replace(sub, lb=lb, ub=ub)


def solve_part(sub: Subtree, lo: np.ndarray, hi: np.ndarray, *, seed: int = 0,
               row: np.ndarray | None = None) -> dict:
    """HiGHS, one thread, on the subtree with bounds ``lo, hi`` (and ``Σ_{row} w ≥ 1`` on the
    given ``w`` columns): status, seconds, nodes, dual bound."""
    h = new_highs()
    configure(h, time_limit_s=300.0, mip_rel_gap=1e-4, threads=1, seed=seed,
              options=ROOT_SETTINGS, reset_pool=False)
    h.passModel(replace(sub.am, lb=lo, ub=hi).to_highs_lp())
    h.deleteRows(len(sub.links.drop), sub.links.drop)
    if row is not None:
        h.addRow(1.0, highspy.kHighsInf, len(row), row.astype(np.int32), np.ones(len(row)))
    h.setOptionValue("objective_bound", sub.upper)
    t0 = time.perf_counter()
    h.run()
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "seconds": round(time.perf_counter() - t0, 2),
            "nodes": int(h.getInfo().mip_node_count), "bound": h.getInfo().mip_dual_bound}
