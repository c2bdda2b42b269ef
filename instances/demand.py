r"""Demand over time for rolling-horizon planning: windows × query types (docs/semantics.md#rolling-horizon).

A :class:`DemandTrace` is frozen: window start times, the arrival rate of every query
type in every window (req/s), the per-window mean prompt/output tokens, and optionally a
per-window sample of requests (arrival offset in the window, prompt and output tokens)
for the queueing model and the discrete-event simulator. Rates may be 0 in a window; the
rolling driver floors them when it builds an :class:`~instances.model.Instance`.

Three sources, all mapped onto the query types of an instance:

Real traces (:func:`azure_demand`)
    The Azure LLM inference traces 2023 (``code`` and ``conv`` services; Patel et al.,
    "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024;
    CC-BY 4.0) are one hour long. To cover a 24 h horizon we **scale, not compress**:
    the trace is cut into full windows of the requested length (a trailing partial
    window is dropped), each window's request count divided by the mean count gives a
    burst factor :math:`b_k` (mean 1), and window *w* of the day gets

    .. math:: \lambda_i(w) = \bar\lambda_i \; s(t_w) \; b_{w \bmod K}

    with :math:`\bar\lambda_i` the instance's rate of type *i*, :math:`s` the diurnal
    shape below and *K* the number of full trace windows. So the real within-hour
    burstiness (e.g. the code trace's near-empty 5-minute window) repeats every hour
    under a daily envelope. Replaying the hour compressed 24× was rejected: a 5-minute
    window would then hold 12.5 s of trace (≈ 32 code requests), so the per-window
    counts would be dominated by Poisson noise, not by the service's real bursts.
    Every query type follows the same trace's time profile (the traces have one
    service each). Token samples are the window's real requests, scaled per type so that
    the whole trace's mean prompt / output tokens equal the type's instance means (the
    trace gives the shape of the length distribution, the instance its mean).

Synthetic (:func:`synthetic_demand`)
    :math:`\lambda_i(w) = \bar\lambda_i\, s(t_w)\, \max(0.05,\, 1 + \sigma\,\xi_{i,w})`
    with :math:`\xi_{i,\cdot}` independent per type, a stationary AR(1) process of unit
    variance :math:`\xi_w = \phi\,\xi_{w-1} + \sqrt{1-\phi^2}\,\varepsilon_w`,
    :math:`\varepsilon \sim N(0,1)` (``ar = φ``; ``ar = 0`` is i.i.d. noise, the reading of
    the paper's volatility σ). One ``numpy.random.Generator(seed)`` draws everything, so
    the trace is a deterministic function of its arguments. Token samples are drawn
    (with replacement) from the Azure traces: the ``code`` trace for category ``code``,
    the ``conv`` trace for every other category, scaled to the type's instance means.

User CSV (:func:`csv_demand`)
    Columns ``timestamp, category, prompt_tokens, output_tokens`` (header required;
    ``timestamp`` in seconds or ISO 8601). ``category`` names a query type of the
    instance, or a task category held by exactly one of its query types. Requests are
    binned into windows from the first timestamp; rate = count / window length. The
    horizon (from the first request) is the one asked for: windows without requests
    have rate 0 and requests after it are dropped (counted in ``meta``). The file is
    UTF-8 (a spreadsheet's byte-order mark is accepted), at most 256 MiB and 2 million
    rows; token counts are integers in [1, 10^7]; a trace has at most
    :data:`MAX_WINDOWS` windows.

Diurnal shape
    :math:`s(t) = 1 + A \cos(2\pi (h(t) - h_{peak}) / 24)`, ``h`` the hour of day,
    default :math:`A = 0.35`, peak at 15:00 (trough 03:00, peak/trough ≈ 2.1). The mean
    over a whole day is exactly 1, so the instance's rates are the daily means. The
    shape is a modelling assumption (interactive services are busiest in the working
    day and quietest at night); ``amplitude = 0`` gives a flat day.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.errors import InstanceError
from hetserve.instances.traces import azure_trace

if TYPE_CHECKING:
    from hetserve.instances.model import Instance

DAY_S = 86400.0
DEFAULT_AMPLITUDE = 0.35
DEFAULT_PEAK_HOUR = 15.0
RATE_FLOOR = 0.05
"""Lower clip of the synthetic multiplier 1 + σξ (only reached for σ ≳ 0.3)."""
CSV_COLUMNS = ("timestamp", "category", "prompt_tokens", "output_tokens")

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(arrival offset in the window in s, prompt tokens, output tokens) of sampled requests."""


