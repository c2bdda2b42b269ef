r"""The steady-state fluid LP of prefill–decode contention (arXiv 2602.02987, §3, §4.2, §5).

*n* identical GPUs each run at most one prompt chunk of *C* tokens ("mixed", beside at most
*B* − 1 decodes) or only decodes ("solo", at most *B*). Iteration times and per-job rates
come from :mod:`hetserve.instances.iteration`: :math:`\tau = \tau_{mix}(C)`,
:math:`\mu_{p,i} = C/(P_i\tau)`, :math:`\mu_{m,i} = 1/(D_i\tau)`, :math:`\mu_{s,i} = \gamma/D_i`.
Class *i* arrives at :math:`\lambda_i` requests/s **per GPU** and its waiting jobs abandon at
rate :math:`\theta_i` each, from the prefill queue and from the decode buffer alike.

Variables (per GPU, steady state): :math:`x_i` share of GPUs prefilling class *i*;
:math:`y_{m,i}, y_{s,i}` class-*i* decodes running on mixed / solo GPUs; :math:`q_{p,i}, q_{d,i}`
class-*i* jobs waiting for prefill / in the decode buffer.

.. math::
    \max\ & R(x, y) \\
    \text{s.t. } & \textstyle\sum_i x_i \le 1 & \text{(prefill capacity)} \\
    & \textstyle\sum_i y_{m,i} \le (B-1)\sum_i x_i & \text{(mixed decode capacity)} \\
    & \textstyle\sum_i y_{s,i} \le B\,(1 - \sum_i x_i) & \text{(solo decode capacity)} \\
    & \lambda_i - \theta_i q_{p,i} = \mu_{p,i} x_i & \text{(prefill balance)} \\
    & \mu_{p,i} x_i - \theta_i q_{d,i} = \mu_{m,i} y_{m,i} + \mu_{s,i} y_{s,i}
      & \text{(decode balance)} \\
    & x, y, q \ge 0

Pricing (paper eqs. 40 and 42): *bundled* pays :math:`w_i = c_p P_i + c_d D_i` per completed
request, :math:`R = \sum_i w_i(\mu_{m,i} y_{m,i} + \mu_{s,i} y_{s,i})`; *separate* pays the
prompt tokens at prefill completion and the output tokens at decode completion,
:math:`R = \sum_i c_p P_i \mu_{p,i} x_i + c_d D_i(\mu_{m,i} y_{m,i} + \mu_{s,i} y_{s,i})`.

Service-level rows (§5, each optional; any of them also fixes :math:`q_d = 0` as the paper
does): prefill fairness :math:`x_i - x_j \le \eta_1`; decode fairness
:math:`y_{s,i} - y_{s,j} \le \eta_2` (all ordered pairs); average TPOT (eq. 47)

.. math::
    \frac{\tau(B-1)S + (B/\gamma)(1-S)}{(B-1)S + B(1-S)} \le \eta_3,\quad S = \textstyle\sum_i x_i
    \iff S\,\big[(B-1)\tau - B/\gamma + \eta_3\big] \le B\,(\eta_3 - 1/\gamma).

Decode-buffer elimination (Prop. 3.2): if :math:`\gamma\tau \ge (B-1)/B` an optimal plan
with :math:`q_d = 0` exists. HiGHS may return another optimal vertex, so when its first
answer holds a decode buffer :func:`solve_fluid` solves a second LP over the optimal face
(revenue held at the optimum less a relative 1e-9) that minimises :math:`\sum_i q_{d,i}`.
The shadow prices are the first LP's row duals, signed as marginal revenue per unit of
right-hand side (at a degenerate vertex they are one valid choice among several).

Sizing (docs/fluid.md): with totals :math:`\Lambda_i` instead of per-GPU rates, no
abandonment and no decode buffer, :func:`size_fluid` finds the fewest GPUs *n* (integer,
and its LP relaxation) with :math:`\Lambda_i = \mu_{p,i} X_i`,
:math:`\mu_{p,i} X_i = \mu_{m,i} Y_{m,i} + \mu_{s,i} Y_{s,i}`,
:math:`\sum Y_m \le (B-1)\sum X`, :math:`\sum Y_s \le B(n - \sum X)`, :math:`\sum X \le n`
and the TPOT row multiplied out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from hetserve.instances.errors import InstanceError, require
from hetserve.instances.iteration import IterationModel, ServiceRates
from hetserve.simulator.pd_control import PlanTargets, SimClass

PRICINGS = ("bundled", "separate")
MAX_TOKENS = 1e7
MAX_RATE = 1e7
MAX_ABANDONMENT = 1e6
MAX_BATCH = 100_000
MAX_CHUNK = 1_000_000


# ------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class RequestClass:
    """One request class: token lengths, per-GPU arrival rate and abandonment rate."""

    name: str
    prompt_tokens: float
    output_tokens: float
    rate: float
    """Arrivals per second per GPU (λ_i) in :func:`solve_fluid`; the fleet total (Λ_i) in
    :func:`size_fluid`."""
    abandonment: float = 0.0
    """θ_i, 1/s: each waiting job leaves at this rate (prefill queue and decode buffer)."""

    def __post_init__(self) -> None:
        where = f"classes[{self.name!r}]"
        # Upper limits as an instance's query types and the CLI flags have
        # (docs/instance-format.md): beyond them HiGHS loses the LP to round-off.
        for name in ("prompt_tokens", "output_tokens"):
            v = getattr(self, name)
            require(isinstance(v, (int, float)) and math.isfinite(v) and 0 < v <= MAX_TOKENS,
                    f"{where}.{name}", f"must be a number in (0, {MAX_TOKENS:g}], got {v!r}")
        for name, hi in (("rate", MAX_RATE), ("abandonment", MAX_ABANDONMENT)):
            v = getattr(self, name)
            require(isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= hi,
                    f"{where}.{name}", f"must be a number in [0, {hi:g}], got {v!r}")


@dataclass(frozen=True)
class ServiceLevels:
    """Optional §5 rows; ``None`` leaves a row out."""

    tpot_s: float | None = None
    """η₃: cap on the average time per output token (eq. 47), s."""
    prefill_fairness: float | None = None
    """η₁: max over class pairs of x_i − x_j."""
    decode_fairness: float | None = None
    """η₂: max over class pairs of y_{s,i} − y_{s,j}."""

    def __post_init__(self) -> None:
        v = self.tpot_s
        require(v is None or (isinstance(v, (int, float)) and math.isfinite(v) and v > 0),
                "sli.tpot_s", f"must be a finite number > 0, got {v!r}")
        for name in ("prefill_fairness", "decode_fairness"):
            v = getattr(self, name)
            require(v is None or (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0),
                    f"sli.{name}", f"must be a finite number >= 0, got {v!r}")

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.tpot_s, self.prefill_fairness,
                                           self.decode_fairness))


@dataclass(frozen=True)
class FluidProblem:
    """Everything the fluid LP needs (module docstring)."""

    classes: tuple[RequestClass, ...]
    iteration: IterationModel
    batch: int
    """B: decode streams per GPU."""
    chunk: int
    """C: prompt tokens per mixed iteration."""
    pricing: str = "bundled"
    prefill_price: float = 0.1
    """c_p per prompt token."""
    decode_price: float = 0.2
    """c_d per output token."""
    sli: ServiceLevels = field(default_factory=ServiceLevels)

    def __post_init__(self) -> None:
        require(len(self.classes) >= 1, "classes", "need at least one class")
        names = [c.name for c in self.classes]
        require(len(set(names)) == len(names), "classes", "class names must be unique")
        require(isinstance(self.batch, int) and 2 <= self.batch <= MAX_BATCH, "batch",
                f"must be an integer in [2, {MAX_BATCH}], got {self.batch!r}")
        require(isinstance(self.chunk, int) and 1 <= self.chunk <= MAX_CHUNK, "chunk",
                f"must be an integer in [1, {MAX_CHUNK}], got {self.chunk!r}")
        require(self.pricing in PRICINGS, "pricing",
                f"must be one of {list(PRICINGS)}, got {self.pricing!r}")
        for name in ("prefill_price", "decode_price"):
            v = getattr(self, name)
            require(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, name,
                    f"must be a finite number >= 0, got {v!r}")
        # Extreme token counts overflow the per-job rates or revenues; HiGHS needs finite data.
        per_prefill, per_decode = self.revenue_weights()
        for c, r, a, b in zip(self.classes, self.rates, per_prefill, per_decode, strict=True):
            values = (r.prefill, r.mixed_decode, r.solo_decode, a, b, c.rate, c.abandonment)
            require(all(math.isfinite(v) and abs(v) < 1e100 for v in values),
                    f"classes[{c.name!r}]", "token counts, prices or rates this extreme give "
                    "non-finite service rates or revenues")

    @property
    def tau(self) -> float:
        return self.iteration.tau_mix(self.chunk)

    @property
    def rates(self) -> tuple[ServiceRates, ...]:
        return tuple(self.iteration.rates(c.prompt_tokens, c.output_tokens, self.chunk)
                     for c in self.classes)

    def revenue_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(per prefill completion, per decode completion) revenue of each class."""
        p = np.array([c.prompt_tokens for c in self.classes], dtype=float)
        d = np.array([c.output_tokens for c in self.classes], dtype=float)
        if self.pricing == "bundled":
            return np.zeros_like(p), self.prefill_price * p + self.decode_price * d
        return self.prefill_price * p, self.decode_price * d

    def average_tpot(self, prefill_share: float) -> float:
        """Eq. 47's left-hand side at Σx = ``prefill_share``."""
        b, s = self.batch, prefill_share
        return ((self.tau * (b - 1) * s + b / self.iteration.gamma * (1 - s))
                / ((b - 1) * s + b * (1 - s)))


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class FluidPlan:
    """The LP's answer: per-class occupancies, revenue per GPU and shadow prices."""

    status: str
    """``optimal`` or ``infeasible`` (HiGHS's verdict)."""
    revenue: float
    """Optimal revenue per GPU per second (nan unless optimal)."""
    x: tuple[float, ...]
    y_mixed: tuple[float, ...]
    y_solo: tuple[float, ...]
    q_prefill: tuple[float, ...]
    q_decode: tuple[float, ...]
    shadow_prices: dict[str, Any]
    """Marginal revenue per unit of each row's right-hand side (module docstring)."""
    class_names: tuple[str, ...]
    prefill_share: float
    """Σx: the share of GPUs that are mixed (M = ⌈n Σx⌉ in the policy)."""
    average_tpot_s: float
    decode_buffer_free: bool
    """Prop. 3.2's condition γτ ≥ (B−1)/B."""
    throughput: tuple[float, ...]
    """Completed requests per second per GPU, by class."""
    problem: FluidProblem

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def mixed_gpus(self, n: int) -> int:
        """M = ⌈n Σx*⌉ (at most n; a relative 1e-9 guards the ceiling against round-off)."""
        require(n >= 1, "gpus", f"must be >= 1, got {n!r}")
        return min(n, math.ceil(n * self.prefill_share * (1 - 1e-9)))

    def to_dict(self) -> dict[str, Any]:
        it = self.problem.iteration
        return {
            "status": self.status, "revenue_per_gpu_s": self.revenue,
            "pricing": self.problem.pricing, "batch": self.problem.batch,
            "chunk": self.problem.chunk, "tau_mix_s": self.problem.tau,
            "iteration": it.to_dict(), "prefill_share": self.prefill_share,
            "average_tpot_s": self.average_tpot_s, "decode_buffer_free": self.decode_buffer_free,
            "classes": [
                {"name": n, "x": x, "y_mixed": ym, "y_solo": ys, "q_prefill": qp,
                 "q_decode": qd, "throughput_rps_per_gpu": th}
                for n, x, ym, ys, qp, qd, th in zip(self.class_names, self.x, self.y_mixed,
                                                    self.y_solo, self.q_prefill,
                                                    self.q_decode, self.throughput, strict=True)],
            "shadow_prices": self.shadow_prices,
        }


