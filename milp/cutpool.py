r"""Restart from HiGHS's root cuts (docs/milp.md §Reductions, 6).

HiGHS 1.16 hands its LP's cut rows to a ``kCallbackMipGetCutPool`` callback once, right
after the root node's separation loop (``HighsMipSolverData::evaluateRootNode``). On the
model :func:`milp.solve.fixed_model` builds (presolve off, so the cuts are in its column
space: ``cutpool_num_col`` is checked against it) this module

1. runs HiGHS from the start until that callback, reads the cuts and interrupts
   (:func:`root_cuts`);
2. appends them to the model (:func:`with_cuts`) and solves that LP: its value is about
   HiGHS's root bound (20x20x20 s1: 436 instead of the plain LP's 404), so the reduced-cost
   fixing of §4 (:func:`milp.fixing.fix_from_duals`, certified by the duals it uses) works
   with the room ``U − L_cut`` instead of ``U − L`` (:func:`cut_fixing`);
3. maps the cuts onto the smaller model rebuilt over those caps (:func:`map_cuts`), for
   HiGHS to finish on.
4. optionally (:func:`probe_restart`, docs/milp.md §Reductions, 7) probes the collapsed
   model's configurations on its LP with only the cut rows tight at the cut LP's optimum
   (:mod:`milp.probing`, iteration-limited probes certified by their duals) and rebuilds
   it without what they drop.

Validity (§6): a cut of HiGHS's pool holds for every integer point of the model it was
given that lies in its global domain, and that domain is the column box tightened by
propagation, which includes HiGHS's own reduced-cost fixing against its incumbent (the
start, cost *U*); those tightenings exclude only plans that cost at least *U* minus a
tolerance. So every plan cheaper than *U* satisfies the cuts, the same condition under
which the fixing keeps a plan; the start's own configurations are kept explicitly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from hetserve.instances.solver_log import new_highs
from hetserve.milp.fixing import Fixing, fix_from_duals
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.highs_run import configure, run_checked, set_start
from hetserve.milp.index import Tightening, make_index
from hetserve.milp.probing import probe_configurations
from hetserve.milp.reductions import Reductions


@dataclass(frozen=True)
class CutRows:
    """Cut rows ``lo ≤ A v ≤ hi`` over a model's columns, and HiGHS's dual bound when it
    handed them over (``root_bound``)."""

    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    root_bound: float

    @property
    def n_cuts(self) -> int:
        return int(self.A.shape[0])


def read_cut_pool(out: Any, n_cols: int) -> CutRows | None:
    """The cut rows of a ``kCallbackMipGetCutPool`` callback's output (copied: HiGHS owns
    the arrays), or ``None`` when they are not over ``n_cols`` columns (presolve on)."""
    if int(out.cutpool_num_col) != n_cols:
        return None
    n_cut = int(out.cutpool_num_cut)
    starts = (np.asarray(out.cutpool_start, dtype=np.int64)[:n_cut + 1].copy() if n_cut
              else np.zeros(1, dtype=np.int64))
    nnz = int(starts[-1])
    A = sp.csr_matrix((np.asarray(out.cutpool_value, dtype=float)[:nnz].copy(),
                       np.asarray(out.cutpool_index, dtype=np.int64)[:nnz].copy(), starts),
                      shape=(n_cut, n_cols))
    return CutRows(A, np.asarray(out.cutpool_lower, dtype=float)[:n_cut].copy(),
                   np.asarray(out.cutpool_upper, dtype=float)[:n_cut].copy(),
                   float(out.mip_dual_bound))


def root_cuts(am: ArrayModel, start: np.ndarray | None, *, time_limit_s: float,
              threads: int, seed: int, mip_rel_gap: float,
              options: tuple[tuple[str, Any], ...] = ()
              ) -> tuple[CutRows | None, dict[str, Any]]:
    """Run HiGHS on ``am`` from ``start`` (column values) until the end of its root
    separation, read its cut rows and interrupt (for experiments; :func:`milp.solve.solve`
    does the same inside its own run). ``(None, stats)`` when the callback never ran (time
    limit before the end of the root) or the pool is not over ``am``'s columns."""
    t0, c0 = time.perf_counter(), time.process_time()
    h = new_highs()
    configure(h, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap, threads=threads,
              seed=seed, options=options)
    h.passModel(am.to_highs_lp())
    if start is not None:
        set_start(h, start)
    got: list[CutRows | None] = []

    def callback(kind: Any, _msg: str, out: Any, inp: Any, _data: Any) -> None:
        if kind == highspy.cb.HighsCallbackType.kCallbackMipGetCutPool:
            got.append(read_cut_pool(out, am.n_cols))
        elif kind == highspy.cb.HighsCallbackType.kCallbackMipInterrupt and got:
            inp.user_interrupt = True

    h.setCallback(callback, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipGetCutPool)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    run_checked(h)
    info = h.getInfo()
    stats = {"seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
             "status": h.modelStatusToString(h.getModelStatus()),
             "objective": (float(info.objective_function_value)
                           if info.primal_solution_status == highspy.kSolutionStatusFeasible
                           else None)}
    return (got[0] if got else None), stats


