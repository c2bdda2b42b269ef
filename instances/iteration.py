r"""Iteration-time model of a GPU under chunked prefill, and the service rates it implies.

After Lin, Ding, Han and Zhang (arXiv 2602.02987, §2.2), one engine iteration that carries
:math:`b'` batched tokens (a prompt chunk plus one token per running decode) takes

.. math::
    \tau(b') = c + a\,\max\{0,\; b' - b_0\},

flat (memory bound) up to :math:`b_0` tokens and linear (compute bound) beyond. A GPU is
*solo* when it only decodes (at most *B* streams, :math:`b' \le b_0`: one iteration takes
:math:`\tau_{solo} = c`, so each stream advances at :math:`\gamma = 1/c` tokens/s) and *mixed*
when it also runs one prompt chunk of *C* tokens beside at most *B* − 1 decodes
(:math:`C \ge b_0`):

.. math::
    \tau_{mix}(C) = \alpha + \beta C, \qquad \alpha = c - a b_0, \quad \beta = a.

Class *i* with prompt :math:`P_i` and output :math:`D_i` tokens then has, per job, the
prefill rate :math:`\mu_{p,i} = C / (P_i\,\tau)`, the mixed-decode rate
:math:`\mu_{m,i} = 1/(D_i\,\tau)` and the solo-decode rate :math:`\mu_{s,i} = \gamma / D_i`
with :math:`\tau = \tau_{mix}(C)` (paper eq. 4).

Where the constants come from
    * :data:`PAPER_QWEN8B_A100`: the paper's calibration (§6.1, vLLM 0.11 on A100-SXM4-40GB,
      Qwen-8B: :math:`\tau_{mix} = 0.0174 + 6.2\cdot10^{-5} C` s, :math:`\gamma \approx 45.45`
      tokens/s).
    * :func:`fit_replica`: the same two measurements the paper made, taken on hetserve's own
      engine step model (:meth:`hetserve.instances.serving.Replica.step_time`, docs/performance.md):
      the solo step of *B* decodes, and the mixed step of a *C*-token chunk beside *B* − 1
      decodes over a grid of chunk sizes, fitted by ordinary least squares as the paper did.
    * :func:`fit_measured`: measured mean iteration times (mixed at several chunk sizes, and
      solo), fitted the paper's way; :meth:`IterationModel.from_mixed_fit`: a known (α, β, γ).

Mixed/solo capacity of one class (docs/fluid.md)
    With abandonment off and the decode buffer empty (the paper's Prop. 3.2), serving Λ
    requests/s of one class needs :math:`X = \Lambda P \tau / C` GPUs prefilling; while they
    do, their *B* − 1 decode slots produce :math:`(B-1)/\tau` tokens/s each, i.e.
    :math:`(B-1)\Lambda P / C` in all; the rest of the :math:`\Lambda D` decode tokens/s go to
    solo GPUs at :math:`\gamma B` tokens/s each:

    .. math::
        n^\star = \frac{\Lambda P \tau}{C}
                + \frac{\max\{0,\; \Lambda D - (B-1)\Lambda P / C\}}{\gamma B}.

    :func:`mixed_solo_capacity` returns this split and its inverse, the requests/s one GPU
    sustains in the mixed/solo deployment mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import require

if TYPE_CHECKING:
    from hetserve.instances.serving import Replica


def _positive(value: float, field: str) -> None:
    require(isinstance(value, (int, float)) and math.isfinite(value) and value > 0, field,
            f"must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class IterationModel:
    """:math:`\\tau(b') = c + a\\max\\{0, b' - b_0\\}` (module docstring); seconds and tokens."""

    c: float
    """Solo (pure-decode) iteration time, s: :math:`\\tau_{solo} = 1/\\gamma`."""
    a: float
    """Seconds per batched token beyond the knee :math:`b_0` (= β)."""
    b0: float
    """Batched tokens up to which an iteration stays at *c* (the memory-bound knee)."""
    source: str = ""

    def __post_init__(self) -> None:
        _positive(self.c, "iteration.c")
        _positive(self.a, "iteration.a")
        require(isinstance(self.b0, (int, float)) and math.isfinite(self.b0) and self.b0 >= 0,
                "iteration.b0", f"must be a finite number >= 0, got {self.b0!r}")

    @classmethod
    def from_mixed_fit(cls, alpha: float, beta: float, gamma: float,
                       source: str = "") -> IterationModel:
        """From a fitted :math:`\\tau_{mix}(C) = \\alpha + \\beta C` and a solo speed γ (tokens/s)."""
        _positive(alpha, "iteration.alpha")
        _positive(beta, "iteration.beta")
        _positive(gamma, "iteration.gamma")
        c = 1.0 / gamma
        require(alpha <= c, "iteration.alpha", f"the mixed intercept {alpha:g} s exceeds the "
                f"solo iteration 1/gamma = {c:g} s (then b0 = (c - alpha)/beta < 0)")
        return cls(c=c, a=beta, b0=(c - alpha) / beta, source=source)

    @property
    def alpha(self) -> float:
        """Intercept of :math:`\\tau_{mix}(C) = \\alpha + \\beta C`, s."""
        return self.c - self.a * self.b0

    @property
    def beta(self) -> float:
        return self.a

    @property
    def gamma(self) -> float:
        """Solo decode speed per stream, tokens/s."""
        return 1.0 / self.c

    def iteration_time(self, batched_tokens: float) -> float:
        """:math:`\\tau(b')` for ``batched_tokens`` = b′."""
        return self.c + self.a * max(0.0, batched_tokens - self.b0)

    def tau_mix(self, chunk: int) -> float:
        """Mixed iteration time with a prompt chunk of ``chunk`` tokens (α + βC once C ≥ b₀)."""
        require(chunk >= 1, "chunk", f"must be >= 1, got {chunk!r}")
        return self.iteration_time(chunk)

    def rates(self, prompt_tokens: float, output_tokens: float, chunk: int) -> ServiceRates:
        """Per-job service rates of a class (paper eq. 4)."""
        _positive(prompt_tokens, "prompt_tokens")
        _positive(output_tokens, "output_tokens")
        tau = self.tau_mix(chunk)
        return ServiceRates(prefill=chunk / (prompt_tokens * tau),
                            mixed_decode=1.0 / (output_tokens * tau),
                            solo_decode=self.gamma / output_tokens)

    def decode_buffer_free(self, chunk: int, batch: int) -> bool:
        """The paper's Prop. 3.2 condition γτ ≥ (B−1)/B: an optimal fluid plan then keeps no
        decode buffer (solo decoding is at least as efficient as mixed decoding)."""
        return self.gamma * self.tau_mix(chunk) >= (batch - 1) / batch

    def to_dict(self) -> dict[str, Any]:
        return {"c": self.c, "a": self.a, "b0": self.b0, "alpha": self.alpha,
                "beta": self.beta, "gamma": self.gamma, "source": self.source}


@dataclass(frozen=True)
class ServiceRates:
    """Per-job exponential service rates of one class, 1/s."""

    prefill: float
    """μ_p = C / (P τ)."""
    mixed_decode: float
    """μ_m = 1 / (D τ)."""
    solo_decode: float
    """μ_s = γ / D."""


PAPER_QWEN8B_A100 = IterationModel.from_mixed_fit(
    0.0174, 6.2e-5, 45.45,
    source="arXiv 2602.02987 §6.1: vLLM 0.11.0, Qwen-8B on A100-SXM4-40GB "
           "(tau_mix = 0.0174 + 6.2e-5 C s, R^2 0.998; gamma 45.45 tokens/s)")
"""The paper's calibration, the default of the reproduction (docs/fluid.md)."""


