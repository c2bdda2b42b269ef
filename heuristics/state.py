r"""Per-instance heuristic data (computed once) and the mutable working plan.

:class:`HeuristicData` turns an instance's route table into the flat numpy arrays every
heuristic step reads: the replica load of a full share :math:`a_{ic} = \lambda_i/\mu_{ic}`,
the delay-penalty cost of a full share, the error and latency excess over the SLOs, the
M1 configuration of every (query type, deployment) pair, prices, GPU types and models.

:class:`PlanState` is a plan under construction: replicas ``r[c]`` and shares
``x[i, c]``, plus the aggregates the constraints need (replica load per configuration,
served share, error and latency excess per type, GPUs per type, stored models, money).
Its two primitives, :meth:`PlanState.add_share` and :meth:`PlanState.set_replicas`,
update every aggregate in O(1). With :meth:`PlanState.checkpoint` active they journal
each write, so :meth:`PlanState.rollback` restores the exact previous state (tried moves
are applied, checked and reverted). :meth:`PlanState.excess` measures every aggregate
constraint's violation in O(I + C + G); local search accepts a move only if no
component grows, so a feasible state stays feasible.

Route feasibility (memory and the per-route delay rule) is not an aggregate: the
construction filters it (M1) and local-search moves only ever add share to usable
routes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.heuristics.work import WorkMeter
from hetserve.instances.routing import RoutingData
from hetserve.instances.solution import Solution

if TYPE_CHECKING:
    from hetserve.instances import Instance

LOAD_TOL = 1e-9
"""Slack (in replicas) when rounding a load up to whole replicas."""
SHARE_TOL = 1e-9
"""Shares below this are treated as zero."""
CHECK_TOL = 1e-9
"""Absolute slack of the internal constraint checks (the evaluator allows 1e-6)."""
DEFAULT_GRANULARITIES = (1.0, 0.5, 0.25)
"""Shares of a route that ``relocate`` and ``unmet_trade`` try to move (AghParams)."""

# indices into PlanState.money
_RENTAL_H, _STORAGE_GB, _STORAGE_COST, _DELAY_PEN, _UNMET_PEN = range(5)


@dataclass(eq=False)
class HeuristicData:
    """Flat arrays of one instance for the heuristics (built once, read-only)."""

    instance: Instance
    n_types: int
    n_configs: int
    n_deps: int
    hours: float
    rho_max: float
    lam: np.ndarray  # (I,) req/s
    zeta: np.ndarray  # (I,) max unmet share
    unmet_cost: np.ndarray  # (I,) $ per unit share left unmet over the horizon
    usable: np.ndarray  # (I, C) route may carry traffic
    a: np.ndarray  # (I, C) replicas needed by a full share (inf if μ = 0)
    dcost: np.ndarray  # (I, C) delay penalty of a full share, $
    err_ex: np.ndarray  # (I, C) e_ic − ε_i
    dly_ex: np.ndarray  # (I, C) D_ic − Δ_i
    avg_delay: bool  # the mean-delay rule is active
    price_h: np.ndarray  # (C,) $/h per replica
    rent: np.ndarray  # (C,) $ per replica over the horizon
    gpus: np.ndarray  # (C,) GPUs per replica (all types)
    tp: np.ndarray  # (C,)
    gpu_use: np.ndarray  # (C, G) GPUs of each type per replica (routes.gpu_use)
    gpu_terms: tuple[tuple[tuple[int, int], ...], ...]  # per config: (type, GPUs) with GPUs > 0
    gpu_idx: np.ndarray  # (C, K) the GPU types a replica uses (K = most per config; padded with 0)
    gpu_cnt: np.ndarray  # (C, K) ... and how many of each (0 on padding)
    cfg_model: np.ndarray  # (C,) model index
    cfg_dep: np.ndarray  # (C,) deployment index
    dep_configs: tuple[np.ndarray, ...]  # configs of each deployment
    model_gb: np.ndarray  # (J,) stored size
    store_cost: np.ndarray  # (J,) $ to store the model over the horizon
    gpu_limit: np.ndarray  # (G,)
    budget: float  # inf if none
    storage_cap: float  # inf if none
    multi_parallelism: bool
    single_placement: bool
    m1_cfg: np.ndarray  # (I, D) M1 config of (type, deployment), −1 if none
    smallest_cfg: np.ndarray  # (D,) fewest-GPU config of each deployment
    up_src: np.ndarray  # (P,) M3 pairs: config ...
    up_dst: np.ndarray  # (P,) ... and a higher-TP config of the same deployment
    routing: RoutingData  # the routing LP's coefficients (the arrays above come from it)

    @classmethod
    def build(cls, instance: Instance) -> HeuristicData:
        t = instance.routes
        q = instance.query_types
        n_i, n_c = len(q), len(t)
        hours = instance.horizon_h
        routing = RoutingData.from_instance(instance)
        a, dcost = routing.load, routing.dcost
        deps = list(t.deployments.values())
        cfg_dep = np.empty(n_c, dtype=np.int64)
        for d, members in enumerate(deps):
            cfg_dep[list(members)] = d
        dep_configs = tuple(np.array(cs, dtype=np.int64) for cs in deps)
        gpu_names = [g.name for g in instance.gpus]
        price_h = np.asarray(t.price_per_replica_hour, dtype=float)
        # M1: per (type, deployment) the usable config with the least cost of serving the
        # type's whole demand alone (rental of the whole replicas it needs + delay
        # penalty), ties → lower D. For a type that needs less than one replica this is
        # the paper's rule (the feasible configuration with the fewest GPUs).
        with np.errstate(invalid="ignore"):
            reps = np.maximum(1.0, np.ceil(a / instance.max_utilisation - LOAD_TOL))
        unit = np.where(t.usable, hours * price_h[None, :] * reps + dcost, np.inf)
        m1 = np.full((n_i, len(deps)), -1, dtype=np.int64)
        smallest = np.empty(len(deps), dtype=np.int64)
        gpus = np.asarray(t.gpus_per_replica, dtype=np.int64)
        tp = np.array([cfg.tp for cfg in t.configs], dtype=np.int64)
        for d, cs in enumerate(dep_configs):
            sub = unit[:, cs]
            best = sub.min(axis=1)
            tie = np.where(sub <= best[:, None] * (1 + 1e-12), t.delay[:, cs], np.inf)
            pick = cs[np.argmin(tie, axis=1)]
            m1[:, d] = np.where(np.isfinite(best), pick, -1)
            smallest[d] = cs[np.lexsort((tp[cs], gpus[cs]))[0]]
        pairs = [(c, c2) for cs in dep_configs for c in cs for c2 in cs if tp[c2] > tp[c]]
        up = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        model_gb = np.array([m.weight_gb_fp16 for m in instance.models])
        gpu_use = np.asarray(t.gpu_use, dtype=np.int64)
        gpu_idx, gpu_cnt = _sparse_rows(gpu_use)
        return cls(
            instance=instance, n_types=n_i, n_configs=n_c, n_deps=len(deps), hours=hours,
            rho_max=instance.max_utilisation, lam=t.rates,
            zeta=routing.zeta, unmet_cost=routing.unmet_cost,
            usable=routing.usable, a=a, dcost=dcost,
            err_ex=routing.err_ex, dly_ex=routing.dly_ex, avg_delay=routing.avg_delay,
            price_h=price_h, rent=hours * price_h, gpus=gpus, tp=tp,
            gpu_use=gpu_use, gpu_idx=gpu_idx, gpu_cnt=gpu_cnt,
            gpu_terms=tuple(tuple((int(g), int(u[g])) for g in np.nonzero(u)[0])
                            for u in t.gpu_use),
            cfg_model=np.asarray(t.config_model, dtype=np.int64), cfg_dep=cfg_dep,
            dep_configs=dep_configs, model_gb=model_gb,
            store_cost=hours * instance.storage_price_per_gb_h * model_gb,
            gpu_limit=np.array([instance.gpu_limit(g) for g in gpu_names], dtype=np.int64),
            budget=math.inf if instance.budget is None else float(instance.budget),
            storage_cap=(math.inf if instance.storage_capacity_gb is None
                         else float(instance.storage_capacity_gb)),
            multi_parallelism=instance.multi_parallelism,
            single_placement=instance.single_placement,
            m1_cfg=m1, smallest_cfg=smallest, up_src=up[:, 0], up_dst=up[:, 1],
            routing=routing,
        )

    def gpus_fit(self, base: np.ndarray, add: np.ndarray, cand: np.ndarray,
                 room: np.ndarray) -> np.ndarray:
        """Whether ``add[..., t]`` more replicas of ``cand[t]`` on top of the GPUs in use
        ``base[..., g]`` stay within ``room[g]`` on every GPU type, for ``base ≤ room``
        (which the callers guarantee: ``base`` is the use now, less what a move frees).
        Only the GPU types each candidate uses are checked (at most two per configuration,
        against all of them in the dense form: the hot line of the local search at
        100x40x40)."""
        g, u = self.gpu_idx[cand], self.gpu_cnt[cand]  # (T, K)
        used = base[..., g]  # (..., T, K)
        return np.all((u == 0) | (used + add[..., None] * u <= room[g]), axis=-1)

    def replicas_for(self, load: np.ndarray | float) -> np.ndarray:
        """Whole replicas that carry ``load`` (replica-equivalents) within ρ_max."""
        load = np.asarray(load, dtype=float)
        need = np.ceil(load / self.rho_max - LOAD_TOL)
        return np.where(load > LOAD_TOL, np.maximum(need, 1.0), 0.0).astype(np.int64)


def _sparse_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of each row's nonzeros, padded to the longest row."""
    k = max(1, int((m != 0).sum(axis=1).max(initial=0)))
    idx = np.zeros((m.shape[0], k), dtype=np.int64)
    val = np.zeros((m.shape[0], k), dtype=m.dtype)
    for c, row in enumerate(m):
        nz = np.nonzero(row)[0]
        idx[c, :len(nz)] = nz
        val[c, :len(nz)] = row[nz]
    return idx, val


