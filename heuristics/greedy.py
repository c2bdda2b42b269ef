r"""GH: the greedy construction with the paper's mechanisms M1–M3 (docs/semantics.md#heuristics).

One deterministic pass over the query types in a given order:

* **Phase 1, coverage pre-allocation.** For each type in order that no active
  deployment can serve within its error SLO, apply the M2-best candidate restricted to
  one new replica (a new deployment, or an M3 upgrade of an active one).
* **Phase 2, residual greedy.** For each type in order, while some of its demand is
  unassigned: build the candidates, rank them (M2) and apply the best; stop when none
  is left. Leftovers are unmet; more than ζ_i unmet makes the plan infeasible.

Candidates for type *i* with residual share *R* (all vectorised over configurations):

* *active*: an active configuration *c* the type may use, with its spare capacity and
  *k* ≥ 0 new replicas, k ∈ {⌊·⌋, ⌈·⌉} of the replicas the capped residual needs;
* *new*: a deployment with no active configuration, at its M1 configuration for *i*
  (``m1_cfg``; the smallest configuration without M1), with *k* ∈ {⌊·⌋, ⌈·⌉} replicas;
* *upgrade* (M3): an active configuration *c* replaced by a higher-TP configuration *c'*
  of the same deployment; every type already routed to *c* moves along and must be able
  to use *c'* (memory, per-route delay, mean delay re-checked); the replica count is
  re-sized for the old load plus the new share;
* *unmet*: the rest of the type is left unserved when it fits in ζ_i and its penalty per
  share is the cheapest option.

Coverage (the share a candidate serves) is capped by the residual, the spare plus new
capacity, the remaining error slack :math:`-\sum_c (e_{ic}-\varepsilon_i) x_{ic}` divided
by :math:`e_{ic}-\varepsilon_i` when the route is worse than the SLO, and the same for the
mean delay when that rule is on. Budget, GPU availability and storage capacity bound *k*.

M2 score = (new replicas' rental + storage of a newly stored model + delay penalty of
the routed share [+ the replaced replicas' refund and the moved types' delay change for
an upgrade]) ÷ coverage, in $ per unit share of the type. Without M2 the score is the
configuration's raw $/h (0 for spare capacity), ties broken by larger coverage.
"""

from __future__ import annotations

import math
import time

import numpy as np

from hetserve.heuristics.params import GhParams
from hetserve.heuristics.result import make_result
from hetserve.heuristics.state import LOAD_TOL, SHARE_TOL, HeuristicData, PlanState
from hetserve.instances import Instance, RunResult

RESIDUAL_TOL = 1e-7
"""A type counts as fully assigned when less than this share is left."""


def query_order(data: HeuristicData, name: str) -> np.ndarray:
    """The processing order ``name`` (see :data:`heuristics.params.ORDERS`)."""
    inst = data.instance
    q = inst.query_types
    n = data.n_types
    if name == "index":
        return np.arange(n)
    if name in ("rate-desc", "rate-asc"):
        key = data.lam if name == "rate-asc" else -data.lam
    elif name == "error-slo-asc":
        key = np.array([t.error_slo for t in q])
    elif name == "delay-slo-asc":
        key = np.array([t.delay_slo_s for t in q])
    elif name in ("footprint-desc", "footprint-asc"):
        size = data.model_gb[data.cfg_model][None, :]
        ok = data.usable & (data.err_ex <= 0)
        ok = np.where(ok.any(axis=1, keepdims=True), ok, data.usable)
        foot = np.where(ok, size, np.inf).min(axis=1, initial=np.inf)  # no configs: inf
        foot = np.where(np.isfinite(foot), foot, 1e12)
        key = -foot if name == "footprint-desc" else foot
    else:
        raise ValueError(f"order {name!r} not understood")
    return np.argsort(key, kind="stable")


