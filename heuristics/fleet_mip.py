r"""AGH's fleet-MIP neighbourhood: the whole plan re-optimised over a candidate set.

The local search (:mod:`heuristics.operators`, :mod:`heuristics.lp_moves`) changes one or
two configurations at a time. Some optima differ from AGH's plan by several at once
(docs/heuristics.md §9: "close one, open two", a replica more on a shared
configuration); no single move is improving on the way there. This neighbourhood
takes a small set S of configurations and solves the planning problem restricted to S
exactly, as a MIP, starting from the current plan (a large-neighbourhood search in the
spirit of RINS/"restricted master" heuristics):

.. math::

    \min\ \sum_{c\in S} \mathrm{rent}_c r_c + \sum_j \mathrm{store}_j o_j
         + \sum_{i,c} \mathrm{dcost}_{ic} x_{ic} + \sum_i \mathrm{unmet}_i u_i

    \sum_c x_{ic} + u_i = 1,\ 0 \le u_i \le \zeta_i;\quad
    \sum_i a_{ic} x_{ic} \le \rho_{\max} r_c;\quad
    \sum_c (e_{ic}-\varepsilon_i) x_{ic} \le 0\ [\sum_c (D_{ic}-\Delta_i) x_{ic} \le 0]

    x_{ic} \le w_c,\ w_c \le r_c \le \bar R_c w_c,\ w_c \le o_{j(c)};\quad
    \sum_c \mathrm{gpu\_use}_{cg} r_c \le N_g;\ \text{budget};\ \text{storage};
    \ \sum_{c \in d} w_c \le 1 \text{ (one (TP, PP) per deployment)}

with :math:`r_c` integer and :math:`w_c, o_j` binary (the same cost and constraints as
the evaluator's; usable routes only). S is the union of the configurations open in
every plan AGH built or improved, every (TP, PP) of the deployments open in the best
plan, each type's cheapest ways to be served alone (M1's cost, within and without its error SLO),
the best-scored closed configurations of the ``add`` move (dual prices of the elastic
fluid LP on the best plan's fleet, :func:`heuristics.lp_moves.add_scores`), and per open
configuration the closed ones that could take over all it serves most cheaply
(``redeploy``'s estimate, improving or not).

The *LP-guided* variant (``fleet_mip(..., lp_guided=True)``, :func:`lp_support`) takes
S instead from this model's own LP relaxation: solved on the uncapped candidate set,
grown by column generation (every configuration priced exactly with the LP's duals,
:func:`price_configs`), S = the configurations the LP opens plus the plan's: the MILP's
"support MIP" (docs/milp.md) built from this model alone (docs/heuristics.md §4).

The MIP's fleet is then routed and priced by the same exact LP as every fleet move
(:mod:`heuristics.lp_moves`) and kept only if strictly cheaper and no constraint is
violated more than now. HiGHS runs with one thread, no time limit and a node limit, so
the result depends on the instance and the seed only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from hetserve.heuristics.lp_moves import _candidates, _price, _try
from hetserve.heuristics.operators import _redeploy_targets
from hetserve.heuristics.state import PlanState
from hetserve.instances.solver_log import new_highs

_INF = highspy.kHighsInf
CAP_MARGIN = 1e-7
"""Relative margin on the capacity rows, as in :mod:`heuristics.routing_lp`."""
MIP_OPTIONS: tuple[tuple[str, bool | int | float], ...] = (
    ("threads", 1), ("mip_rel_gap", 1e-4), ("mip_heuristic_run_rins", False),
    ("mip_heuristic_run_rens", False), ("mip_allow_restart", False))
"""The MIP starts from the current plan, so HiGHS's RINS/RENS sub-MIPs and root restarts
(most of its time on these small models, measured on 6x6x10 s0) are off, as in the
exact solve's ``ROOT_SETTINGS`` (docs/milp.md)."""
CHEAPEST_WITHIN_SLO = 5
"""Per type, the configurations that serve it alone most cheaply within its error SLO."""
CHEAPEST_ANY = 3
"""Per type, the same regardless of the error SLO (blends)."""
MAX_SHARE_COLUMNS = 4000
"""|S| is capped at this many (type, configuration) pairs over the types (160 up to 25
types; 80 at 50x30x30, 40 at 100x40x40): HiGHS's root node on the full 160 at 50 types
(~7,300 share columns and as many linking rows) took 9 s of CPU for 8 nodes, and its
work is not bounded by anything but the node limit."""
MIN_SIZE = 24
"""The smallest |S| the cap leaves."""
REDEPLOY_TARGETS = 8
"""Per open configuration of the best plan, the configurations (one per deployment) that
could take over everything it serves most cheaply (``redeploy``'s estimate), improving or
not: a dearer host with a lower error (another GPU or precision of the same model) is what
lets a third configuration shrink (12x12x15 s3: 8.3 % → 0 %, docs/heuristics.md §4)."""


