r"""Prefill–decode contention on *n* GPUs: the gate-and-route policy and its baselines.

A continuous-time Markov chain, simulated event by event, of the stochastic model of
Lin, Ding, Han and Zhang (arXiv 2602.02987, §2.3): every service time is exponential at
the per-job rates the paper derives from the iteration-time model
(:mod:`hetserve.instances.iteration`), not iteration by iteration. A GPU holds at most one
prefill and a number of decodes. A decode runs at the mixed rate :math:`\mu_{m,i}` while
its GPU is prefilling and at the solo rate :math:`\mu_{s,i}` otherwise (the paper's mode
switches: a GPU whose prefill finishes turns solo until the next one starts). Class-*i*
jobs arrive as a Poisson stream of rate :math:`n\lambda_i`; each waiting job (prefill queue
or decode buffer) abandons after an exponential patience of rate :math:`\theta_i`.

Policies (paper §4.1 and §6.3)
    ``GG-SP`` gate-and-route with static planning (the paper's policy): ``M = ⌈n Σ x*⌉``
        GPUs are *mixed* (one reserved prefill slot, at most *B* − 1 decodes), the rest
        *solo* (no prefill, at most *B* decodes). When a mixed GPU's prefill slot is idle,
        the gate admits the head-of-line job of the waiting class with the smallest
        occupancy deviation :math:`\xi_i = (X_i - n x^*_i)/x^*_i` (ties: the largest
        :math:`Q_{p,i} - n q^*_{p,i}`). A finished prefill's decode goes to a free slot on a
        random solo GPU, else on a random mixed GPU, else to the decode buffer (FCFS across
        classes), which feeds every freed decode slot.
    ``FG-SP`` the same static planning and router, but prefills admitted first come first
        served across classes (no gate).
    ``GI-WSP`` no static planning: every GPU may prefill, and a request keeps its slot on the
        same GPU from prefill start to decode end ("immediate" decode, *B* slots a GPU); the
        gate picks the class when a GPU can start a prefill (no prefill running, a free slot).
    ``FI-WSP`` as GI-WSP with first-come-first-served admission (the paper's industry
        baseline after Sarathi-Serve).

The LP's numbers arrive as plain arguments (:class:`PlanTargets`); this module imports no
planner. Randomness: one ``random.Random(seed)`` drives arrivals, services, patience and
random placement, so a seed gives one trajectory.

Measured over ``[warmup_s, horizon_s]``: revenue per GPU per second (each prefill
completion earns its class's ``prefill_value``, each decode completion its
``decode_value``), time averages per GPU of :math:`X_i, Y_{m,i}, Y_{s,i}, Q_{p,i}, Q_{d,i}`,
completions and abandonments.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

from hetserve.instances.errors import require

POLICIES = ("GG-SP", "FG-SP", "GI-WSP", "FI-WSP")


@dataclass(frozen=True)
class SimClass:
    """One request class as the chain sees it: per-GPU arrival rate and per-job rates, 1/s."""

    name: str
    arrival_rate: float
    """λ_i per GPU."""
    prefill_rate: float
    mixed_decode_rate: float
    solo_decode_rate: float
    abandonment: float
    prefill_value: float = 0.0
    """Revenue at prefill completion (separate pricing: c_p P_i)."""
    decode_value: float = 0.0
    """Revenue at decode completion (c_d D_i separate, c_p P_i + c_d D_i bundled)."""

    def __post_init__(self) -> None:
        for name in ("arrival_rate", "abandonment", "prefill_value", "decode_value"):
            v = getattr(self, name)
            require(math.isfinite(v) and v >= 0, f"{self.name}.{name}", f"must be >= 0, got {v!r}")
        for name in ("prefill_rate", "mixed_decode_rate", "solo_decode_rate"):
            v = getattr(self, name)
            require(math.isfinite(v) and v > 0, f"{self.name}.{name}", f"must be > 0, got {v!r}")


@dataclass(frozen=True)
class PlanTargets:
    """The fluid plan's per-GPU targets the gate and the static planning use."""

    prefill_share: tuple[float, ...]
    """x*_i."""
    prefill_queue: tuple[float, ...]
    """q*_{p,i} (the gate's tie-break target, per GPU)."""

    def __post_init__(self) -> None:
        require(len(self.prefill_share) == len(self.prefill_queue), "targets",
                "prefill_share and prefill_queue need one entry per class")
        require(all(v >= 0 and math.isfinite(v) for v in self.prefill_share), "targets.x",
                "must be finite and >= 0")
        require(sum(self.prefill_share) <= 1 + 1e-9, "targets.x", "must sum to at most 1")