class DemandError(ValueError):
    """Bad demand input (a CSV row, a parameter); the message names where and why."""


def _ro(a: Any, dtype: Any = float) -> np.ndarray:
    arr = np.array(a, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class DemandTrace:
    """Per-window demand of every query type (frozen; arrays are read-only).

    Attributes
    ----------
    query_types
        Names of the query types, in the instance's order (columns of the arrays).
    window_s
        Window length in seconds; window *w* covers ``[starts_s[w], starts_s[w] + window_s)``.
    rates
        ``rates[w, i]``: arrival rate of type *i* in window *w*, req/s (may be 0).
    prompt_mean, output_mean
        ``[w, i]``: mean prompt / output tokens of the window's requests of type *i*.
    samples
        Optional ``samples[w][i] = (offset_s, prompt, output)`` arrays: a sample of the
        window's requests (at most a fixed number per window and type, so not every
        request), for token-length distributions and simulation.
    meta
        How the trace was made (source, seed, σ, shape, ...), for reports.
    """

    name: str
    query_types: tuple[str, ...]
    window_s: float
    starts_s: np.ndarray
    rates: np.ndarray
    prompt_mean: np.ndarray
    output_mean: np.ndarray
    samples: tuple[tuple[Sample, ...], ...] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_w, n_i = len(self.starts_s), len(self.query_types)
        if n_w < 1 or n_i < 1:
            raise DemandError("demand: need at least one window and one query type")
        if not self.window_s > 0:
            raise DemandError(f"window_s: must be > 0, got {self.window_s!r}")
        for label in ("rates", "prompt_mean", "output_mean"):
            arr = np.asarray(getattr(self, label), dtype=float)
            if arr.shape != (n_w, n_i):
                raise DemandError(f"{label}: expected shape {(n_w, n_i)}, got {arr.shape}")
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise DemandError(f"{label}: values must be finite and >= 0")
            object.__setattr__(self, label, _ro(arr))
        object.__setattr__(self, "starts_s", _ro(self.starts_s))
        if self.samples is not None and (len(self.samples) != n_w
                                         or any(len(s) != n_i for s in self.samples)):
            raise DemandError("samples: expected one entry per window and query type")
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    # ------------------------------------------------------------------ views
    @property
    def n_windows(self) -> int:
        return len(self.starts_s)

    @property
    def horizon_s(self) -> float:
        return self.n_windows * self.window_s

    def mean_rates(self) -> np.ndarray:
        """Per-type mean rate over the horizon (req/s)."""
        return self.rates.mean(axis=0)

    def peak_rates(self) -> np.ndarray:
        """Per-type peak window rate over the horizon (req/s)."""
        return self.rates.max(axis=0)

    def head(self, n_windows: int) -> DemandTrace:
        """The first ``n_windows`` windows."""
        if not 1 <= n_windows <= self.n_windows:
            raise DemandError(f"n_windows: must be in [1, {self.n_windows}], got {n_windows}")
        k = n_windows
        return DemandTrace(self.name, self.query_types, self.window_s, self.starts_s[:k],
                           self.rates[:k], self.prompt_mean[:k], self.output_mean[:k],
                           None if self.samples is None else self.samples[:k],
                           {**self.meta, "windows": k})

    def type_tokens(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """All sampled (prompt, output) tokens of type ``i`` over the horizon."""
        if self.samples is None:
            return (np.array([max(1, round(v)) for v in self.prompt_mean[:, i]]),
                    np.array([max(1, round(v)) for v in self.output_mean[:, i]]))
        p = np.concatenate([s[i][1] for s in self.samples])
        o = np.concatenate([s[i][2] for s in self.samples])
        return p, o

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "windows": self.n_windows, "window_s": self.window_s,
                "horizon_h": self.horizon_s / 3600.0,
                "mean_rates": dict(zip(self.query_types, map(float, self.mean_rates()))),
                "peak_rates": dict(zip(self.query_types, map(float, self.peak_rates()))),
                "peak_to_mean": float(self.rates.sum(axis=1).max()
                                      / max(self.rates.sum(axis=1).mean(), 1e-12)),
                **dict(self.meta)}


# ---------------------------------------------------------------------- helpers
def diurnal_shape(t_s: np.ndarray, amplitude: float = DEFAULT_AMPLITUDE,
                  peak_hour: float = DEFAULT_PEAK_HOUR) -> np.ndarray:
    """s(t) = 1 + A cos(2π (hour − peak)/24); mean 1 over a day."""
    if not 0 <= amplitude < 1:
        raise DemandError(f"amplitude: must be in [0, 1), got {amplitude!r}")
    h = (np.asarray(t_s, dtype=float) / 3600.0) % 24.0
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (h - peak_hour) / 24.0)


