r"""Facility-location link rows on demand (docs/milp.md "Link rows on demand").

The link rows :math:`x_{ic} \le v_{ic} w_c` ([link_ic], :mod:`milp.formulation`) are valid
inequalities, not part of what makes the model exact: on an integer point, a route with
traffic (:math:`a_{ic} x_{ic} > 0`) needs capacity ([cap_c]: :math:`r_c > 0`), and
[ub_c] :math:`r_c \le \bar R_c w_c` then forces :math:`w_c = 1`. So the MILP without any
of them has the same integer points and the same optimum; the rows only lift the LP.
There is one per usable route (about 4k of the 6k rows of a fixed 12x12x12 model, 17.5k
of 21.8k at 20x20x20), and at the root LP's optimum nearly all are slack or hold as
:math:`0 \le 0` on configurations the LP keeps closed.

:func:`select_link_rows` keeps the ones the LP needs, by a cutting-plane loop on the LP
relaxation:

1. solve the LP without link rows;
2. add every link row the point violates (:math:`x_{ic} > v_{ic} w_c`); repeat until none
   is violated.

The final point satisfies every link row and is optimal for a relaxation of the full LP,
so it is optimal for the full LP: **the root LP value is unchanged**. Kept are the rows the
loop added and the link rows tight at the final point on configurations it opens
(:math:`w_c > 0`), the LP's facility rows that HiGHS's cuts and branching work with.
(Every route has load :math:`a_{ic} = \lambda_i/\mu_{ic} > 0`: query types validate
:math:`\lambda_i > 0`, which is what ties each :math:`x_{ic}` to [cap_c].)

Measured (docs/milp.md "Link rows on demand", ``results/milp/exact-r12-lazylink/``): HiGHS
works on 15–40 % of the rows; its LPs are cheaper and it explores more nodes per second.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.instances.solver_log import run as run_highs
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import use_threads

VIOLATION_TOL = 1e-7
"""A link row counts as violated above this (HiGHS's primal feasibility tolerance is 1e-7)."""

MAX_ROUNDS = 500
"""Safety net on the loop's LP solves (12x12x12 needs 50–100, 20x20x20 60–85); at the cap,
as at the time limit, there is no selection and HiGHS gets every row."""


@dataclass(frozen=True)
class LinkSelection:
    """Which link rows of an :class:`ArrayModel` HiGHS gets."""

    drop: np.ndarray
    """Row indices of ``am`` (all in its ``link`` block) left out of the model."""
    kept: int
    """Link rows kept."""
    total: int
    """Link rows of the model."""
    lp_value: float
    """The root LP value reached by the loop (the full LP's)."""
    rounds: int
    seconds: float

    def stats(self) -> dict[str, float | int]:
        return {"kept": self.kept, "total": self.total, "lp_value": self.lp_value,
                "rounds": self.rounds, "seconds": self.seconds}


def select_link_rows(am: ArrayModel, seed: int = 0, time_limit_s: float = math.inf, *,
                     reset_pool: bool = True) -> LinkSelection | None:
    """The link rows of ``am`` its LP relaxation needs (module docstring); None (HiGHS then
    gets every row) when the model has no link block, its LP has no optimum, or the loop
    does not end within ``time_limit_s`` (wall) or :data:`MAX_ROUNDS` LP solves.
    ``reset_pool=False``: HiGHS's global thread pool already has one thread (inside
    :func:`milp.split.solve_split`, where other HiGHS runs use it at the same time)."""
    if "link" not in am.row_blocks:
        return None
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    block = am.row_blocks["link"]
    link = np.arange(block.start, block.stop)
    idx = am.index
    L = am.A.tocsr()[link]  # link row k <-> route k (milp.highs_model.build_arrays)
    lp = am.to_highs_lp()
    lp.integrality_ = []  # the LP relaxation
    if reset_pool:
        use_threads(1)  # HiGHS refuses a thread count other than its global pool's
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", int(seed))
    h.passModel(lp)
    h.deleteRows(len(link), link.astype(np.int32))
    added = np.zeros(len(link), dtype=bool)
    rounds = 0
    x: np.ndarray = np.zeros(am.n_cols)
    while True:
        rounds += 1
        left = deadline - time.perf_counter()
        if left <= 0 or rounds > MAX_ROUNDS:
            return None
        if math.isfinite(left):
            h.setOptionValue("time_limit", h.getRunTime() + left)
        # an infeasible or inconsistent model (HiGHS may refuse it with an error) keeps
        # every row: the solve then reports it as the full model would
        if (run_highs(h) == highspy.HighsStatus.kError
                or h.getModelStatus() != highspy.HighsModelStatus.kOptimal):
            return None
        x = np.asarray(h.getSolution().col_value)
        violated = np.flatnonzero((L @ x > VIOLATION_TOL) & ~added)
        if not len(violated):
            break
        added[violated] = True
        rows = L[violated].tocsr()
        h.addRows(len(violated), am.row_lo[link[violated]], am.row_hi[link[violated]],
                  rows.nnz, rows.indptr[:-1].astype(np.int32),
                  rows.indices.astype(np.int32), rows.data)
    w = x[am.cols["w"]]
    # (keeping every link row of the open configurations instead, 12x12x12 s0/s3: 215/21
    # nodes against 180/9, no faster; docs/milp.md "Link rows on demand")
    tight = (L @ x > -VIOLATION_TOL) & (w[idx.rk] > 1e-9)
    keep = added | tight
    return LinkSelection(drop=link[~keep].astype(np.int32), kept=int(keep.sum()),
                         total=len(link), lp_value=float(h.getInfo().objective_function_value),
                         rounds=rounds, seconds=time.perf_counter() - t0)


def drop_rows(h: highspy.Highs, selection: LinkSelection | None) -> None:
    """Delete the selection's rows from the model loaded in ``h`` (nothing for None)."""
    if selection is not None and len(selection.drop):
        h.deleteRows(len(selection.drop), selection.drop)


__all__ = ["LinkSelection", "drop_rows", "select_link_rows"]