@dataclass(frozen=True)
class PdRun:
    """One simulated run (module docstring, 'Measured')."""

    policy: str
    gpus: int
    mixed_gpus: int
    """GPUs reserved for prefill (0 for the policies without static planning)."""
    seed: int
    horizon_s: float
    warmup_s: float
    revenue_per_gpu_s: float
    x: tuple[float, ...]
    y_mixed: tuple[float, ...]
    y_solo: tuple[float, ...]
    q_prefill: tuple[float, ...]
    q_decode: tuple[float, ...]
    completed: tuple[int, ...]
    abandoned_prefill: tuple[int, ...]
    abandoned_decode: tuple[int, ...]
    arrivals: tuple[int, ...]
    events: int

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_ARRIVAL, _GPU, _PATIENCE = 0, 1, 2
_WAIT_P, _PREFILL, _WAIT_D, _DECODE, _GONE = 0, 1, 2, 3, 4


class _Slots:
    """A set of GPU ids with O(1) insert, remove and uniform random choice."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.pos: dict[int, int] = {}

    def add(self, g: int) -> None:
        if g not in self.pos:
            self.pos[g] = len(self.items)
            self.items.append(g)

    def discard(self, g: int) -> None:
        j = self.pos.pop(g, None)
        if j is None:
            return
        last = self.items.pop()
        if last != g:
            self.items[j] = last
            self.pos[last] = j

    def pick(self, rng: random.Random) -> int:
        return self.items[int(rng.random() * len(self.items))]


def simulate_pd(classes: tuple[SimClass, ...], *, gpus: int, batch: int, policy: str,
                targets: PlanTargets, horizon_s: float, warmup_s: float,
                seed: int) -> PdRun:
    """Simulate ``policy`` on ``gpus`` GPUs of ``batch`` decode slots (module docstring)."""
    require(policy in POLICIES, "policy", f"must be one of {list(POLICIES)}, got {policy!r}")
    require(isinstance(gpus, int) and gpus >= 1, "gpus", f"must be an integer >= 1, got {gpus!r}")
    require(isinstance(batch, int) and batch >= 2, "batch", f"must be an integer >= 2, got {batch!r}")
    require(0 <= warmup_s < horizon_s and math.isfinite(horizon_s), "horizon_s",
            "need 0 <= warmup_s < horizon_s < inf")
    k = len(classes)
    require(k >= 1 and len(targets.prefill_share) == k, "targets", "one target per class")
    rng = random.Random(seed)
    n = gpus
    static = policy.endswith("-SP")
    gated = policy.startswith("G")
    mu_p = [c.prefill_rate for c in classes]
    mu_m = [c.mixed_decode_rate for c in classes]
    mu_s = [c.solo_decode_rate for c in classes]
    theta = [c.abandonment for c in classes]
    lam_total = n * sum(c.arrival_rate for c in classes)
    cum: list[float] = []
    acc = 0.0
    for c in classes:
        acc += n * c.arrival_rate
        cum.append(acc / lam_total if lam_total > 0 else 1.0)
    x_target = [n * v for v in targets.prefill_share]
    q_target = [n * v for v in targets.prefill_queue]
    inv_x = [1.0 / v if v > 0 else math.inf for v in targets.prefill_share]

    m = min(n, math.ceil(n * sum(targets.prefill_share) * (1 - 1e-9))) if static else 0
    is_mixed = [g < m for g in range(n)]
    if static:
        cap = [batch - 1 if is_mixed[g] else batch for g in range(n)]
    else:
        cap = [batch] * n  # slots shared by the running prefill and the decodes
    pre = [-1] * n
    pre_job = [-1] * n
    dec = [[0] * k for _ in range(n)]
    ndec = [0] * n
    ver = [0] * n

    # aggregates, for the integrals and the gate
    X = [0] * k
    YM = [0] * k
    YS = [0] * k
    QP = [0] * k
    QD = [0] * k
    integ = [[0.0] * k for _ in range(5)]

    solo_free, mix_free = _Slots(), _Slots()  # SP: GPUs with a free decode slot
    idle_prefill = _Slots()  # GPUs that may start a prefill now
    for g in range(n):
        if static:
            (mix_free if is_mixed[g] else solo_free).add(g)
            if is_mixed[g]:
                idle_prefill.add(g)
        else:
            idle_prefill.add(g)

    job_class: list[int] = []
    job_stage: list[int] = []
    job_arrival: list[float] = []
    pq: list[deque[int]] = [deque() for _ in range(k)]  # prefill queues (job ids, FCFS within class)
    dbuf: deque[int] = deque()  # decode buffer, FCFS across classes

    revenue = 0.0
    completed = [0] * k
    ab_p = [0] * k
    ab_d = [0] * k
    arrivals = [0] * k
    events = 0
    heap: list[tuple[float, int, int, int, int]] = []
    seq = 0
    now = 0.0
    last = 0.0

    def push(t: float, kind: int, a: int, b: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, a, b))

    def reschedule(g: int) -> None:
        ver[g] += 1
        p = pre[g]
        if p >= 0:
            r = mu_p[p] + sum(dec[g][i] * mu_m[i] for i in range(k) if dec[g][i])
        else:
            r = sum(dec[g][i] * mu_s[i] for i in range(k) if dec[g][i])
        if r > 0:
            push(now + rng.expovariate(r), _GPU, g, ver[g])

    def set_mode(g: int, prefilling: int) -> None:
        """Start (class >= 0) or end (-1) the prefill on g, moving its decodes' mode."""
        old = pre[g]
        pre[g] = prefilling
        if (old >= 0) != (prefilling >= 0):
            row = dec[g]
            for i in range(k):
                if row[i]:
                    if prefilling >= 0:
                        YS[i] -= row[i]
                        YM[i] += row[i]
                    else:
                        YM[i] -= row[i]
                        YS[i] += row[i]

    def add_decode(g: int, i: int) -> None:
        dec[g][i] += 1
        ndec[g] += 1
        if pre[g] >= 0:
            YM[i] += 1
        else:
            YS[i] += 1

    def refresh_sets(g: int) -> None:
        if static:
            s = mix_free if is_mixed[g] else solo_free
            if ndec[g] < cap[g]:
                s.add(g)
            else:
                s.discard(g)
            if is_mixed[g] and pre[g] < 0:
                idle_prefill.add(g)
            else:
                idle_prefill.discard(g)
        else:
            if pre[g] < 0 and ndec[g] < cap[g]:
                idle_prefill.add(g)
            else:
                idle_prefill.discard(g)

    def head(i: int) -> int:
        q = pq[i]
        while q and job_stage[q[0]] != _WAIT_P:
            q.popleft()
        return q[0] if q else -1

    def choose_class() -> int:
        best = -1
        if gated:
            best_xi = best_delta = 0.0
            for i in range(k):
                if QP[i] <= 0:
                    continue
                xi = (X[i] - x_target[i]) * inv_x[i] if inv_x[i] != math.inf else math.inf
                delta = QP[i] - q_target[i]
                if best < 0 or xi < best_xi or (xi == best_xi and delta > best_delta):
                    best, best_xi, best_delta = i, xi, delta
            return best
        oldest = math.inf
        for i in range(k):
            if QP[i] > 0:
                j = head(i)
                if job_arrival[j] < oldest:
                    best, oldest = i, job_arrival[j]
        return best

    def start_prefills() -> None:
        while idle_prefill.items and any(QP):
            i = choose_class()
            j = head(i)
            g = idle_prefill.pick(rng)
            pq[i].popleft()
            job_stage[j] = _PREFILL
            pre_job[g] = j
            QP[i] -= 1
            X[i] += 1
            set_mode(g, i)
            refresh_sets(g)
            reschedule(g)

    def route_decode(j: int, i: int) -> None:
        if solo_free.items:
            g = solo_free.pick(rng)
        elif mix_free.items:
            g = mix_free.pick(rng)
        else:
            job_stage[j] = _WAIT_D
            dbuf.append(j)
            QD[i] += 1
            if theta[i] > 0:
                push(now + rng.expovariate(theta[i]), _PATIENCE, j, _WAIT_D)
            return
        job_stage[j] = _DECODE
        add_decode(g, i)
        refresh_sets(g)
        reschedule(g)

    def pull_buffer(g: int) -> None:
        """Fill g's free decode slots from the decode buffer (FCFS across classes)."""
        while dbuf and ndec[g] < cap[g]:
            j = dbuf.popleft()
            if job_stage[j] != _WAIT_D:
                continue
            i = job_class[j]
            QD[i] -= 1
            job_stage[j] = _DECODE
            add_decode(g, i)

    if lam_total > 0:
        push(rng.expovariate(lam_total), _ARRIVAL, 0, 0)
    while heap:
        t, _, kind, a, b = heapq.heappop(heap)
        if t > horizon_s:
            break
        if kind == _GPU and b != ver[a]:
            continue
        # integrate the state over (last, t] ∩ [warmup, horizon]
        lo = last if last > warmup_s else warmup_s
        if t > lo:
            dt = t - lo
            for i in range(k):
                integ[0][i] += X[i] * dt
                integ[1][i] += YM[i] * dt
                integ[2][i] += YS[i] * dt
                integ[3][i] += QP[i] * dt
                integ[4][i] += QD[i] * dt
        last = now = t
        events += 1
        measuring = t >= warmup_s
        if kind == _ARRIVAL:
            u = rng.random()
            i = 0
            while i < k - 1 and u > cum[i]:
                i += 1
            j = len(job_class)
            job_class.append(i)
            job_stage.append(_WAIT_P)
            job_arrival.append(t)
            pq[i].append(j)
            QP[i] += 1
            if measuring:
                arrivals[i] += 1
            if theta[i] > 0:
                push(t + rng.expovariate(theta[i]), _PATIENCE, j, _WAIT_P)
            push(t + rng.expovariate(lam_total), _ARRIVAL, 0, 0)
            start_prefills()
        elif kind == _PATIENCE:
            j, stage = a, b
            if job_stage[j] != stage:
                continue
            i = job_class[j]
            job_stage[j] = _GONE
            if stage == _WAIT_P:
                QP[i] -= 1
                if measuring:
                    ab_p[i] += 1
            else:
                QD[i] -= 1
                if measuring:
                    ab_d[i] += 1
        else:  # a GPU event: a prefill or a decode completes on GPU a
            g = a
            p = pre[g]
            row = dec[g]
            if p >= 0:
                r_pre = mu_p[p]
                rates = [row[i] * mu_m[i] for i in range(k)]
            else:
                r_pre = 0.0
                rates = [row[i] * mu_s[i] for i in range(k)]
            u = rng.random() * (r_pre + sum(rates))
            if u < r_pre:  # prefill of class p completes
                X[p] -= 1
                if measuring:
                    revenue += classes[p].prefill_value
                set_mode(g, -1)
                j = pre_job[g]
                if static:
                    route_decode(j, p)
                else:  # immediate decode on the same GPU, in the slot the prefill held
                    job_stage[j] = _DECODE
                    add_decode(g, p)
                refresh_sets(g)
                reschedule(g)
                start_prefills()
            else:
                u -= r_pre
                i = 0
                while i < k - 1 and u >= rates[i]:
                    u -= rates[i]
                    i += 1
                row[i] -= 1
                ndec[g] -= 1
                if p >= 0:
                    YM[i] -= 1
                else:
                    YS[i] -= 1
                completed[i] += measuring
                if measuring:
                    revenue += classes[i].decode_value
                if static:
                    pull_buffer(g)
                refresh_sets(g)
                reschedule(g)
                if not static:
                    start_prefills()
    window = horizon_s - warmup_s
    scale = 1.0 / (n * window)
    names = [tuple(v * scale for v in integ[r]) for r in range(5)]
    return PdRun(policy, n, m, seed, horizon_s, warmup_s, revenue * scale, names[0], names[1],
                 names[2], names[3], names[4], tuple(completed), tuple(ab_p), tuple(ab_d),
                 tuple(arrivals), events)


__all__ = ["POLICIES", "PdRun", "PlanTargets", "SimClass", "simulate_pd"]