def open_in_random_order(state: PlanState, rng: np.random.Generator) -> Iterator[int]:
    """The configurations open now, in a random order; a configuration closed by an
    earlier step of the caller's loop is skipped when its turn comes."""
    for c in rng.permutation(np.nonzero(state.r > 0)[0]):
        if state.r[c] > 0:
            yield int(c)


class PlanState:
    """A mutable plan with O(1) incremental updates (see the module docstring)."""

    def __init__(self, data: HeuristicData) -> None:
        self.data = data
        n_i, n_c = data.n_types, data.n_configs
        self.r = np.zeros(n_c, dtype=np.int64)
        self.x = np.zeros((n_i, n_c))
        self.load = np.zeros(n_c)
        self.served = np.zeros(n_i)
        self.err_sum = np.zeros(n_i)  # Σ_c (e_ic − ε_i) x_ic, ≤ 0 when the error SLO holds
        self.dly_sum = np.zeros(n_i)  # Σ_c (D_ic − Δ_i) x_ic, ≤ 0 when the mean delay holds
        self.gpu_used = np.zeros(len(data.gpu_limit), dtype=np.int64)
        self.model_count = np.zeros(len(data.model_gb), dtype=np.int64)  # active configs
        self.dep_count = np.zeros(data.n_deps, dtype=np.int64)  # active configs
        self.money = np.zeros(5)
        self.money[_UNMET_PEN] = float(data.unmet_cost.sum())
        self._journal: list[tuple[np.ndarray, Any, Any]] | None = None
        self.commits = 0
        self.version = 0  # bumped whenever a configuration turns on or off
        self._targets: dict[int, tuple[int, np.ndarray]] = {}
        self.meter: WorkMeter | None = None  # the run's work budget; counts checkpoints
        self.granularities: tuple[float, ...] = DEFAULT_GRANULARITIES

    @classmethod
    def from_arrays(cls, data: HeuristicData, r: np.ndarray, x: np.ndarray) -> PlanState:
        """A working state holding the plan ``(r, x)`` as it is (index form)."""
        state = cls(data)
        state.assign(r, x)
        return state

    def assign(self, r: np.ndarray, x: np.ndarray) -> None:
        """Turn the plan into ``(r, x)`` through the two primitives (journaled like any
        write): every share that differs, in row-major order, then every replica count."""
        ii, cc = np.nonzero(x != self.x)
        for i, c in zip(ii.tolist(), cc.tolist()):
            self.add_share(i, c, float(x[i, c] - self.x[i, c]))
        for c in np.nonzero(r != self.r)[0].tolist():
            self.set_replicas(c, int(r[c]))

    # ---------------------------------------------------------------- copying
    def copy(self) -> PlanState:
        new = PlanState.__new__(PlanState)
        new.data = self.data
        for name in ("r", "x", "load", "served", "err_sum", "dly_sum", "gpu_used",
                     "model_count", "dep_count", "money"):
            setattr(new, name, getattr(self, name).copy())
        new._journal = None
        new.commits = self.commits
        new.version = 0
        new._targets = {}
        new.meter = None  # a copy is counted only once its owner gives it the meter
        new.granularities = self.granularities
        return new

    # ---------------------------------------------------------------- journal
    def _set(self, arr: np.ndarray, idx: Any, value: Any) -> None:
        if self._journal is not None:
            self._journal.append((arr, idx, arr[idx]))
        arr[idx] = value

    def unopened(self, table: np.ndarray, i: int) -> np.ndarray:
        """The configurations ``table[i]`` proposes for type ``i`` (one per deployment, −1 =
        none) that would open something new: a closed deployment, or with
        multi-parallelism a closed configuration."""
        if self.data.multi_parallelism:
            cs = table[i]
            cs = cs[cs >= 0]
            return cs[self.r[cs] == 0]
        cs = table[i, self.dep_count == 0]
        return cs[cs >= 0]

    def checkpoint(self) -> None:
        """Start journaling writes (one level; :meth:`commit` or :meth:`rollback` ends it).
        One trial move: counted by :attr:`meter` when there is one."""
        if self.meter is not None:
            self.meter.used += 1
        self._journal = []

    def commit(self) -> None:
        self._journal = None
        self.commits += 1

    def rollback(self) -> None:
        journal, self._journal = self._journal, None
        assert journal is not None, "rollback without checkpoint"
        for arr, idx, old in reversed(journal):
            arr[idx] = old
        self.version += 1

    # ---------------------------------------------------------------- primitives
    def add_share(self, i: int, c: int, dx: float) -> None:
        """Route ``dx`` more of type ``i``'s demand to configuration ``c`` (dx may be < 0)."""
        d = self.data
        new = self.x[i, c] + dx
        if abs(new) < SHARE_TOL * 1e-3:
            dx, new = -self.x[i, c], 0.0
        self._set(self.x, (i, c), new)
        self._set(self.load, c, self.load[c] + d.a[i, c] * dx)
        self._set(self.served, i, self.served[i] + dx)
        self._set(self.err_sum, i, self.err_sum[i] + d.err_ex[i, c] * dx)
        self._set(self.dly_sum, i, self.dly_sum[i] + d.dly_ex[i, c] * dx)
        self._set(self.money, _DELAY_PEN, self.money[_DELAY_PEN] + d.dcost[i, c] * dx)
        self._set(self.money, _UNMET_PEN, self.money[_UNMET_PEN] - d.unmet_cost[i] * dx)

    def set_replicas(self, c: int, k: int) -> None:
        """Set configuration ``c`` to ``k`` replicas (updates GPUs, models, money)."""
        d = self.data
        old = int(self.r[c])
        k = int(k)
        if k == old:
            return
        self._set(self.r, c, k)
        j, dep = d.cfg_model[c], d.cfg_dep[c]
        for g, n in d.gpu_terms[c]:
            self._set(self.gpu_used, g, self.gpu_used[g] + (k - old) * n)
        self._set(self.money, _RENTAL_H, self.money[_RENTAL_H] + (k - old) * d.price_h[c])
        on = int(k > 0) - int(old > 0)
        if on:
            self.version += 1
            self._set(self.dep_count, dep, self.dep_count[dep] + on)
            before = self.model_count[j]
            self._set(self.model_count, j, before + on)
            if (before == 0) != (before + on == 0):
                self._set(self.money, _STORAGE_GB, self.money[_STORAGE_GB] + on * d.model_gb[j])
                self._set(self.money, _STORAGE_COST,
                          self.money[_STORAGE_COST] + on * d.store_cost[j])

    def trim(self, c: int) -> None:
        """Cut configuration ``c`` to the replicas its load needs."""
        self.set_replicas(c, int(self.data.replicas_for(self.load[c])))

    def move_config(self, c: int, c2: int) -> None:
        """Move every share on ``c`` to ``c2`` (same deployment: a (TP, PP) change), size
        ``c2`` to its new load and release ``c``."""
        for i in np.nonzero(self.x[:, c] > 0)[0]:
            dx = float(self.x[i, c])
            self.add_share(int(i), c, -dx)
            self.add_share(int(i), c2, dx)
        self.set_replicas(c, 0)
        self._set(self.load, c, 0.0)
        self.trim(c2)

    # ---------------------------------------------------------------- money
    @property
    def spend(self) -> float:
        """Rental + storage over the horizon (what the budget limits)."""
        return self.data.hours * self.money[_RENTAL_H] + self.money[_STORAGE_COST]

    @property
    def objective(self) -> float:
        m = self.money
        return self.data.hours * m[_RENTAL_H] + m[_STORAGE_COST] + m[_DELAY_PEN] + m[_UNMET_PEN]

    @property
    def storage_gb(self) -> float:
        return float(self.money[_STORAGE_GB])

    @property
    def unmet(self) -> np.ndarray:
        return np.maximum(0.0, 1.0 - self.served)

    # ---------------------------------------------------------------- checks
    def excess(self) -> np.ndarray:
        """Violation of every aggregate constraint (0 where it holds), as one vector:
        capacity per config, served ≤ 1 and unmet ≤ ζ per type, error (and mean delay)
        per type, GPUs per type, budget, storage, one (TP, PP) per deployment."""
        d = self.data
        parts = [
            np.maximum(0.0, self.load - d.rho_max * self.r),
            np.maximum(0.0, self.served - 1.0),
            np.maximum(0.0, 1.0 - self.served - d.zeta),
            np.maximum(0.0, self.err_sum),
            np.maximum(0.0, self.dly_sum) if d.avg_delay else np.zeros(0),
            np.maximum(0, self.gpu_used - d.gpu_limit).astype(float),
            np.array([max(0.0, self.spend - d.budget), max(0.0, self.storage_gb - d.storage_cap)]),
            np.zeros(0) if d.multi_parallelism
            else np.maximum(0, self.dep_count - 1).astype(float),
        ]
        return np.concatenate(parts)

    def no_worse(self, before: np.ndarray) -> bool:
        """True if no constraint is violated more than in ``before`` (from :meth:`excess`)."""
        after = self.excess()
        tol = CHECK_TOL * np.maximum(1.0, before)
        return bool(np.all(after <= before + tol))

    def is_feasible(self) -> bool:
        """Aggregate constraints hold (route usability is checked by :meth:`bad_routes`)."""
        return bool(np.all(self.excess() <= CHECK_TOL))

    def bad_routes(self) -> int:
        """Number of routes carrying share that are not usable (memory or delay)."""
        return int(np.sum((self.x > SHARE_TOL) & ~self.data.usable))

    def targets(self, i: int) -> np.ndarray:
        """Configurations that may receive share of type ``i``: the active ones and, for
        deployments with none active, the type's M1 configuration; usable routes only.
        Cached until a configuration turns on or off."""
        hit = self._targets.get(i)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        d = self.data
        act = np.nonzero(self.r > 0)[0]
        new = self.unopened(d.m1_cfg, i)
        cand = np.concatenate([act, new])
        cand = cand[d.usable[i, cand]]
        self._targets[i] = (self.version, cand)
        return cand

    def config_allowed(self, c: np.ndarray) -> np.ndarray:
        """Configs that may receive share without breaking one (TP, PP) per deployment."""
        if self.data.multi_parallelism:
            return np.ones(len(c), dtype=bool)
        dep = self.data.cfg_dep[c]
        return (self.r[c] > 0) | (self.dep_count[dep] == 0)

    # ---------------------------------------------------------------- output
    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(r, x)`` for the evaluator (shares below :data:`SHARE_TOL` dropped)."""
        x = np.where(self.x > SHARE_TOL, self.x, 0.0)
        # Guard against round-off: a type may not be served more than its demand.
        over = x.sum(axis=1)
        scale = np.where(over > 1.0, 1.0 / np.where(over > 0, over, 1.0), 1.0)
        return self.r.copy(), x * scale[:, None]

    def to_solution(self) -> Solution:
        r, x = self.to_arrays()
        return Solution.from_arrays(self.data.instance, r, x)