def with_cuts(am: ArrayModel, A: sp.spmatrix, lo: np.ndarray, hi: np.ndarray) -> ArrayModel:
    """``am`` with the rows ``lo ≤ A v ≤ hi`` appended as the row block ``cut``."""
    n = am.n_rows
    k = int(A.shape[0])
    blocks = dict(am.row_blocks)
    blocks["cut"] = slice(n, n + k)
    return replace(am, A=sp.vstack([am.A, sp.csr_matrix(A)]).tocsc(),
                   row_lo=np.concatenate([am.row_lo, lo]),
                   row_hi=np.concatenate([am.row_hi, hi]),
                   row_blocks=blocks,
                   row_keys=[*am.row_keys, ("cut", np.arange(k))])


def cut_fixing(am_cut: ArrayModel, upper: float, *, seed: int, time_limit_s: float
               ) -> tuple[Fixing | None, float, np.ndarray | None]:
    """The LP relaxation of ``am_cut`` (the model with the cut rows) and the fixing of §4
    from its duals with the known plan's cost ``upper``: ``(fixing, LP value, LP column
    values)``; the fixing is certified by :func:`milp.fixing.lagrangian_value` over
    ``am_cut`` whatever the simplex did (``None`` without duals)."""
    fix, value, col, _ = _cut_lp(am_cut, upper, seed=seed, time_limit_s=time_limit_s)
    return fix, value, col