def candidate_set(state: PlanState, plans: list[PlanState], n_scored: int,
                  max_size: int, *, k_within: int = CHEAPEST_WITHIN_SLO,
                  k_any: int = CHEAPEST_ANY, k_takeover: int = REDEPLOY_TARGETS
                  ) -> np.ndarray:
    """The configurations S of the MIP (module docstring), at most ``max_size``: the
    open ones of ``plans`` first, then the best plan's deployments, then the scored and
    cheapest candidates in that order."""
    d = state.data
    order: list[int] = []
    seen: set[int] = set()

    def push(cs: np.ndarray | list[int]) -> None:
        for c in np.asarray(cs, dtype=np.int64).tolist():
            if c not in seen and len(order) < max_size:
                seen.add(c)
                order.append(c)

    push(np.nonzero(state.r > 0)[0])
    for p in plans:
        push(np.nonzero(p.r > 0)[0])
    for dep in np.unique(d.cfg_dep[state.r > 0]).tolist():
        push(d.dep_configs[dep])
    cfgs = np.nonzero(state.r > 0)[0]
    push(_candidates(state, cfgs, np.full(len(cfgs), np.inf), n_scored))
    push(redeploy_targets(state, k_takeover))
    # each type's cheapest ways to be served alone with whole replicas (M1's cost,
    # docs/heuristics.md §2), within its error SLO and regardless of it
    with np.errstate(invalid="ignore", over="ignore"):
        alone = np.where(d.usable & np.isfinite(d.a),
                         d.dcost + np.ceil(d.a / d.rho_max - 1e-9) * d.rent[None, :], np.inf)
    within = np.where(d.err_ex <= 0, alone, np.inf)
    for table, k in ((within, k_within), (alone, k_any)):
        best = np.argsort(table, axis=1, kind="stable")[:, :k]
        for i in range(d.n_types):
            push([int(c) for c in best[i] if np.isfinite(table[i, c])])
    return np.array(sorted(order), dtype=np.int64)


def redeploy_targets(state: PlanState, k: int) -> list[int]:
    """For each open configuration (in index order), :func:`takeover_targets`."""
    out: list[int] = []
    for c in np.nonzero(state.r > 0)[0].tolist():
        out += takeover_targets(state, c, k)
    return out


def takeover_targets(state: PlanState, c: int, k: int) -> list[int]:
    """The ``k`` closed configurations of distinct deployments to which moving all that
    ``c`` serves is estimated cheapest (:func:`heuristics.operators._redeploy_targets`;
    only targets that keep every rule), cheapest first."""
    res = _redeploy_targets(state, [c])
    if res is None:
        return []
    cost = np.where(res[1] & (state.r == 0), res[0], np.inf)
    order = np.argsort(cost, kind="stable")
    order = order[np.isfinite(cost[order])]
    _, first = np.unique(state.data.cfg_dep[order], return_index=True)
    return [int(t) for t in order[np.sort(first)][:k]]


@dataclass
class Rows:
    """Where the rows that :func:`price_configs` reads are in :func:`_model`'s LP."""

    models: np.ndarray  # the models with an o_j column, in column order
    demand: int = 0  # first demand row (one per type)
    excess: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (e or D excess, first row)
    gpu: dict[int, int] = field(default_factory=dict)  # GPU type → row
    budget: int = -1  # −1: no budget row
    dep: dict[int, int] = field(default_factory=dict)  # deployment → one-(TP, PP) row