# ------------------------------------------------------------ from the step model
@dataclass(frozen=True)
class IterationFit:
    """An :class:`IterationModel` measured on :meth:`Replica.step_time`, with its fit quality."""

    model: IterationModel
    fitted_alpha: float
    """OLS intercept of τ_mix(C); equals ``model.alpha`` unless it exceeded c (then b₀ = 0)."""
    r_squared: float
    chunks: tuple[int, ...]
    mixed_times: tuple[float, ...]
    batch: int
    context_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"iteration": self.model.to_dict(), "fitted_alpha": self.fitted_alpha,
                "r_squared": self.r_squared, "batch": self.batch,
                "context_tokens": self.context_tokens,
                "mixed_times": dict(zip(self.chunks, self.mixed_times, strict=True))}


DEFAULT_FIT_CHUNKS = (256, 512, 768, 1024, 1536, 2048)
"""Chunk sizes of the fit: the paper's range of vLLM chunk budgets, above the knee."""


def fit_measured(chunks: tuple[int, ...], mixed_times_s: tuple[float, ...], solo_time_s: float,
                 *, source: str = "measured profile", batch: int = 0,
                 context_tokens: int = 0) -> IterationFit:
    """c, a, b₀ from measurements, as the paper calibrated (§6.1): the mean mixed iteration
    time at each chunk size, fitted by OLS to α + βC, and the mean solo iteration time c."""
    require(len(chunks) >= 2 and len(chunks) == len(mixed_times_s), "chunks",
            "need at least two chunk sizes, one mixed time each")
    require(all(ch >= 1 for ch in chunks), "chunks", "chunk sizes must be >= 1")
    require(len(set(chunks)) >= 2, "chunks", "need at least two distinct chunk sizes")
    require(all(math.isfinite(t) and t > 0 for t in mixed_times_s), "mixed_times_s",
            "must be finite and > 0")
    _positive(solo_time_s, "solo_time_s")
    grid = np.asarray(chunks, dtype=float)
    mixed = np.asarray(mixed_times_s, dtype=float)
    beta, alpha = (float(v) for v in np.polyfit(grid, mixed, 1))
    resid = mixed - (alpha + beta * grid)
    total = float(((mixed - mixed.mean()) ** 2).sum())
    r2 = 1.0 - float((resid ** 2).sum()) / total if total > 0 else 1.0
    require(beta > 0, "iteration", "the mixed iteration time does not grow with the chunk "
            "size (memory bound over the whole grid); use larger chunks")
    b0 = float(max(0.0, (solo_time_s - alpha) / beta))
    return IterationFit(IterationModel(c=float(solo_time_s), a=beta, b0=b0, source=source),
                        alpha, r2, tuple(int(c) for c in chunks),
                        tuple(float(t) for t in mixed), batch, context_tokens)