def _cut_lp(am_cut: ArrayModel, upper: float, *, seed: int, time_limit_s: float
            ) -> tuple[Fixing | None, float, np.ndarray | None, np.ndarray | None]:
    """:func:`cut_fixing` and the LP's row duals."""
    t0 = time.perf_counter()
    h = new_highs()
    configure(h, time_limit_s=max(1e-3, time_limit_s), mip_rel_gap=0.0, threads=1, seed=seed,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(replace(am_cut, integer=np.zeros_like(am_cut.integer)).to_highs_lp())
    run_checked(h)
    sol = h.getSolution()
    if not sol.dual_valid:
        return None, math.nan, None, None
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = float(h.getInfo().objective_function_value) if optimal else math.nan
    col = np.asarray(sol.col_value)
    row_dual = np.asarray(sol.row_dual).copy()
    fix = fix_from_duals(am_cut, row_dual, upper, lp_value=value, started=t0,
                         method="cutpool", lp_w=col[am_cut.cols["w"]])
    return fix, value, col, row_dual


@dataclass(frozen=True, eq=False)
class Restart:
    """The model HiGHS restarts on (:func:`collapse`): ``am`` rebuilt over the caps of the
    cut LP's fixing, with the cuts mapped onto it as the row block ``cut``."""

    am: ArrayModel
    fixing: Fixing | None
    stats: dict[str, Any]
    base: ArrayModel | None = None
    """``am`` without the cut rows (``None`` without the cut LP's duals)."""
    cut_dual: np.ndarray | None = None
    """The cut LP's dual per cut row (the LP over the model before the collapse; its
    optimum is also optimal after it, the dropped columns being nonbasic at 0)."""
    caps: np.ndarray | None = None
    """The replica caps ``base`` was built over (per configuration of the instance)."""


def collapse(am: ArrayModel, cuts: CutRows, upper: float, keep_r: np.ndarray, *,
             tightening: Tightening, reductions: Reductions, seed: int,
             time_limit_s: float) -> Restart:
    """The fixed model ``am`` with HiGHS's root ``cuts``, collapsed by the fixing of §4
    from the duals of its LP with the cuts (:func:`cut_fixing`, room ``upper − L_cut``),
    rebuilt without the dropped configurations and with the cuts mapped onto it.
    ``keep_r``: the known plan's replicas per active configuration of ``am``; those
    configurations keep at least that cap (HiGHS's cuts may exclude plans of cost ≥ U
    minus its tolerance, the known plan among them; keeping more is always valid)."""
    t0, c0 = time.perf_counter(), time.process_time()
    idx = am.index
    am_cut = with_cuts(am, cuts.A, cuts.lo, cuts.hi)
    fix, value, _, row_dual = _cut_lp(am_cut, upper, seed=seed, time_limit_s=time_limit_s)
    cut_dual = None if row_dual is None else row_dual[am_cut.row_blocks["cut"]]
    stats: dict[str, Any] = {"cuts": cuts.n_cuts, "cut_nnz": int(cuts.A.nnz),
                             "root_bound": cuts.root_bound,
                             "lp_cut": value if math.isfinite(value) else None,
                             "cols_before": am.n_cols, "cfg_before": idx.n_cfg}
    if fix is None:
        stats.update(lp_s=time.perf_counter() - t0, dropped=0, lowered=0)
        return Restart(am_cut, None, stats)
    cap = np.maximum(fix.caps[idx.cfg], np.minimum(np.asarray(keep_r, dtype=float), idx.rbar))
    caps = np.zeros(len(idx.instance.routes))
    caps[idx.cfg] = cap
    stats.update(L_cut=fix.bound, dropped=int((cap < 1).sum()),
                 lowered=int(((cap < idx.rbar) & (cap >= 1)).sum()),
                 lp_s=time.perf_counter() - t0)
    if not (cap < idx.rbar).any():
        stats.update(cols_after=am.n_cols, seconds=time.perf_counter() - t0,
                     cpu_s=time.process_time() - c0)
        return Restart(am_cut, fix, stats, am, cut_dual, caps)
    new = build_arrays(idx.instance, tightening=tightening, index=make_index(
        idx.instance, tightening, reductions, upper, caps, reduced=idx.reduced))
    rows, lost = map_cuts(am, new, cuts.A)
    stats.update(cols_after=new.n_cols, cfg_after=new.index.n_cfg,
                 cut_terms_dropped=int(lost.sum()), seconds=time.perf_counter() - t0,
                 cpu_s=time.process_time() - c0)
    return Restart(with_cuts(new, rows, cuts.lo, cuts.hi), fix, stats, new, cut_dual, caps)


TIGHT_DUAL = 1e-9
"""A cut row is *tight* at the cut LP's optimum when its dual is above this in magnitude
(docs/milp.md §Reductions, 7)."""


def cut_block(am: ArrayModel) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The rows of ``am``'s ``cut`` block: ``(A, lo, hi)``."""
    rows = am.row_blocks["cut"]
    return (sp.csr_matrix(am.A)[rows], am.row_lo[rows], am.row_hi[rows])


def probe_restart(rs: Restart, upper: float, keep_r: np.ndarray, *, tightening: Tightening,
                  reductions: Reductions, seed: int, time_limit_s: float,
                  work: tuple[float, int] | None, iteration_limit: int,
                  rows: str = "all") -> Restart:
    """Probing (§5) on the collapsed model ``rs`` with only the cut rows tight at the cut
    LP's optimum (docs/milp.md §Reductions, 7): every configuration whose LP with
    ``w_c = 1`` forced is above ``upper`` is dropped, and the model rebuilt without them.
    ``keep_r``: the known plan's replicas per configuration of the instance (its own
    configurations are never probed). ``rows``: the cut rows the returned model keeps:
    ``"all"``, ``"tight"`` or ``"none"``. The probes' bounds are certified from their
    duals (:mod:`milp.probing`); a subset of the cuts is a relaxation of the cut model,
    so a bound from it is a bound there."""
    t0, c0 = time.perf_counter(), time.process_time()
    if rs.base is None or rs.cut_dual is None or rs.caps is None:
        return rs
    base = rs.base
    A, lo, hi = cut_block(rs.am)
    tight = np.abs(rs.cut_dual) > TIGHT_DUAL
    am_t = with_cuts(base, A[tight], lo[tight], hi[tight])
    idx = base.index
    keep = np.asarray(keep_r, dtype=float)[idx.cfg] > 0
    order = None if rs.fixing is None or rs.fixing.d_w is None else rs.fixing.d_w[idx.cfg]
    pr = probe_configurations(am_t, upper, keep=keep, order=order, time_limit_s=time_limit_s,
                              seed=seed, iteration_limit=iteration_limit, work=work)
    stats = dict(rs.stats)
    stats["cut_probing"] = {**pr.stats(), "tight_cuts": int(tight.sum()),
                            "tight_nnz": int(A[tight].nnz), "rows": rows}
    caps = np.minimum(rs.caps, pr.caps)
    new = base
    if pr.dropped + pr.dropped_rc:
        new = build_arrays(idx.instance, tightening=tightening, index=make_index(
            idx.instance, tightening, reductions, upper, caps, reduced=idx.reduced))
    sel = {"all": np.ones_like(tight), "tight": tight, "none": np.zeros_like(tight)}[rows]
    mapped, _ = map_cuts(base, new, A[sel])
    stats["cut_probing"].update(cols_after=new.n_cols, cfg_after=new.index.n_cfg,
                                seconds=time.perf_counter() - t0,
                                cpu_s=time.process_time() - c0)
    return Restart(with_cuts(new, mapped, lo[sel], hi[sel]), rs.fixing, stats, new,
                   rs.cut_dual[sel], caps)


def column_keys(am: ArrayModel) -> list[str]:
    """One key per column that names it independently of the model's index (the PuLP
    names: ``r_c``, ``w_c``, ``o_j``, ``u_i``, ``x_i_c``, ``z_i_c``)."""
    return am.col_names()


def map_cuts(old: ArrayModel, new: ArrayModel, A: sp.spmatrix
             ) -> tuple[sp.csr_matrix, np.ndarray]:
    """The cut rows ``A`` over ``old``'s columns re-indexed to ``new``'s. A term on a column
    ``new`` lacks is dropped: the configurations the fixing removed are at 0 in every plan
    the new model holds (§4), so the row is unchanged on them. Returns ``(rows, dropped
    nonzeros per row)``; ``new`` must be a restriction of ``old`` (its columns a subset)."""
    pos = {k: j for j, k in enumerate(column_keys(new))}
    old_to_new = np.array([pos.get(k, -1) for k in column_keys(old)], dtype=np.int64)
    C = sp.csr_matrix(A).tocoo()
    target = old_to_new[C.col]
    keep = target >= 0
    lost = np.bincount(C.row[~keep], minlength=C.shape[0])
    out = sp.csr_matrix((C.data[keep], (C.row[keep], target[keep])),
                        shape=(C.shape[0], new.n_cols))
    return out, lost


__all__ = ["TIGHT_DUAL", "CutRows", "Restart", "collapse", "column_keys", "cut_block",
           "cut_fixing", "map_cuts", "probe_restart", "read_cut_pool", "root_cuts",
           "with_cuts"]