# ------------------------------------------------------------------ the LP
@dataclass(frozen=True)
class _Rows:
    a_ub: np.ndarray
    b_ub: np.ndarray
    ub_names: list[str]
    a_eq: np.ndarray
    b_eq: np.ndarray
    eq_names: list[str]


def _objective(problem: FluidProblem) -> np.ndarray:
    """Revenue coefficients over the variable vector [x, y_m, y_s, q_p, q_d] (each I long)."""
    k = len(problem.classes)
    per_prefill, per_decode = problem.revenue_weights()
    rates = problem.rates
    obj = np.zeros(5 * k)
    for i, r in enumerate(rates):
        obj[i] = per_prefill[i] * r.prefill
        obj[k + i] = per_decode[i] * r.mixed_decode
        obj[2 * k + i] = per_decode[i] * r.solo_decode
    return obj


def _rows(problem: FluidProblem) -> _Rows:
    k, b = len(problem.classes), problem.batch
    nv = 5 * k
    xs, yms, yss, qps, qds = (slice(j * k, (j + 1) * k) for j in range(5))
    ub: list[np.ndarray] = []
    ub_b: list[float] = []
    names: list[str] = []

    def row() -> np.ndarray:
        return np.zeros(nv)

    r = row()
    r[xs] = 1.0
    ub.append(r)
    ub_b.append(1.0)
    names.append("prefill_capacity")
    r = row()
    r[yms] = 1.0
    r[xs] = -(b - 1.0)
    ub.append(r)
    ub_b.append(0.0)
    names.append("mixed_decode_capacity")
    r = row()
    r[yss] = 1.0
    r[xs] = float(b)
    ub.append(r)
    ub_b.append(float(b))
    names.append("solo_decode_capacity")
    sli = problem.sli
    if sli.tpot_s is not None:
        r = row()
        r[xs] = (b - 1) * problem.tau - b / problem.iteration.gamma + sli.tpot_s
        ub.append(r)
        ub_b.append(b * (sli.tpot_s - 1.0 / problem.iteration.gamma))
        names.append("tpot")
    for label, block, eta in (("prefill_fairness", xs, sli.prefill_fairness),
                              ("decode_fairness", yss, sli.decode_fairness)):
        if eta is None:
            continue
        for i in range(k):
            for j in range(k):
                if i != j:
                    r = row()
                    r[block.start + i] = 1.0
                    r[block.start + j] = -1.0
                    ub.append(r)
                    ub_b.append(float(eta))
                    names.append(f"{label}[{problem.classes[i].name},{problem.classes[j].name}]")
    eq: list[np.ndarray] = []
    eq_b: list[float] = []
    eq_names: list[str] = []
    for i, (c, rt) in enumerate(zip(problem.classes, problem.rates, strict=True)):
        r = row()
        r[xs.start + i] = rt.prefill
        r[qps.start + i] = c.abandonment
        eq.append(r)
        eq_b.append(c.rate)
        eq_names.append(f"prefill_balance[{c.name}]")
    for i, (c, rt) in enumerate(zip(problem.classes, problem.rates, strict=True)):
        r = row()
        r[xs.start + i] = rt.prefill
        r[qds.start + i] = -c.abandonment
        r[yms.start + i] = -rt.mixed_decode
        r[yss.start + i] = -rt.solo_decode
        eq.append(r)
        eq_b.append(0.0)
        eq_names.append(f"decode_balance[{c.name}]")
    return _Rows(np.array(ub), np.array(ub_b), names, np.array(eq), np.array(eq_b), eq_names)