def fit_replica(replica: Replica, *, batch: int = 16, context_tokens: int = 1024,
                chunks: tuple[int, ...] = DEFAULT_FIT_CHUNKS) -> IterationFit:
    """Measure c, a, b₀ of ``replica`` on the engine step model (module docstring).

    ``context_tokens`` is the KV context of each running decode (it sets the KV read of a
    step); ``batch`` is *B*. The solo step carries *B* decodes; the mixed step a *C*-token
    chunk (its causal attention from offset 0) beside *B* − 1 decodes.
    """
    require(batch >= 2, "batch", f"must be >= 2, got {batch!r}")
    require(context_tokens >= 1, "context_tokens", f"must be >= 1, got {context_tokens!r}")
    require(len(chunks) >= 2 and all(ch >= 1 for ch in chunks), "chunks",
            "need at least two chunk sizes >= 1")
    solo = float(replica.step_time(batch, batch * context_tokens, 0.0, batch))
    grid = np.asarray(chunks, dtype=float)
    mixed = np.asarray(replica.step_time(grid + batch - 1, (batch - 1) * context_tokens + grid / 2,
                                         replica.attention_flops(grid, 0.0), float(batch)),
                       dtype=float)
    return fit_measured(tuple(chunks), tuple(float(t) for t in mixed), solo,
                        source=f"fit on the step model: {replica.model.name} on "
                               f"{replica.gpu.name}, {replica.weights}, TP{replica.tp}, "
                               f"{replica.engine.name}; B={batch}, context {context_tokens}",
                        batch=batch, context_tokens=context_tokens)


# ------------------------------------------------------- mixed/solo capacity, one class
@dataclass(frozen=True)
class MixedSoloCapacity:
    """GPUs one class needs per unit of arrival rate in the mixed/solo mode (module docstring)."""

    mixed_gpus_per_rps: float
    """Prefilling GPUs per request/s: P τ / C."""
    solo_gpus_per_rps: float
    """Solo decode GPUs per request/s: max(0, D − (B−1)P/C) / (γB)."""

    @property
    def gpus_per_rps(self) -> float:
        """n* / Λ."""
        return self.mixed_gpus_per_rps + self.solo_gpus_per_rps

    @property
    def requests_per_gpu_s(self) -> float:
        """Requests/s one GPU sustains in the mixed/solo mode (Λ / n*)."""
        return 1.0 / self.gpus_per_rps

    def gpus(self, rate_rps: float) -> float:
        """n* for ``rate_rps`` requests/s (fractional; round up for a deployment)."""
        return rate_rps * self.gpus_per_rps


def mixed_solo_capacity(iteration: IterationModel, prompt_tokens: float, output_tokens: float,
                        *, batch: int, chunk: int) -> MixedSoloCapacity:
    """Closed-form mixed/solo sizing of one class (no abandonment, no decode buffer).

    It is the optimum of the continuous sizing LP of docs/fluid.md for one class: the
    prefilling GPUs are forced (X = ΛPτ/C), their decode slots come with them, and only the
    decode tokens they cannot absorb need solo GPUs.
    """
    _positive(prompt_tokens, "prompt_tokens")
    _positive(output_tokens, "output_tokens")
    require(batch >= 2, "batch", f"must be >= 2, got {batch!r}")
    tau = iteration.tau_mix(chunk)
    mixed = prompt_tokens * tau / chunk
    leftover = max(0.0, output_tokens - (batch - 1) * prompt_tokens / chunk)
    return MixedSoloCapacity(mixed, leftover / (iteration.gamma * batch))


__all__ = ["DEFAULT_FIT_CHUNKS", "PAPER_QWEN8B_A100", "IterationFit", "IterationModel",
           "MixedSoloCapacity", "ServiceRates", "fit_measured", "fit_replica",
           "mixed_solo_capacity"]