MAX_WINDOWS = 20_000
"""Most windows in one demand trace (two weeks of 1-minute windows); more is refused."""
MAX_CSV_BYTES = 256 * 2**20
MAX_CSV_ROWS = 2_000_000
MAX_TOKENS = 10**7


def _check_grid(horizon_s: float, window_s: float) -> int:
    if not (isinstance(window_s, (int, float)) and math.isfinite(window_s) and window_s >= 1):
        raise DemandError(f"window_s: must be >= 1 s, got {window_s!r}")
    if not (isinstance(horizon_s, (int, float)) and math.isfinite(horizon_s)
            and horizon_s >= window_s):
        raise DemandError(f"horizon_s: must be >= the window ({window_s:g} s), got {horizon_s!r}")
    n_w = math.floor(horizon_s / window_s + 1e-9)
    if n_w > MAX_WINDOWS:
        raise DemandError(f"horizon_s: {horizon_s:g} s in windows of {window_s:g} s is {n_w:,} "
                          f"windows; at most {MAX_WINDOWS:,} (shorten the horizon or widen the "
                          "window)")
    return n_w


def _trace(service: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arrival s, prompt tokens, output tokens) of the Azure ``code``/``conv`` trace."""
    trace = azure_trace(service)
    return trace.arrival_s, trace.prompt_tokens, trace.output_tokens


def _scale_tokens(p: np.ndarray, o: np.ndarray, ref_p: float, ref_o: float,
                  target_p: float, target_o: float) -> tuple[np.ndarray, np.ndarray]:
    """Rescale token counts so the reference means become the target means (≥ 1 token)."""
    sp = np.maximum(1, np.rint(p * (target_p / ref_p))).astype(np.int64)
    so = np.maximum(1, np.rint(o * (target_o / ref_o))).astype(np.int64)
    return sp, so


def _service_for(category: str) -> str:
    return "code" if category == "code" else "conv"


# ---------------------------------------------------------------------- synthetic
def synthetic_demand(instance: Instance, *, sigma: float = 0.05, seed: int = 0,
                     window_s: float = 300.0, horizon_s: float = DAY_S, ar: float = 0.0,
                     amplitude: float = DEFAULT_AMPLITUDE, peak_hour: float = DEFAULT_PEAK_HOUR,
                     samples_per_window: int = 256) -> DemandTrace:
    """Seeded synthetic demand (module docstring): diurnal × (1 + σ AR(1) noise)."""
    n_w = _check_grid(horizon_s, window_s)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise DemandError(f"sigma: must be a finite number >= 0, got {sigma!r}")
    if not -1 < ar < 1:
        raise DemandError(f"ar: AR(1) coefficient must be in (-1, 1), got {ar!r}")
    if samples_per_window < 0:
        raise DemandError("samples_per_window: must be >= 0")
    rng = np.random.default_rng(seed)
    qts = instance.query_types
    n_i = len(qts)
    starts = np.arange(n_w) * float(window_s)
    shape = diurnal_shape(starts + 0.5 * window_s, amplitude, peak_hour)
    eps = rng.standard_normal((n_w, n_i))
    xi = np.empty_like(eps)
    xi[0] = eps[0]
    for w in range(1, n_w):
        xi[w] = ar * xi[w - 1] + math.sqrt(1.0 - ar * ar) * eps[w]
    mult = np.maximum(RATE_FLOOR, 1.0 + sigma * xi)
    base = np.array([q.rate_per_s for q in qts])
    rates = base[None, :] * shape[:, None] * mult
    samples: list[tuple[Sample, ...]] = []
    pm = np.empty((n_w, n_i))
    om = np.empty((n_w, n_i))
    pools = {}
    for i, q in enumerate(qts):
        _, tp, to = _trace(_service_for(q.category))
        pools[i] = _scale_tokens(tp, to, tp.mean(), to.mean(), q.prompt_tokens, q.output_tokens)
    for w in range(n_w):
        row: list[Sample] = []
        for i, q in enumerate(qts):
            k = min(samples_per_window, int(rng.poisson(rates[w, i] * window_s)))
            if k == 0:
                row.append((np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)))
                pm[w, i], om[w, i] = q.prompt_tokens, q.output_tokens
                continue
            idx = rng.integers(len(pools[i][0]), size=k)
            p, o = pools[i][0][idx], pools[i][1][idx]
            off = np.sort(rng.uniform(0.0, window_s, size=k))
            row.append((_ro(off), _ro(p, np.int64), _ro(o, np.int64)))
            pm[w, i], om[w, i] = p.mean(), o.mean()
        samples.append(tuple(row))
    return DemandTrace(
        name=f"synthetic-s{sigma:g}-seed{seed}", query_types=tuple(q.name for q in qts),
        window_s=float(window_s), starts_s=starts, rates=rates, prompt_mean=pm,
        output_mean=om, samples=tuple(samples),
        meta={"source": "synthetic", "sigma": sigma, "seed": seed, "ar": ar,
              "amplitude": amplitude, "peak_hour": peak_hour,
              "tokens": "Azure LLM inference traces 2023 (code for 'code', conv otherwise; "
                        "Splitwise, Patel et al., ISCA 2024; CC-BY 4.0), scaled to the "
                        "instance's means"})


# ---------------------------------------------------------------------- Azure
def azure_demand(instance: Instance, service: str, *, window_s: float = 300.0,
                 horizon_s: float = DAY_S, amplitude: float = DEFAULT_AMPLITUDE,
                 peak_hour: float = DEFAULT_PEAK_HOUR, samples_per_window: int = 512,
                 seed: int = 0) -> DemandTrace:
    """A day of demand from the Azure 2023 ``code`` or ``conv`` trace (module docstring).

    ``seed`` only picks which requests of a window are kept as samples when the window
    holds more than ``samples_per_window`` of them.
    """
    if service not in ("code", "conv"):
        raise DemandError(f"service: expected 'code' or 'conv', got {service!r}")
    n_w = _check_grid(horizon_s, window_s)
    t, tp, to = _trace(service)
    n_bins = math.floor((t[-1] - t[0]) / window_s)
    if n_bins < 1:
        raise DemandError(f"window_s: {window_s:g} s is longer than the {service} trace "
                          f"({t[-1] - t[0]:.0f} s)")
    rng = np.random.default_rng(seed)
    rel = t - t[0]
    bin_of = np.floor(rel / window_s).astype(np.int64)
    keep = bin_of < n_bins
    counts = np.bincount(bin_of[keep], minlength=n_bins).astype(float)
    burst = counts / counts.mean()
    qts = instance.query_types
    n_i = len(qts)
    starts = np.arange(n_w) * float(window_s)
    shape = diurnal_shape(starts + 0.5 * window_s, amplitude, peak_hour)
    base = np.array([q.rate_per_s for q in qts])
    k_of_w = np.arange(n_w) % n_bins
    rates = base[None, :] * (shape * burst[k_of_w])[:, None]
    scaled = [_scale_tokens(tp, to, tp.mean(), to.mean(), q.prompt_tokens, q.output_tokens)
              for q in qts]
    # one sample per trace bin, reused every hour (the same real requests)
    bin_samples: list[tuple[Sample, ...]] = []
    bin_pm = np.empty((n_bins, n_i))
    bin_om = np.empty((n_bins, n_i))
    for k in range(n_bins):
        idx = np.nonzero(bin_of == k)[0]
        if len(idx) > samples_per_window:
            idx = np.sort(rng.choice(idx, size=samples_per_window, replace=False))
        row: list[Sample] = []
        for i, q in enumerate(qts):
            if len(idx) == 0:
                row.append((np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)))
                bin_pm[k, i], bin_om[k, i] = q.prompt_tokens, q.output_tokens
                continue
            p, o = scaled[i][0][idx], scaled[i][1][idx]
            row.append((_ro(rel[idx] - k * window_s), _ro(p, np.int64), _ro(o, np.int64)))
            mask = bin_of == k
            bin_pm[k, i] = scaled[i][0][mask].mean()
            bin_om[k, i] = scaled[i][1][mask].mean()
        bin_samples.append(tuple(row))
    return DemandTrace(
        name=f"azure-{service}", query_types=tuple(q.name for q in qts), window_s=float(window_s),
        starts_s=starts, rates=rates, prompt_mean=bin_pm[k_of_w], output_mean=bin_om[k_of_w],
        samples=tuple(bin_samples[k] for k in k_of_w),
        meta={"source": f"Azure LLM inference trace 2023 ({service}); Splitwise, Patel et al., "
                        "ISCA 2024; CC-BY 4.0",
              "trace_windows": n_bins, "burst_factors": [round(float(b), 4) for b in burst],
              "amplitude": amplitude, "peak_hour": peak_hour,
              "mapping": "every type: instance mean rate x diurnal shape x the trace window's "
                         "burst factor; tokens: real window requests scaled to the type's means"})


# ---------------------------------------------------------------------- CSV
def _parse_time(text: str) -> float:
    """Seconds (a finite number, |t| <= 1e11) or an ISO 8601 date and time."""
    try:
        t = float(text)
    except ValueError:
        pass
    else:
        if not (math.isfinite(t) and abs(t) <= 1e11):
            raise ValueError(f"timestamp {text[:40]!r} is not a finite number of seconds "
                             "within 1e11")
        return t
    try:
        return datetime.fromisoformat(text.strip()[:26]).timestamp()
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"timestamp {text[:40]!r} is neither seconds nor an ISO 8601 "
                         "time") from exc


def _map_categories(instance: Instance) -> dict[str, int]:
    by_name = {q.name: k for k, q in enumerate(instance.query_types)}
    cats: dict[str, list[int]] = {}
    for k, q in enumerate(instance.query_types):
        cats.setdefault(q.category, []).append(k)
    out = {c: v[0] for c, v in cats.items() if len(v) == 1}
    out.update(by_name)
    return out


def csv_demand(path: str | Path, instance: Instance, *, window_s: float = 300.0,
               horizon_s: float | None = None, samples_per_window: int = 512) -> DemandTrace:
    """Demand from a CSV of requests (module docstring); bad rows raise :class:`DemandError`
    naming the file, the line and the column."""
    from hetserve.instances.fields import read_text

    path = Path(path)
    try:
        text = read_text(path, max_bytes=MAX_CSV_BYTES)  # UTF-8; a byte-order mark is dropped
    except InstanceError as exc:
        raise DemandError(str(exc)) from None
    lookup = _map_categories(instance)
    times: list[float] = []
    types: list[int] = []
    prompts: list[int] = []
    outputs: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DemandError(f"{path}: empty file; expected header {','.join(CSV_COLUMNS)}")
    norm = [h.strip().lower().replace(" ", "_") for h in header]
    missing = [c for c in CSV_COLUMNS if c not in norm]
    if missing:
        raise DemandError(f"{path} line 1: header lacks column(s) {missing}; expected "
                          f"{','.join(CSV_COLUMNS)}")
    col = {c: norm.index(c) for c in CSV_COLUMNS}
    for line, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        where = f"{path} line {line}"
        if len(times) >= MAX_CSV_ROWS:
            raise DemandError(f"{path}: more than {MAX_CSV_ROWS:,} request rows")
        if len(cells) < len(header):
            raise DemandError(f"{where}: expected {len(header)} columns, got {len(cells)}")
        try:
            ts = _parse_time(cells[col["timestamp"]])
        except ValueError as exc:
            raise DemandError(f"{where}: column 'timestamp': {exc}") from None
        cat = cells[col["category"]].strip()
        if cat not in lookup:
            raise DemandError(f"{where}: column 'category': {cat[:60]!r} is not a query type or "
                              f"a category held by exactly one query type of the instance "
                              f"(known: {sorted(lookup)})")
        vals = []
        for c in ("prompt_tokens", "output_tokens"):
            cell = cells[col[c]].strip()
            v = int(cell) if cell.isdigit() and len(cell) <= 9 else -1
            if not 1 <= v <= MAX_TOKENS:
                raise DemandError(f"{where}: column {c!r} = {cell[:40]!r} is not an integer in "
                                  f"[1, {MAX_TOKENS:,}]")
            vals.append(v)
        times.append(ts)
        types.append(lookup[cat])
        prompts.append(vals[0])
        outputs.append(vals[1])
    if not times:
        raise DemandError(f"{path}: no request rows")
    t = np.asarray(times)
    t0 = float(t.min())
    rel = t - t0
    span = float(rel.max())
    if horizon_s is None:
        horizon_s = (math.floor(span / window_s) + 1) * window_s  # the last request's window
    try:
        n_w = _check_grid(horizon_s, window_s)
    except DemandError as exc:
        raise DemandError(f"{path}: requests span {span:,.0f} s: {exc}") from None
    qts = instance.query_types
    n_i = len(qts)
    ty = np.asarray(types)
    pr = np.asarray(prompts, np.int64)
    ou = np.asarray(outputs, np.int64)
    wi = np.floor(rel / window_s).astype(np.int64)
    inside = wi < n_w
    rates = np.zeros((n_w, n_i))
    pm = np.array([[q.prompt_tokens for q in qts]] * n_w, dtype=float)
    om = np.array([[q.output_tokens for q in qts]] * n_w, dtype=float)
    np.add.at(rates, (wi[inside], ty[inside]), 1.0 / window_s)
    samples = []
    order = np.argsort(rel, kind="stable")
    for w in range(n_w):
        window: list[Sample] = []
        for i in range(n_i):
            idx = order[(wi[order] == w) & (ty[order] == i)]
            if len(idx):
                pm[w, i], om[w, i] = pr[idx].mean(), ou[idx].mean()
            idx = idx[:samples_per_window]
            window.append((_ro(rel[idx] - w * window_s), _ro(pr[idx], np.int64),
                           _ro(ou[idx], np.int64)))
        samples.append(tuple(window))
    return DemandTrace(
        name=path.stem, query_types=tuple(q.name for q in qts), window_s=float(window_s),
        starts_s=np.arange(n_w) * float(window_s), rates=rates, prompt_mean=pm, output_mean=om,
        samples=tuple(samples),
        meta={"source": f"CSV {path.name}", "requests": len(times),
              "horizon_s": float(n_w * window_s),
              "dropped_after_horizon": int((~inside).sum())})


# ---------------------------------------------------------------------- parsing
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """``"5m"`` → 300.0; units s, m, h, d (a bare number is seconds)."""
    s = str(text).strip().lower()
    if not s:
        raise DemandError("empty duration")
    unit = s[-1]
    num = s[:-1] if unit in _UNITS else s
    scale = _UNITS.get(unit, 1.0)
    try:
        v = float(num)
    except ValueError:
        raise DemandError(f"duration {text!r} not understood; expected a number with unit "
                          "s, m, h or d, e.g. 5m or 24h") from None
    if not (math.isfinite(v) and v > 0):
        raise DemandError(f"duration {text!r} must be positive")
    return v * scale


def load_demand(spec: str, instance: Instance, *, window_s: float = 300.0,
                horizon_s: float | None = None, sigma: float = 0.05, seed: int = 0,
                amplitude: float = DEFAULT_AMPLITUDE, ar: float = 0.0) -> DemandTrace:
    """``azure-conv`` | ``azure-code`` | ``synthetic`` | a CSV path. ``horizon_s=None``: a
    day, or for a CSV the span of its requests."""
    if spec.lower().endswith(".csv") or Path(spec).is_file():
        return csv_demand(spec, instance, window_s=window_s, horizon_s=horizon_s)
    horizon_s = DAY_S if horizon_s is None else horizon_s
    if spec in ("azure-conv", "azure-code"):
        return azure_demand(instance, spec.split("-")[1], window_s=window_s, horizon_s=horizon_s,
                            amplitude=amplitude, seed=seed)
    if spec == "synthetic":
        return synthetic_demand(instance, sigma=sigma, seed=seed, window_s=window_s,
                                horizon_s=horizon_s, amplitude=amplitude, ar=ar)
    raise DemandError(f"demand {spec!r} not understood; expected azure-conv, azure-code, "
                      "synthetic or a CSV file")


__all__: Sequence[str] = ["DAY_S", "DemandError", "DemandTrace", "azure_demand", "csv_demand",
                          "diurnal_shape", "load_demand", "parse_duration", "synthetic_demand"]
