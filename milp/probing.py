r"""Probing fixing on configurations (docs/milp.md §Reductions, 5).

On the model :func:`milp.solve.solve` hands HiGHS (after the reductions, the reduced-cost
fixing and the support MIP), with a known plan of cost *U*: for a configuration *c* the
plan does not open, solve the LP relaxation with :math:`w_c = 1` forced. Every plan that
opens *c* is a point of that LP, so it costs at least its value; where that exceeds *U*,
no plan with *c* open beats the known one, and *c* is dropped (its ``r``, ``w`` and
routes). It is reduced-cost fixing done exactly: :math:`L + d_{w_c}` (§4) is a lower
estimate of the same LP value from the root duals alone, this re-optimises.

Why it can lift the bound and not only shrink the model: the fixed model's LP is a
fractional *uncapacitated* facility location (20x20x20 s1: 12 configurations open at
:math:`w \approx 0.2`, docs/milp.md "What the fixed LP looks like"). A configuration the
LP opens a fifth of may cost more than *U* when opened whole; dropping it removes a piece
of the fractional point, so the LP (and HiGHS's root) starts higher.

Each probe's value is **certified from its own duals**, as the fixing is: the probe's row
multipliers *y* (signs clipped) give :math:`L_c(y) = \sum_r y_r b_r + \sum_j \min(d_j
l'_j, d_j u'_j)` over the probe's box (:math:`l'_{w_c} = 1`, dropped configurations at
0), a lower bound by weak duality whatever the simplex did (:func:`milp.fixing.lagrangian_value`).
So an iteration-limited probe is still sound (dual simplex keeps its duals feasible; it
is only weaker), and the drop does not rest on the LP solver's tolerances.

Probes run in one persistent HiGHS LP: change *c*'s column bounds, re-solve from the
previous basis (bound changes keep it dual feasible, so dual simplex hot-starts), restore.
Dropped configurations stay at 0 for the later probes (the model without them still
holds every plan of cost ≤ *U*, so those probes stay valid and get stronger). The order
is by the root LP's reduced cost :math:`d_{w_c}`, largest first: the ones the cheap rule
came closest to dropping.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.milp.fixing import REL_EPS, lagrangian_value
from hetserve.milp.highs_model import ArrayModel
from hetserve.milp.highs_run import configure, run_checked

PROBE_ITERATION_LIMIT = 2000
"""Simplex iterations per probe; a probe stopped there is still a valid (weaker) bound."""


@dataclass(frozen=True)
class Probing:
    """What :func:`probe_configurations` found.

    ``caps``: one value per configuration of ``instance.routes`` (0 = dropped, ``inf``
    otherwise), to be combined with the fixing's caps by ``min``. ``lp_value``: the root
    LP of the probed model, ``lp_after``: the same LP without the dropped configurations
    (the last probe's basis, re-solved). ``probed``: LPs solved; ``dropped``: by a probe,
    ``dropped_rc``: by the root LP's own reduced costs before any probe.
    """

    caps: np.ndarray
    dropped: int
    dropped_rc: int
    probed: int
    candidates: int
    lp_value: float
    lp_after: float
    seconds: float
    iterations: int
    stopped: str
    dropped_support: int = 0
    """Dropped configurations the root LP opened (``w_c > 0``): these move the LP."""

    def stats(self) -> dict[str, float | int | str | None]:
        """The numbers ``solve`` reports in ``stats["probing"]`` (an LP value that was not
        computed is ``None``, so ``hetserve solve --json`` stays strict JSON)."""
        def finite(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {"dropped": self.dropped, "dropped_rc": self.dropped_rc,
                "dropped_support": self.dropped_support, "probed": self.probed,
                "candidates": self.candidates, "lp_value": finite(self.lp_value),
                "lp_after": finite(self.lp_after), "seconds": self.seconds,
                "iterations": self.iterations, "stopped": self.stopped}


def _limit(upper: float) -> float:
    # the same relative slack as the reduced-cost fixing (milp.fixing._room): a plan of
    # cost exactly U (the known one) is never cut off by floating-point noise
    return upper * (1 + REL_EPS) + REL_EPS


def probe_configurations(am: ArrayModel, upper: float, *, keep: np.ndarray | None = None,
                         order: np.ndarray | None = None, time_limit_s: float = 5.0,
                         seed: int = 0, iteration_limit: int = PROBE_ITERATION_LIMIT,
                         work: tuple[float, int] | None = None) -> Probing:
    """Drop every configuration of ``am`` whose LP with ``w_c = 1`` forced is above
    ``upper`` (module docstring), probing until ``time_limit_s`` (wall) is spent.

    ``keep``: a mask over ``am``'s active configurations never to probe (the known plan's
    own: its LP with ``w_c = 1`` is at most ``upper``). ``order``: a score per active
    configuration, probed largest first (default: the root LP's ``d_w``, which is 0 on
    most configurations of these degenerate LPs; ``solve`` passes the fixing's ``d_w``).
    ``work = (k, floor)``: stop once the simplex iterations of all probes exceed
    ``max(floor, k × the root LP's)`` (a deterministic budget; the wall-clock limit is only
    a safety net, since a model that depends on the machine's load is not reproducible)."""
    t0 = time.perf_counter()
    idx = am.index
    n_cfg = idx.n_cfg
    caps = np.full(len(idx.instance.routes), np.inf)
    keep = np.zeros(n_cfg, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    limit = _limit(upper)
    col_w = np.arange(am.cols["w"].start, am.cols["w"].stop)
    col_r = np.arange(am.cols["r"].start, am.cols["r"].stop)

    h = new_highs()
    configure(h, time_limit_s=max(1e-3, time_limit_s), mip_rel_gap=0.0, threads=1, seed=seed,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
    run_checked(h)
    empty = Probing(caps, 0, 0, 0, 0, math.nan, math.nan, time.perf_counter() - t0, 0, "no LP")
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return empty
    sol = h.getSolution()
    lp_value = float(h.getInfo().objective_function_value)
    iterations = int(h.getInfo().simplex_iteration_count)
    w_lp = np.asarray(sol.col_value)[col_w]
    lb, ub = am.lb.copy(), am.ub.copy()
    base, d = lagrangian_value(am, np.asarray(sol.row_dual))
    d_w = d[col_w]

    dropped = np.zeros(n_cfg, dtype=bool)
    # the root duals alone: L + d_w > U drops c with no probe (as §4, on this model's LP)
    dropped[(base + np.maximum(d_w, 0.0) > limit) & ~keep] = True
    dropped_rc = int(dropped.sum())
    cand = np.nonzero(~keep & ~dropped)[0]
    score = d_w if order is None else np.asarray(order, dtype=float)
    cand = cand[np.argsort(-np.nan_to_num(score[cand], nan=-np.inf), kind="stable")]
    for k in np.nonzero(dropped)[0]:
        _close(h, lb, ub, col_w[k], col_r[k])

    h.setOptionValue("simplex_iteration_limit", int(iteration_limit))
    budget = math.inf if work is None else max(work[1], work[0] * iterations)
    root_iterations = iterations
    probed, stopped = 0, "done"
    for k in cand:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            stopped = "time"
            break
        if iterations - root_iterations >= budget:
            stopped = "work"
            break
        # HiGHS's time limit counts the object's run time over all its runs
        h.setOptionValue("time_limit", float(h.getRunTime() + left))
        cw = int(col_w[k])
        lb[cw] = 1.0
        h.changeColBounds(cw, 1.0, float(ub[cw]))
        run_checked(h)
        probed += 1
        iterations += int(h.getInfo().simplex_iteration_count)
        status = h.getModelStatus()
        s = h.getSolution()
        value = -math.inf
        if s.dual_valid and status != highspy.HighsModelStatus.kInfeasible:
            value, _ = lagrangian_value(replace(am, lb=lb, ub=ub), np.asarray(s.row_dual))
        lb[cw] = 0.0
        if value > limit:
            dropped[k] = True
            _close(h, lb, ub, cw, int(col_r[k]))
        else:
            h.changeColBounds(cw, 0.0, float(ub[cw]))
    lp_after = math.nan
    if probed or dropped_rc:
        h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
        h.setOptionValue("time_limit", float(h.getRunTime()) + max(
            1e-3, time_limit_s - (time.perf_counter() - t0)))
        run_checked(h)
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            lp_after = float(h.getInfo().objective_function_value)
    caps[idx.cfg[dropped]] = 0.0
    return Probing(caps, int(dropped.sum()) - dropped_rc, dropped_rc, probed, len(cand),
                   lp_value, lp_after, time.perf_counter() - t0, iterations, stopped,
                   int((dropped & (w_lp > 1e-6)).sum()))


def _close(h: highspy.Highs, lb: np.ndarray, ub: np.ndarray, cw: int, cr: int) -> None:
    """Fix configuration (w column ``cw``, r column ``cr``) at 0 in ``h`` and the box."""
    for col in (cw, cr):
        lb[col] = ub[col] = 0.0
        h.changeColBounds(int(col), 0.0, 0.0)


__all__ = ["PROBE_ITERATION_LIMIT", "Probing", "probe_configurations"]