def _model(state: PlanState, cfgs: np.ndarray, relax: bool
           ) -> tuple[highspy.HighsLp, dict[str, int], Rows]:
    """The fleet MIP on ``cfgs`` (module docstring) as a HiGHS model, or its LP relaxation
    (``relax``), and the first column of each block (``x u r w o``) with ``n_x``."""
    d = state.data
    n_s = len(cfgs)
    ii, kk = np.nonzero(d.usable[:, cfgs] & np.isfinite(d.a[:, cfgs]))
    cc = cfgs[kk]
    n_x, n_i = len(ii), d.n_types
    models = np.unique(d.cfg_model[cfgs])
    mpos = {int(j): k for k, j in enumerate(models)}
    n_o = len(models)
    # R̄_c: the replicas the whole demand it can carry needs, within its GPU type's limit
    demand = np.zeros(n_s)
    np.add.at(demand, kk, d.a[ii, cc])
    rbar = np.ceil(demand / d.rho_max + 1e-9)
    use = d.gpu_use[cfgs].astype(float)  # (S, G)
    with np.errstate(divide="ignore", invalid="ignore"):
        gcap = np.where(use > 0, np.floor(d.gpu_limit[None, :] / np.where(use > 0, use, 1.0)),
                        np.inf).min(axis=1)
    rbar = np.maximum(1.0, np.minimum(rbar, gcap))
    # columns: x (n_x) | u (n_i) | r (n_s) | w (n_s) | o (n_o)
    cx, cu, cr, cw, co = 0, n_x, n_x + n_i, n_x + n_i + n_s, n_x + n_i + 2 * n_s
    n_col = co + n_o
    cost = np.concatenate([d.dcost[ii, cc], d.unmet_cost, d.rent[cfgs], np.zeros(n_s),
                           d.store_cost[models]])
    lower = np.zeros(n_col)
    upper = np.concatenate([np.ones(n_x), np.minimum(d.zeta, 1.0), rbar, np.ones(n_s),
                            np.ones(n_o)])
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[float] = []
    up: list[float] = []
    nrow = 0

    def add_rows(r: np.ndarray, c: np.ndarray, v: np.ndarray, lo_: np.ndarray,
                 up_: np.ndarray) -> int:
        nonlocal nrow
        first = nrow
        rows.append(r + nrow)
        cols.append(c)
        vals.append(v)
        lo.extend(lo_.tolist())
        up.extend(up_.tolist())
        nrow += len(lo_)
        return first

    # demand: Σ_c x_ic + u_i = 1
    rowmap = Rows(models=models)
    rowmap.demand = add_rows(np.concatenate([ii, np.arange(n_i)]), np.concatenate([cx + np.arange(n_x),
             cu + np.arange(n_i)]), np.ones(n_x + n_i), np.ones(n_i), np.ones(n_i))
    # capacity: Σ_i a_ic x_ic − ρ r_c ≤ 0
    rho = d.rho_max * (1 - CAP_MARGIN)
    add_rows(np.concatenate([kk, np.arange(n_s)]), np.concatenate([cx + np.arange(n_x),
             cr + np.arange(n_s)]), np.concatenate([d.a[ii, cc], np.full(n_s, -rho)]),
             np.full(n_s, -_INF), np.zeros(n_s))
    # error (and mean delay): Σ_c ex_ic x_ic ≤ 0
    rowmap.excess = [
        (ex, add_rows(ii, cx + np.arange(n_x), ex[ii, cc], np.full(n_i, -_INF), np.zeros(n_i)))
        for ex in ((d.err_ex, d.dly_ex) if d.avg_delay else (d.err_ex,))]
    # x_ic ≤ w_c
    add_rows(np.concatenate([np.arange(n_x)] * 2), np.concatenate([cx + np.arange(n_x),
             cw + kk]), np.concatenate([np.ones(n_x), -np.ones(n_x)]),
             np.full(n_x, -_INF), np.zeros(n_x))
    # w_c ≤ r_c ≤ R̄_c w_c
    s = np.arange(n_s)
    add_rows(np.concatenate([s, s]), np.concatenate([cw + s, cr + s]),
             np.concatenate([np.ones(n_s), -np.ones(n_s)]), np.full(n_s, -_INF), np.zeros(n_s))
    add_rows(np.concatenate([s, s]), np.concatenate([cr + s, cw + s]),
             np.concatenate([np.ones(n_s), -rbar]), np.full(n_s, -_INF), np.zeros(n_s))
    # w_c ≤ o_j(c)
    oj = np.array([mpos[int(j)] for j in d.cfg_model[cfgs]], dtype=np.int64)
    add_rows(np.concatenate([s, s]), np.concatenate([cw + s, co + oj]),
             np.concatenate([np.ones(n_s), -np.ones(n_s)]), np.full(n_s, -_INF), np.zeros(n_s))
    # GPUs per type
    for g in np.nonzero(use.any(axis=0))[0].tolist():
        if np.isfinite(d.gpu_limit[g]):
            on = np.nonzero(use[:, g])[0]
            rowmap.gpu[g] = add_rows(
                np.zeros(len(on), dtype=np.int64), cr + on, use[on, g],
                     np.array([-_INF]), np.array([float(d.gpu_limit[g])]))
    if np.isfinite(d.budget):
        rowmap.budget = add_rows(np.zeros(n_s + n_o, dtype=np.int64), np.concatenate([cr + s, co +
                 np.arange(n_o)]), np.concatenate([d.rent[cfgs], d.store_cost[models]]),
                 np.array([-_INF]), np.array([d.budget * (1 - 1e-12)]))
    if np.isfinite(d.storage_cap):
        add_rows(np.zeros(n_o, dtype=np.int64), co + np.arange(n_o), d.model_gb[models],
                 np.array([-_INF]), np.array([d.storage_cap]))
    if not d.multi_parallelism:
        deps, dk = np.unique(d.cfg_dep[cfgs], return_inverse=True)
        first = add_rows(dk.astype(np.int64), cw + s, np.ones(n_s), np.full(len(deps), -_INF),
                         np.ones(len(deps)))
        rowmap.dep = {int(dep): first + k for k, dep in enumerate(deps.tolist())}
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, nrow
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
    lp.row_lower_, lp.row_upper_ = np.array(lo), np.array(up)
    from scipy.sparse import csc_matrix

    a = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(nrow, n_col))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kContinuous] * (n_x + n_i) \
            + [highspy.HighsVarType.kInteger] * (2 * n_s + n_o)
    return lp, {"x": cx, "u": cu, "r": cr, "w": cw, "o": co, "n_x": n_x}, rowmap