def _bounds(problem: FluidProblem) -> list[tuple[float, float | None]]:
    k = len(problem.classes)
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * (4 * k)
    # With no abandonment a queue is not determined by the balance rows; the fluid plan
    # then holds no queue. Any SLI row fixes q_d = 0 (§5's standing assumption).
    qp = [(0.0, None) if c.abandonment > 0 else (0.0, 0.0) for c in problem.classes]
    qd = [(0.0, 0.0) if (problem.sli.any or c.abandonment == 0) else (0.0, None)
          for c in problem.classes]
    return bounds[: 3 * k] + qp + qd


def _linprog(c: np.ndarray, **lp: Any) -> Any:
    """HiGHS dual simplex (deterministic) at tight tolerances, so the shadow prices are clean;
    when HiGHS cannot certify a badly scaled LP at those tolerances (status "unknown",
    e.g. rates of 1e-4 beside prices of 1e3) it is solved again at HiGHS's default
    tolerances before the answer is called a failure."""
    tight = {"presolve": True, "dual_feasibility_tolerance": 1e-10,
             "primal_feasibility_tolerance": 1e-10}
    res = linprog(c, method="highs-ds", options=tight, **lp)
    if res.status in (0, 2):
        return res
    return linprog(c, method="highs-ds", options={"presolve": True}, **lp)


