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

The MIP's fleet is then routed and priced by the same exact LP as every fleet move
(:mod:`heuristics.lp_moves`) and kept only if strictly cheaper and no constraint is
violated more than now. HiGHS runs with one thread, no time limit and a node limit, so
the result depends on the instance and the seed only.
"""

from __future__ import annotations

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
                  max_size: int) -> np.ndarray:
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
    push(redeploy_targets(state, REDEPLOY_TARGETS))
    # each type's cheapest ways to be served alone with whole replicas (M1's cost,
    # docs/heuristics.md §2), within its error SLO and regardless of it
    with np.errstate(invalid="ignore", over="ignore"):
        alone = np.where(d.usable & np.isfinite(d.a),
                         d.dcost + np.ceil(d.a / d.rho_max - 1e-9) * d.rent[None, :], np.inf)
    within = np.where(d.err_ex <= 0, alone, np.inf)
    for table, k in ((within, CHEAPEST_WITHIN_SLO), (alone, CHEAPEST_ANY)):
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


def solve_fleet_mip(state: PlanState, cfgs: np.ndarray, *, seed: int,
                    node_limit: int) -> tuple[np.ndarray | None, int]:
    """Replicas (length ``n_configs``) of the MIP's best fleet on ``cfgs``, started from
    the plan in ``state`` (whose open configurations must be in ``cfgs``), or ``None`` if
    HiGHS found no plan; and the work done (columns × (nodes + 1), for the meter)."""
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
                 up_: np.ndarray) -> None:
        nonlocal nrow
        rows.append(r + nrow)
        cols.append(c)
        vals.append(v)
        lo.extend(lo_.tolist())
        up.extend(up_.tolist())
        nrow += len(lo_)

    # demand: Σ_c x_ic + u_i = 1
    add_rows(np.concatenate([ii, np.arange(n_i)]), np.concatenate([cx + np.arange(n_x),
             cu + np.arange(n_i)]), np.ones(n_x + n_i), np.ones(n_i), np.ones(n_i))
    # capacity: Σ_i a_ic x_ic − ρ r_c ≤ 0
    rho = d.rho_max * (1 - CAP_MARGIN)
    add_rows(np.concatenate([kk, np.arange(n_s)]), np.concatenate([cx + np.arange(n_x),
             cr + np.arange(n_s)]), np.concatenate([d.a[ii, cc], np.full(n_s, -rho)]),
             np.full(n_s, -_INF), np.zeros(n_s))
    # error (and mean delay): Σ_c ex_ic x_ic ≤ 0
    for ex in (d.err_ex, d.dly_ex) if d.avg_delay else (d.err_ex,):
        add_rows(ii, cx + np.arange(n_x), ex[ii, cc], np.full(n_i, -_INF), np.zeros(n_i))
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
            add_rows(np.zeros(len(on), dtype=np.int64), cr + on, use[on, g],
                     np.array([-_INF]), np.array([float(d.gpu_limit[g])]))
    if np.isfinite(d.budget):
        add_rows(np.zeros(n_s + n_o, dtype=np.int64), np.concatenate([cr + s, co +
                 np.arange(n_o)]), np.concatenate([d.rent[cfgs], d.store_cost[models]]),
                 np.array([-_INF]), np.array([d.budget * (1 - 1e-12)]))
    if np.isfinite(d.storage_cap):
        add_rows(np.zeros(n_o, dtype=np.int64), co + np.arange(n_o), d.model_gb[models],
                 np.array([-_INF]), np.array([d.storage_cap]))
    if not d.multi_parallelism:
        deps, dk = np.unique(d.cfg_dep[cfgs], return_inverse=True)
        add_rows(dk.astype(np.int64), cw + s, np.ones(n_s), np.full(len(deps), -_INF),
                 np.ones(len(deps)))
    # one thread (HiGHS keeps one global pool per process, sized by the first run, so
    # rebuild it here and again afterwards for the routing LPs), no time limit: the
    # result depends on the model and the seed only
    highspy.Highs.resetGlobalScheduler(True)
    h = new_highs()
    for name, value in MIP_OPTIONS:
        h.setOptionValue(name, value)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_max_nodes", int(node_limit))
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
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * (n_x + n_i) \
        + [highspy.HighsVarType.kInteger] * (2 * n_s + n_o)
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
              max_columns: int | None = None) -> bool:
    """One fleet-MIP move on ``state`` (module docstring); returns whether it improved.
    Skipped under single placement (the routing LP cannot express it)."""
    if state.data.single_placement or not (state.r > 0).any():
        return False
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