class _Builder:
    """One GH pass on a fresh :class:`PlanState`."""

    def __init__(self, data: HeuristicData, params: GhParams) -> None:
        self.d = data
        self.p = params
        self.s = PlanState(data)
        self.allowed = data.usable if params.use_m1 else np.ones_like(data.usable)
        self.new_cfg = (data.m1_cfg if params.use_m1
                        else np.broadcast_to(data.smallest_cfg, (data.n_types, data.n_deps)))
        self.unmet_taken = np.zeros(data.n_types)
        self.steps = {"active": 0, "new": 0, "upgrade": 0, "unmet": 0}

    # ------------------------------------------------------------------ helpers
    def residual(self, i: int) -> float:
        return 1.0 - self.s.served[i] - self.unmet_taken[i]

    def caps(self, i: int, cs: np.ndarray, resid: float) -> np.ndarray:
        """Residual capped by the error (and mean-delay) slack, per configuration."""
        d, s = self.d, self.s
        cap = np.full(len(cs), resid)
        ex = d.err_ex[i, cs]
        slack = max(0.0, -s.err_sum[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = np.minimum(cap, np.where(ex > 0, slack / np.where(ex > 0, ex, 1), np.inf))
            if d.avg_delay:
                ex = d.dly_ex[i, cs]
                slack = max(0.0, -s.dly_sum[i])
                cap = np.minimum(cap, np.where(ex > 0, slack / np.where(ex > 0, ex, 1), np.inf))
        return cap

    def kmax(self, cs: np.ndarray, extra_money: np.ndarray | float = 0.0,
             freed_gpus: np.ndarray | int = 0, freed_money: np.ndarray | float = 0.0) -> np.ndarray:
        """Most replicas of each config that budget and GPU availability still allow
        (``freed_gpus``: GPUs of each type, ``(len(cs), G)``, a move releases first)."""
        d, s = self.d, self.s
        room = d.budget - s.spend - extra_money + freed_money
        with np.errstate(invalid="ignore"):
            by_budget = np.floor(room / d.rent[cs] * (1 + 1e-12) + 1e-9) if math.isfinite(
                d.budget) else np.full(len(cs), 1e9)
        free = d.gpu_limit - s.gpu_used + freed_gpus  # (len(cs), G) or (G,)
        use = d.gpu_use[cs]
        by_gpu = np.where(use > 0, np.floor_divide(free, np.maximum(use, 1)),
                          np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
        return np.maximum(0, np.minimum(by_budget, by_gpu)).astype(np.int64)

    def score(self, cost: np.ndarray, cov: np.ndarray, cs: np.ndarray, k: np.ndarray) -> np.ndarray:
        if self.p.use_m2:
            return cost / cov
        return np.where(k > 0, self.d.price_h[cs], 0.0)

    # ------------------------------------------------------------------ candidates
    def candidates(self, i: int, resid: float, *, one_replica: bool) -> list[tuple]:
        """(score, -cov, kind, c, k, c2, cov) tuples; the best is the smallest."""
        d, s = self.d, self.s
        out: list[tuple] = []
        single = d.single_placement
        need_cov = resid - (d.zeta[i] - self.unmet_taken[i]) - 1e-12 if single else 0.0

        def emit(kind: str, cs: np.ndarray, ks: np.ndarray, covs: np.ndarray,
                 costs: np.ndarray, c2s: np.ndarray | None = None) -> None:
            ok = covs > SHARE_TOL
            if single:
                ok &= covs >= need_cov
            if not ok.any():
                return
            sc = self.score(costs[ok], covs[ok], cs[ok] if c2s is None else c2s[ok], ks[ok])
            cv = covs[ok]
            best = int(np.lexsort((-cv, sc))[0])  # least score, then largest coverage
            c2 = int(c2s[ok][best]) if c2s is not None else -1
            out.append((float(sc[best]), -float(cv[best]), kind, int(cs[ok][best]),
                        int(ks[ok][best]), c2, float(cv[best])))

        def sized(cs: np.ndarray, spare: np.ndarray, cap: np.ndarray, kmax: np.ndarray,
                  fixed: np.ndarray, kind: str, a: np.ndarray) -> None:
            need = (cap * a - spare) / d.rho_max
            k_ceil = np.maximum(0, np.ceil(need - LOAD_TOL)).astype(np.int64)
            k_floor = np.maximum(0, np.floor(need + LOAD_TOL)).astype(np.int64)
            if one_replica:
                kmax = np.minimum(kmax, 1)
            for ks in (np.minimum(k_ceil, kmax), np.minimum(k_floor, kmax)):
                cov = np.minimum(cap, (spare + ks * d.rho_max) / a)
                cov = np.where(ks + spare > 0, cov, 0.0)
                cost = ks * d.rent[cs] + np.where(ks > 0, fixed, 0.0) + d.dcost[i, cs] * cov
                emit(kind, cs, ks, cov, cost)
                if np.array_equal(k_ceil, k_floor):
                    break

        # active configurations
        if not (single and s.x[i].any()):
            act = np.nonzero(s.r > 0)[0]
            act = act[self.allowed[i, act]]
            if len(act) and not one_replica:
                spare = np.maximum(0.0, d.rho_max * s.r[act] - s.load[act])
                sized(act, spare, self.caps(i, act, resid), self.kmax(act), np.zeros(len(act)),
                      "active", d.a[i, act])
            # new deployments at their M1 (or smallest) configuration
            cs = s.unopened(self.new_cfg, i)
            if len(cs):
                j = d.cfg_model[cs]
                new_model = s.model_count[j] == 0
                store = np.where(new_model, d.store_cost[j], 0.0)
                fits_store = ~new_model | (s.storage_gb + d.model_gb[j] <= d.storage_cap + 1e-9)
                cs, store = cs[fits_store], store[fits_store]
                if len(cs):
                    sized(cs, np.zeros(len(cs)), self.caps(i, cs, resid),
                          self.kmax(cs, extra_money=store), store, "new", d.a[i, cs])
            if self.p.use_m3:
                self.upgrades(i, resid, out, emit, one_replica)
        if (self.p.allow_unmet and self.p.use_m2 and not single and not one_replica
                and resid <= d.zeta[i] - self.unmet_taken[i] + 1e-12):
            out.append((float(d.unmet_cost[i]), -resid, "unmet", -1, 0, -1, resid))
        return out

    def upgrades(self, i: int, resid: float, out: list, emit, one_replica: bool) -> None:
        """M3 candidates: raise the TP of an active configuration (vectorised over all
        (active config, higher-TP config of its deployment) pairs)."""
        d, s = self.d, self.s
        src, dst = d.up_src, d.up_dst
        keep = (s.r[src] > 0) & (s.r[dst] == 0) & self.allowed[i, dst]
        if not keep.any():
            return
        src, dst = src[keep], dst[keep]
        xs = s.x[:, src]  # (I, P) shares moved along
        on = xs > 0
        if self.p.use_m1:
            ok = ~(on & ~self.allowed[:, dst]).any(axis=0)
        else:
            ok = np.ones(len(src), dtype=bool)
        if d.avg_delay:
            new = s.dly_sum[:, None] + (d.dly_ex[:, dst] - d.dly_ex[:, src]) * xs
            ok &= (new <= np.maximum(0.0, s.dly_sum)[:, None] + 1e-12).all(axis=0)
        if not ok.any():
            return
        src, dst, xs = src[ok], dst[ok], xs[:, ok]
        load2 = (d.a[:, dst] * xs).sum(axis=0)
        moved = ((d.dcost[:, dst] - d.dcost[:, src]) * xs).sum(axis=0)
        cap = self.caps(i, dst, resid)
        a = d.a[i, dst]
        base = d.replicas_for(load2)
        need = (load2 + cap * a) / d.rho_max
        kmax = self.kmax(dst, freed_gpus=s.r[src][:, None] * d.gpu_use[src],
                         freed_money=s.r[src] * d.rent[src])
        if one_replica:
            kmax = np.minimum(kmax, base + 1)
        k_ceil = np.maximum(base, np.ceil(need - LOAD_TOL)).astype(np.int64)
        k_floor = np.maximum(base, np.floor(need + LOAD_TOL)).astype(np.int64)
        for ks in (np.minimum(k_ceil, kmax), np.minimum(k_floor, kmax)):
            feasible = ks >= base
            cov = np.where(feasible, np.minimum(cap, (ks * d.rho_max - load2) / a), 0.0)
            cost = ks * d.rent[dst] - s.r[src] * d.rent[src] + moved + d.dcost[i, dst] * cov
            emit("upgrade", src, ks, cov, cost, dst)
            if np.array_equal(k_ceil, k_floor):
                break

    # ------------------------------------------------------------------ apply
    def apply(self, i: int, cand: tuple) -> None:
        _, _, kind, c, k, c2, cov = cand
        s = self.s
        self.steps[kind] += 1
        if kind == "unmet":
            self.unmet_taken[i] += cov
        elif kind == "upgrade":
            s.move_config(c, c2)
            s.add_share(i, c2, cov)
            s.set_replicas(c2, max(k, int(self.d.replicas_for(s.load[c2]))))
        else:
            s.add_share(i, c, cov)
            s.set_replicas(c, max(int(s.r[c]) + k, int(self.d.replicas_for(s.load[c]))))

    def has_path(self, i: int) -> bool:
        s, d = self.s, self.d
        act = np.nonzero(s.r > 0)[0]
        return bool(np.any(self.allowed[i, act] & (d.err_ex[i, act] <= 0)))

    def run(self, order: np.ndarray) -> PlanState:
        d = self.d
        if self.p.preallocate and not d.single_placement:
            for i in order:
                if not self.has_path(int(i)):
                    cands = self.candidates(int(i), self.residual(int(i)), one_replica=True)
                    if cands:
                        self.apply(int(i), min(cands))
        for i in order:
            i = int(i)
            for _ in range(10 * (d.n_deps + d.n_configs) + 10):
                resid = self.residual(i)
                if resid <= RESIDUAL_TOL:
                    break
                cands = self.candidates(i, resid, one_replica=False)
                if not cands:
                    break
                self.apply(i, min(cands))
                if d.single_placement:
                    break
        return self.s


def construct(data: HeuristicData, order: np.ndarray, params: GhParams) -> tuple[PlanState, dict]:
    """Run one GH pass in ``order``; returns the state and step counts per candidate kind."""
    b = _Builder(data, params)
    state = b.run(order)
    return state, dict(b.steps)


def gh(instance: Instance, params: GhParams = GhParams()) -> RunResult:
    """Greedy heuristic GH (one deterministic pass with M1–M3), see the module docstring.

    The plan goes through :func:`instances.evaluate_arrays`; status ``FEASIBLE`` if it has
    no violation, else ``INFEASIBLE`` with the violations in ``diagnosis``.
    """
    t0 = time.perf_counter()
    data = HeuristicData.build(instance)
    order = query_order(data, params.order)
    state, steps = construct(data, order, params)
    runtime = time.perf_counter() - t0
    return make_result("gh", data, state, runtime, seed=None, stats={
        "order": params.order, "steps": steps, "construction_cost": state.objective,
        "final_cost": state.objective, "starts": 1,
    })