def _highs(seed: int) -> highspy.Highs:
    """One thread (HiGHS keeps one global pool per process, sized by the first run, so
    it is rebuilt here and again after each solve for the routing LPs), no time limit:
    the result depends on the model and the seed only."""
    highspy.Highs.resetGlobalScheduler(True)
    h = new_highs()
    for name, value in MIP_OPTIONS:
        h.setOptionValue(name, value)
    h.setOptionValue("random_seed", int(seed))
    return h


def solve_fleet_mip(state: PlanState, cfgs: np.ndarray, *, seed: int,
                    node_limit: int) -> tuple[np.ndarray | None, int]:
    """Replicas (length ``n_configs``) of the MIP's best fleet on ``cfgs``, started from
    the plan in ``state`` (whose open configurations must be in ``cfgs``), or ``None`` if
    HiGHS found no plan; and the work done (columns × (nodes + 1), for the meter)."""
    d = state.data
    lp, col, rows = _model(state, cfgs, relax=False)
    cx, cu, cr, cw, co, n_x = (col[k] for k in ("x", "u", "r", "w", "o", "n_x"))
    n_i, n_s, n_col = d.n_types, len(cfgs), lp.num_col_
    # the x columns in _model's order (its routes of cfgs), to place the plan's shares
    ii, kk = np.nonzero(d.usable[:, cfgs] & np.isfinite(d.a[:, cfgs]))
    cc = cfgs[kk]
    models = rows.models
    n_o = len(models)
    rbar = np.asarray(lp.col_upper_)[cr:cr + n_s]
    h = _highs(seed)
    h.setOptionValue("mip_max_nodes", int(node_limit))
    h.passModel(lp)
    # the current plan as the MIP start
    start = np.zeros(n_col)
    start[cx:cx + n_x] = state.x[ii, cc]
    start[cu:cu + n_i] = np.clip(1.0 - state.served, 0.0, None)
    on = np.array([state.r[c] > 0 for c in cfgs])
    start[cr:cr + n_s] = np.minimum(state.r[cfgs], rbar)
    start[cw:cw + n_s] = on
    start[co:co + n_o] = [float(state.model_count[j] > 0) for j in models]
    sol = highspy.HighsSolution()
    sol.col_value = start.tolist()
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    highspy.Highs.resetGlobalScheduler(True)
    work = n_col * (1 + int(h.getInfo().mip_node_count))
    if h.getInfo().primal_solution_status != highspy.kSolutionStatusFeasible:
        return None, work
    val = np.asarray(h.getSolution().col_value)
    r = np.zeros(d.n_configs, dtype=np.int64)
    r[cfgs] = np.round(val[cr:cr + n_s]).astype(np.int64)
    return r, work