def solve_fluid(problem: FluidProblem) -> FluidPlan:
    """Solve the fluid LP with HiGHS (dual simplex, deterministic) and read its duals."""
    k = len(problem.classes)
    obj = _objective(problem)
    rows = _rows(problem)
    bounds = _bounds(problem)
    first = _linprog(-obj, A_ub=rows.a_ub, b_ub=rows.b_ub, A_eq=rows.a_eq, b_eq=rows.b_eq,
                     bounds=bounds)
    names = tuple(c.name for c in problem.classes)
    free = problem.iteration.decode_buffer_free(problem.chunk, problem.batch)
    if first.status != 0:
        nan = (math.nan,) * k
        status = "infeasible" if first.status == 2 else f"failed: {first.message}"
        return FluidPlan(status, math.nan, nan, nan, nan, nan, nan, {}, names, math.nan,
                         math.nan, free, nan, problem)
    revenue = float(obj @ first.x)
    # Second pass over the optimal face: the least decode buffer (Prop. 3.2's plan).
    sol = first.x
    if float(np.max(first.x[4 * k:])) > 1e-12:
        floor = revenue - 1e-9 * max(1.0, abs(revenue))
        second = _linprog(np.r_[np.zeros(4 * k), np.ones(k)],
                          A_ub=np.vstack([rows.a_ub, -obj]), b_ub=np.r_[rows.b_ub, -floor],
                          A_eq=rows.a_eq, b_eq=rows.b_eq, bounds=bounds)
        if second.status == 0:
            sol = second.x
    sol = np.where(np.abs(sol) < 1e-12, 0.0, sol)
    ub_duals = -np.asarray(first.ineqlin.marginals)
    eq_duals = -np.asarray(first.eqlin.marginals)
    prices: dict[str, Any] = {}
    tiny = 1e-9 * max(1.0, float(np.max(np.abs(obj))))  # solver noise, not a price
    for name, v in [*zip(rows.ub_names, ub_duals, strict=True),
                    *zip(rows.eq_names, eq_duals, strict=True)]:
        prices[name] = float(v) if abs(v) > tiny else 0.0
    x, ym, ys, qp, qd = (tuple(float(v) for v in sol[j * k:(j + 1) * k]) for j in range(5))
    rates = problem.rates
    through = tuple(r.mixed_decode * a + r.solo_decode * b_
                    for r, a, b_ in zip(rates, ym, ys, strict=True))
    share = float(sum(x))
    return FluidPlan("optimal", revenue, x, ym, ys, qp, qd, prices, names, share,
                     problem.average_tpot(share), free, through, problem)