def fleet_mip(state: PlanState, plans: list[PlanState], *, seed: int, n_scored: int = 40,
              max_size: int = 160, node_limit: int = 200,
              max_columns: int | None = None, lp_guided: bool = False) -> bool:
    """One fleet-MIP move on ``state`` (module docstring); returns whether it improved.
    Skipped under single placement (the routing LP cannot express it).

    ``lp_guided``: S is instead the support of the MIP's own LP relaxation
    (:func:`lp_support`, on the uncapped candidate set grown by column generation) plus
    the plan's open configurations, solved with :data:`LP_NODE_LIMIT` nodes."""
    if state.data.single_placement or not (state.r > 0).any():
        return False
    open_ = np.nonzero(state.r > 0)[0]
    if lp_guided:
        pool = candidate_set(state, plans, n_scored, state.data.n_configs)
        support, _, work = lp_support(state, pool, seed=seed)
        if state.meter is not None:
            state.meter.charge(work)
        cfgs = np.union1d(support, open_)
        if np.array_equal(cfgs, open_):
            return False  # nothing to choose from but the fleet itself
        node_limit = LP_NODE_LIMIT
    else:
        if max_columns is None:
            max_columns = MAX_SHARE_COLUMNS
        max_size = min(max_size, max(MIN_SIZE, max_columns // state.data.n_types))
        cfgs = candidate_set(state, plans, n_scored, max_size)
    r, work = solve_fleet_mip(state, cfgs, seed=seed, node_limit=node_limit)
    if state.meter is not None:
        state.meter.charge(work)
    if r is None or np.array_equal(r, state.r):
        return False
    return _try(state, r, _price(state, r))


def price_configs(state: PlanState, rows: Rows, y: np.ndarray,
                  o_dual: np.ndarray) -> np.ndarray:
    r"""Per configuration (length ``n_configs``), the least reduced cost of opening it in
    the LP relaxation whose row duals are ``y`` (HiGHS's signs: reduced cost = cost −
    column·y), with its capacity and link rows priced optimally: with
    :math:`\bar c_i = \mathrm{dcost}_{ic} - y^{dem}_i - \mathrm{ex}_{ic} y^{ex}_i` and
    :math:`R = \mathrm{rent}_c (1 - y^{budget}) - \sum_g \mathrm{use}_{cg} y^{gpu}_g`,

    .. math:: F - y^{dep}_{d(c)} + \min_{x \in [0,1]^I} R \max(1, \textstyle\sum_i a_{ic}
              x_i/\rho) + \sum_i \bar c_i x_i

    (one open replica, types filled by :math:`\bar c_i/a_{ic}`, more replicas while a
    type's saving per load beats :math:`R/\rho`; the classic pricing of a facility in
    column generation for facility location). Storage is not priced (a lower estimate
    for a new model). ``+inf`` where the configuration cannot be opened alone."""
    d = state.data
    cbar = d.dcost - y[rows.demand + np.arange(d.n_types)][:, None]
    for ex, first in rows.excess:
        cbar = cbar - ex * y[first + np.arange(d.n_types)][:, None]
    ok = d.usable & np.isfinite(d.a) & (cbar < 0)
    rent = d.rent.copy()
    if rows.budget >= 0:
        rent = rent * (1.0 - y[rows.budget])
    for g, row in rows.gpu.items():
        rent = rent - d.gpu_use[:, g] * y[row]
    # opening a configuration raises its model's o_j: a model the LP does not hold yet
    # costs its storage, one it holds the reduced cost of its o_j column (0 if o_j > 0)
    o_cost = d.store_cost.astype(float).copy()
    o_cost[rows.models] = np.maximum(0.0, o_dual)
    fixed = o_cost[d.cfg_model]
    for dep, row in rows.dep.items():
        fixed[d.dep_configs[dep]] -= y[row]
    rho = d.rho_max
    a = np.where(ok, d.a, np.inf)
    ratio = np.where(ok, cbar / np.where(ok, d.a, 1.0), np.inf)
    order = np.argsort(ratio, axis=0, kind="stable")
    a_s = np.take_along_axis(np.where(ok, a, 0.0), order, axis=0)
    v_s = np.take_along_axis(np.where(ok, cbar, 0.0), order, axis=0)
    load = np.cumsum(a_s, axis=0)
    val = np.cumsum(v_s, axis=0)
    # G(L) at L = ρ (the first replica, interpolated) and at every breakpoint beyond it
    prev_load = load - a_s
    prev_val = val - v_s
    inside = (prev_load < rho) & (a_s > 0)
    frac = np.where(inside, np.clip((rho - prev_load) / np.where(a_s > 0, a_s, 1.0), 0, 1), 0)
    g_rho = np.where(inside, prev_val + frac * v_s, np.inf).min(axis=0)
    g_rho = np.minimum(g_rho, 0.0)  # no type worth serving
    one = rent + g_rho
    beyond = np.where(load > rho, rent[None, :] * load / rho + val, np.inf).min(axis=0)
    best = np.minimum(one, beyond) + fixed
    feasible = np.all(d.gpu_use <= d.gpu_limit[None, :], axis=1) & ok.any(axis=0)
    return np.where(feasible, best, np.inf)


CG_ROUNDS = 8
"""Column-generation rounds of :func:`lp_support` (each re-solves the LP). At 100x40x40
s0 two rounds reach no negative reduced cost (LP 1,413.38 → 1,339.01)."""
CG_ADD = 40
"""Configurations added per round (the most negative reduced costs)."""
LP_NODE_LIMIT = 1000
"""Node limit of the LP-guided MIP: on the 27 configurations of 100x40x40 s0 HiGHS
stops at 200 nodes 1.9 % above the optimum on S (1,442.33; gap 2.9 %) and proves
1,414.78 optimal at 325."""


def lp_support(state: PlanState, pool: np.ndarray, *, seed: int, tol: float = 1e-6,
               rounds: int = CG_ROUNDS, add: int = CG_ADD
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """The configurations that the fleet MIP's LP relaxation opens (``r_c > tol``), on
    ``pool`` grown by column generation (:func:`price_configs`: up to ``add``
    configurations of negative reduced cost per round, ``rounds`` rounds); the grown
    pool; and the work done (per LP, columns × (1 + simplex iterations / rows), plus
    types × configurations per pricing, for the meter)."""
    work = 0
    pool = np.unique(pool)
    for k in range(rounds + 1):
        lp, col, rows = _model(state, pool, relax=True)
        h = _highs(seed)
        h.setOptionValue("solver", "simplex")
        h.passModel(lp)
        h.run()
        highspy.Highs.resetGlobalScheduler(True)
        info = h.getInfo()
        work += lp.num_col_ * (1 + int(info.simplex_iteration_count) // max(1, lp.num_row_))
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return np.zeros(0, dtype=np.int64), pool, work
        val = np.asarray(h.getSolution().col_value)
        r = val[col["r"]:col["r"] + len(pool)]
        if k == rounds:
            break
        sol = h.getSolution()
        n_o = len(rows.models)
        red = price_configs(state, rows, np.asarray(sol.row_dual),
                            np.asarray(sol.col_dual)[col["o"]:col["o"] + n_o])
        red[pool] = np.inf
        work += int(state.data.usable.size)
        tol_obj = 1e-6 * max(1.0, abs(float(info.objective_function_value)))
        neg = np.nonzero(red < -tol_obj)[0]
        if not len(neg):
            break
        new = neg[np.lexsort((neg, red[neg]))][:add]
        pool = np.union1d(pool, new)
    return pool[r > tol], pool, work