def chain_inputs(plan: FluidPlan) -> tuple[tuple[SimClass, ...], PlanTargets]:
    """The simulator's inputs (:func:`hetserve.simulator.pd_control.simulate_pd`) for a plan:
    per-job rates and revenues of each class, and the gate's targets x*, q*_p."""
    require(plan.optimal, "plan", f"needs an optimal plan, got {plan.status!r}")
    prob = plan.problem
    per_prefill, per_decode = prob.revenue_weights()
    classes = tuple(SimClass(c.name, c.rate, r.prefill, r.mixed_decode, r.solo_decode,
                             c.abandonment, float(a), float(b))
                    for c, r, a, b in zip(prob.classes, prob.rates, per_prefill, per_decode,
                                          strict=True))
    return classes, PlanTargets(plan.x, plan.q_prefill)


# ------------------------------------------------------------------ sizing
@dataclass(frozen=True)
class FluidSizing:
    """Fewest GPUs for given totals (module docstring, 'Sizing')."""

    status: str
    gpus: int
    """Integer optimum of n (0 when infeasible)."""
    gpus_lp: float
    """The LP relaxation's n (a lower bound)."""
    prefill_gpus: tuple[float, ...]
    """X_i at the integer optimum."""
    mixed_decodes: tuple[float, ...]
    solo_decodes: tuple[float, ...]
    class_names: tuple[str, ...]

    @property
    def mixed_gpus(self) -> int:
        """⌈Σ X⌉: GPUs to run in mixed mode (0 without a plan)."""
        if self.status != "optimal":
            return 0
        return math.ceil(sum(self.prefill_gpus) * (1 - 1e-9))

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "gpus": self.gpus, "gpus_lp": self.gpus_lp,
                "mixed_gpus": self.mixed_gpus,
                "classes": [{"name": n, "prefill_gpus": x, "mixed_decodes": m,
                             "solo_decodes": s} for n, x, m, s in
                            zip(self.class_names, self.prefill_gpus, self.mixed_decodes,
                                self.solo_decodes, strict=True)]}


def size_fluid(classes: Sequence[RequestClass], iteration: IterationModel, *, batch: int,
               chunk: int, tpot_s: float | None = None) -> FluidSizing:
    """Fewest GPUs serving every class's total rate (``rate`` = Λ_i, requests/s)."""
    problem = FluidProblem(tuple(classes), iteration, batch, chunk)  # validates
    k, b = len(problem.classes), batch
    rates = problem.rates
    nv = 3 * k + 1  # [X, Y_m, Y_s, n]
    n_col = 3 * k
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    for i, (c, r) in enumerate(zip(problem.classes, rates, strict=True)):
        row = np.zeros(nv)
        row[i] = r.prefill
        rows.append(row)
        lo.append(c.rate)
        hi.append(c.rate)
        row = np.zeros(nv)
        row[i], row[k + i], row[2 * k + i] = r.prefill, -r.mixed_decode, -r.solo_decode
        rows.append(row)
        lo.append(0.0)
        hi.append(0.0)
    row = np.zeros(nv)
    row[:k], row[n_col] = 1.0, -1.0  # Σ X ≤ n
    rows.append(row)
    lo.append(-np.inf)
    hi.append(0.0)
    row = np.zeros(nv)
    row[k:2 * k], row[:k] = 1.0, -(b - 1.0)  # Σ Y_m ≤ (B−1) Σ X
    rows.append(row)
    lo.append(-np.inf)
    hi.append(0.0)
    row = np.zeros(nv)
    row[2 * k:3 * k], row[:k], row[n_col] = 1.0, float(b), -float(b)  # Σ Y_s ≤ B(n − Σ X)
    rows.append(row)
    lo.append(-np.inf)
    hi.append(0.0)
    if tpot_s is not None:
        require(math.isfinite(tpot_s) and tpot_s > 0, "tpot_s", f"must be > 0, got {tpot_s!r}")
        g = iteration.gamma
        row = np.zeros(nv)
        row[:k] = (b - 1) * problem.tau - b / g + tpot_s
        row[n_col] = b / g - b * tpot_s
        rows.append(row)
        lo.append(-np.inf)
        hi.append(0.0)
    cons = LinearConstraint(np.array(rows), np.array(lo), np.array(hi))
    cost = np.zeros(nv)
    cost[n_col] = 1.0
    bounds = Bounds(np.zeros(nv), np.full(nv, np.inf))
    names = tuple(c.name for c in problem.classes)
    relaxed = milp(cost, constraints=cons, bounds=bounds, integrality=np.zeros(nv))
    integral = np.zeros(nv)
    integral[n_col] = 1
    exact = milp(cost, constraints=cons, bounds=bounds, integrality=integral,
                 options={"mip_rel_gap": 0.0})
    if relaxed.status != 0 or exact.status != 0:
        nan = (math.nan,) * k
        bad = exact if exact.status != 0 else relaxed
        status = "infeasible" if bad.status == 2 else f"failed: {bad.message}"
        return FluidSizing(status, 0, math.nan, nan, nan, nan, names)
    sol = np.maximum(exact.x, 0.0)  # HiGHS returns -1e-16 for zero; the plan has none
    return FluidSizing("optimal", round(float(sol[n_col])), float(relaxed.x[n_col]),
                       tuple(float(v) for v in sol[:k]),
                       tuple(float(v) for v in sol[k:2 * k]),
                       tuple(float(v) for v in sol[2 * k:3 * k]), names)


# ------------------------------------------------------------------ JSON classes file
CLASSES_FILE_KEYS = ("iteration", "batch", "chunk", "pricing", "prefill_price", "decode_price",
                     "classes", "sli", "gpus")


def _number(doc: dict[str, Any], key: str, where: str, default: Any = None) -> Any:
    if key not in doc:
        if default is None:
            raise InstanceError(f"{where}{key}", "missing")
        return default
    v = doc[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InstanceError(f"{where}{key}", f"must be a number, got {v!r}")
    return v


def problem_from_dict(doc: Any) -> tuple[FluidProblem, int | None]:
    """A classes document (docs/fluid.md) → (problem, optional fleet size for the rates).

    Raises :class:`InstanceError` naming the field on any bad value.
    """
    if not isinstance(doc, dict):
        raise InstanceError("", "the classes file must hold a JSON object")
    unknown = sorted(set(doc) - set(CLASSES_FILE_KEYS))
    require(not unknown, unknown[0] if unknown else "", "unknown key; known: "
            + ", ".join(CLASSES_FILE_KEYS))
    it = doc.get("iteration")
    if not isinstance(it, dict):
        raise InstanceError("iteration", "missing or not an object ({alpha, beta, gamma}, "
                            "{c, a, b0} or {chunks, mixed_times_s, solo_time_s})")
    forms = ({"alpha", "beta", "gamma"}, {"c", "a", "b0"},
             {"chunks", "mixed_times_s", "solo_time_s"})
    given = [f for f in forms if f & set(it)]
    if len(given) > 1 or (given and set(it) - given[0]):
        raise InstanceError("iteration", "give exactly one of {alpha, beta, gamma}, "
                            "{c, a, b0} or {chunks, mixed_times_s, solo_time_s}; got keys "
                            + ", ".join(sorted(it)))
    if {"alpha", "beta", "gamma"} <= set(it):
        iteration = IterationModel.from_mixed_fit(_number(it, "alpha", "iteration."),
                                                  _number(it, "beta", "iteration."),
                                                  _number(it, "gamma", "iteration."),
                                                  source="classes file")
    elif {"c", "a", "b0"} <= set(it):
        iteration = IterationModel(_number(it, "c", "iteration."), _number(it, "a", "iteration."),
                                   _number(it, "b0", "iteration."), source="classes file")
    elif {"chunks", "mixed_times_s", "solo_time_s"} <= set(it):
        from hetserve.instances.iteration import fit_measured

        chunks, times = it["chunks"], it["mixed_times_s"]
        for key, values in (("chunks", chunks), ("mixed_times_s", times)):
            if not isinstance(values, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise InstanceError(f"iteration.{key}", "must be a list of numbers")
        require(all(float(c).is_integer() for c in chunks), "iteration.chunks",
                "chunk sizes must be integers")
        iteration = fit_measured(tuple(int(c) for c in chunks), tuple(times),
                                 _number(it, "solo_time_s", "iteration."),
                                 source="classes file (measured profile)").model
    else:
        raise InstanceError("iteration", "give alpha, beta, gamma; c, a, b0; or chunks, "
                            "mixed_times_s, solo_time_s")
    batch = _number(doc, "batch", "")
    chunk = _number(doc, "chunk", "")
    require(float(batch).is_integer(), "batch", f"must be an integer, got {batch!r}")
    require(float(chunk).is_integer(), "chunk", f"must be an integer, got {chunk!r}")
    raw = doc.get("classes")
    if not isinstance(raw, list) or not raw:
        raise InstanceError("classes", "missing or not a non-empty list")
    gpus = doc.get("gpus")
    if gpus is not None:
        require(isinstance(gpus, int) and not isinstance(gpus, bool) and gpus >= 1, "gpus",
                f"must be an integer >= 1 (rates are then fleet totals), got {gpus!r}")
    classes = []
    for j, c in enumerate(raw):
        where = f"classes[{j}]."
        if not isinstance(c, dict):
            raise InstanceError(f"classes[{j}]", "must be an object")
        extra = sorted(set(c) - {"name", "prompt_tokens", "output_tokens", "rate",
                                 "abandonment"})
        require(not extra, f"classes[{j}].{extra[0] if extra else ''}", "unknown key")
        name = c.get("name", f"class{j}")
        require(isinstance(name, str) and name != "", f"{where}name", "must be a non-empty string")
        rate = _number(c, "rate", where)
        classes.append(RequestClass(name, _number(c, "prompt_tokens", where),
                                    _number(c, "output_tokens", where),
                                    rate / gpus if gpus else rate,
                                    _number(c, "abandonment", where, 0.0)))
    sli_doc = doc.get("sli", {})
    if not isinstance(sli_doc, dict):
        raise InstanceError("sli", "must be an object")
    extra = sorted(set(sli_doc) - {"tpot_s", "prefill_fairness", "decode_fairness"})
    require(not extra, f"sli.{extra[0] if extra else ''}", "unknown key")
    sli = ServiceLevels(**{k: _number(sli_doc, k, "sli.") for k in sli_doc})
    pricing = doc.get("pricing", "bundled")
    problem = FluidProblem(tuple(classes), iteration, int(batch), int(chunk), pricing,
                           _number(doc, "prefill_price", "", 0.1) if "prefill_price" in doc
                           else 0.1,
                           _number(doc, "decode_price", "", 0.2) if "decode_price" in doc
                           else 0.2, sli)
    return problem, gpus


def problem_from_instance(instance: Any, *, model: str, gpu: str, gpus: int | None,
                          precision: str = "fp16", tp: int = 1, engine: str = "vllm",
                          batch: int | None = None, chunk: int = 256,
                          abandonment: float = 0.0) -> FluidProblem:
    """An instance's query types as fluid classes on one deployment (docs/fluid.md).

    Each query type becomes a class (prompt and output tokens, rate / ``gpus`` per GPU, or
    the fleet total when ``gpus`` is None, as :func:`size_fluid` wants). The iteration
    model is fitted on the engine step model of (``model``, ``gpu``, ``precision``, ``tp``,
    ``engine``) with the rate-weighted mean decode context; *B* defaults to the decode
    streams whose mean context fits the replica's KV pool (at most the engine's
    ``max_num_seqs``).
    """
    from hetserve.instances.iteration import fit_replica
    from hetserve.instances.serving import ENGINES, Replica

    models = {m.name: m for m in instance.models}
    gpu_types = {g.name: g for g in instance.gpus}
    require(model in models, "--model", f"{model!r} is not a model of the instance; "
            f"known: {sorted(models)}")
    require(gpu in gpu_types, "--gpu", f"{gpu!r} is not a GPU of the instance; "
            f"known: {sorted(gpu_types)}")
    require(engine in ENGINES, "--engine", f"unknown engine {engine!r}; known: {sorted(ENGINES)}")
    require(gpus is None or gpus >= 1, "--gpus", "must be >= 1")
    replica = Replica(models[model], gpu_types[gpu], precision, "fp16", tp, 1, ENGINES[engine])
    qts = instance.query_types
    total = sum(q.rate_per_s for q in qts)
    require(total > 0, "query_types", "the instance has no demand")
    context = sum(q.rate_per_s * (q.prompt_tokens + q.output_tokens / 2) for q in qts) / total
    if batch is None:
        fits = replica.kv_capacity_tokens // max(1, math.ceil(context))
        require(fits >= 2, "--gpu", f"{model} on {gpu} holds {fits} decode streams of "
                f"{context:.0f} tokens in its KV pool; needs >= 2")
        batch = int(min(replica.engine.max_num_seqs, fits))
    fit = fit_replica(replica, batch=batch, context_tokens=max(1, round(context)))
    classes = tuple(RequestClass(q.name, q.prompt_tokens, q.output_tokens,
                                 q.rate_per_s / gpus if gpus else q.rate_per_s, abandonment)
                    for q in qts)
    return FluidProblem(classes, fit.model, batch, chunk)


def paper_problem(pricing: str = "separate") -> FluidProblem:
    """The experiment of arXiv 2602.02987 §6.2 (two classes, B = 16, C = 256, λ = 0.5 each)."""
    from hetserve.instances.iteration import PAPER_QWEN8B_A100

    return FluidProblem((RequestClass("decode-heavy", 300, 1000, 0.5, 0.1),
                         RequestClass("prefill-heavy", 3000, 400, 0.5, 0.1)),
                        PAPER_QWEN8B_A100, 16, 256, pricing, 0.1, 0.2)


__all__ = [
    "CLASSES_FILE_KEYS",
    "PRICINGS",
    "FluidPlan",
    "FluidProblem",
    "FluidSizing",
    "RequestClass",
    "ServiceLevels",
    "chain_inputs",
    "paper_problem",
    "problem_from_dict",
    "problem_from_instance",
    "size_fluid",
    "solve_fluid",
]
