"""Pool (GPU) profiles for the queueing model: iteration time, KV slots and price.

Math
----
A *unit* is the thing that owns KV slots: one GPU for the open fleet-simulator presets
(their Llama-3-70B numbers are already per GPU), or one replica of ``tp * pp`` GPUs
for profiles built from the catalog (``gpus_per_unit``).  For a pool whose max
context is ``ctx`` tokens:

* KV-slot concurrency ``k(ctx) = min(kv_limit, compute_cap)`` with
  ``kv_limit = floor(total_kv_blocks / ceil(ctx / block_size))`` (every slot can hold a
  full-context sequence) and ``compute_cap = floor(max_slots * calibration_ctx / ctx)``
  (a batch-size cap that scales inversely with context).  ``k ∝ 1/ctx``.
* Iteration (one continuous-batching step) time with ``n`` resident sequences whose mean
  KV context is ``Lbar`` tokens: ``t_iter = W + H * n * Lbar / calibration_ctx``.  ``W``
  is the batch-independent part (weight read + communication), ``H`` the per-sequence
  increment measured at the calibration context.
* Price per unit-hour = ``price_per_gpu_hour * gpus_per_unit``.

Presets (fleet-simulator values for Llama-3-70B, calibration context 8192, see
arXiv 2603.16514): A100_80GB, H100_80GB and A10G.

:func:`from_catalog` derives a profile from the toolkit's two-phase roofline model
(``instances.performance``, docs/semantics.md#performance-model): ``W`` is the decode
step time extrapolated to an
empty batch, ``H`` the per-sequence increment of the decode step at the calibration
context (finite difference between batch 1 and 2), total KV blocks from the KV capacity
in bytes, and ``max_slots`` the KV-limited slot count at the calibration context capped
by ``max_num_seqs`` (vLLM's default 256).  It never re-implements the performance model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

__all__ = ["PRESETS", "PoolProfile", "from_catalog", "get_profile", "load_profiles",
           "profile_from_dict", "read_json_strict", "resolve_profile"]


@dataclass(frozen=True)
class PoolProfile:
    """Explicit pool profile in the form of the open fleet simulator (times in seconds)."""

    name: str
    W: float  # s, batch-independent iteration time
    H: float  # s per resident sequence at calibration_ctx
    chunk: int  # prefill chunk size, tokens per iteration
    total_kv_blocks: int  # per unit
    block_size: int  # tokens per KV block
    max_slots: int  # batch cap at calibration_ctx
    calibration_ctx: int  # tokens
    price_per_gpu_hour: float  # $/GPU-h
    gpus_per_unit: int = 1

    def __post_init__(self):
        if not self.name:
            raise ValueError("name: must be non-empty")
        for f in ("W", "H", "price_per_gpu_hour"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{f}: must be a finite number >= 0, got {v!r}")
        if self.W + self.H <= 0:
            raise ValueError("W: W + H must be > 0 (an iteration takes time)")
        for f in ("chunk", "total_kv_blocks", "block_size", "max_slots", "calibration_ctx",
                  "gpus_per_unit"):
            v = getattr(self, f)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{f}: must be an integer >= 1, got {v!r}")
        # hashed once: profiles key the planner's calibration caches, looked up per row
        object.__setattr__(self, "_hash", hash(tuple(getattr(self, f.name)
                                                     for f in fields(self))))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined]

    @property
    def price_per_unit_hour(self) -> float:
        return self.price_per_gpu_hour * self.gpus_per_unit

    @property
    def max_tokens(self) -> int:
        """KV capacity of one unit in tokens."""
        return self.total_kv_blocks * self.block_size

    def slots(self, ctx):
        """KV-slot concurrency k(ctx) per unit (vectorised; 0 if a sequence cannot fit)."""
        if isinstance(ctx, (int, float, np.integer, np.floating)):  # scalar fast path
            if not ctx > 0:
                raise ValueError("ctx: context must be > 0 tokens")
            blocks = math.ceil(float(ctx) / self.block_size)
            return int(min(self.total_kv_blocks // blocks,
                           math.floor(self.max_slots * self.calibration_ctx / float(ctx))))
        ctx = np.asarray(ctx, dtype=float)
        if np.any(ctx <= 0):
            raise ValueError("ctx: context must be > 0 tokens")
        kv_limit = np.floor(self.total_kv_blocks / np.ceil(ctx / self.block_size))
        cap = np.floor(self.max_slots * self.calibration_ctx / ctx)
        k = np.minimum(kv_limit, cap).astype(np.int64)
        return int(k) if k.ndim == 0 else k

    def t_iter(self, n, mean_ctx):
        """Iteration time with n resident sequences of mean KV context mean_ctx tokens."""
        n = np.asarray(n, float)
        return self.W + self.H * n * np.asarray(mean_ctx, float) / self.calibration_ctx

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, PoolProfile] = {
    "a100": PoolProfile("A100_80GB", W=0.008, H=0.00065, chunk=512, total_kv_blocks=65536,
                        block_size=16, max_slots=128, calibration_ctx=8192,
                        price_per_gpu_hour=2.21),
    "h100": PoolProfile("H100_80GB", W=0.004, H=0.00032, chunk=1024, total_kv_blocks=65536,
                        block_size=16, max_slots=256, calibration_ctx=8192,
                        price_per_gpu_hour=4.02),
    "a10g": PoolProfile("A10G", W=0.012, H=0.0009, chunk=256, total_kv_blocks=32768,
                        block_size=16, max_slots=64, calibration_ctx=8192,
                        price_per_gpu_hour=1.01),
}


def get_profile(name: str) -> PoolProfile:
    """Preset by short name (a100, h100, a10g) or by its full name (A100_80GB, ...)."""
    key = name.strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    for p in PRESETS.values():
        if p.name.lower() == key:
            return p
    raise ValueError(f"profile: unknown profile {name!r}; choose one of {sorted(PRESETS)}")


_INT_FIELDS = {"chunk": 1 << 20, "total_kv_blocks": 1 << 32, "block_size": 1 << 14,
               "max_slots": 1 << 20, "calibration_ctx": 1 << 24, "gpus_per_unit": 4096}
_FLOAT_FIELDS = {"W": 60.0, "H": 60.0, "price_per_gpu_hour": 1e5}


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed in strict JSON")


def read_json_strict(path, what: str):
    """Parse a JSON file; NaN/Infinity and non-UTF-8 input are errors naming ``what``."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: {str(path)!r} is not a readable file")
    try:
        text = p.read_text(encoding="utf-8-sig")
        return json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ValueError(f"{what}: {p.name} is not UTF-8 text") from None
    except RecursionError:
        raise ValueError(f"{what}: {p.name} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ValueError(f"{what}: {p.name} is not valid JSON ({msg})") from None


def profile_from_dict(d, where: str = "profile") -> PoolProfile:
    """A PoolProfile from a JSON object with exactly the PoolProfile fields (strict types
    and bounds; ``gpus_per_unit`` optional)."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: must be a JSON object")
    known = {"name", *_INT_FIELDS, *_FLOAT_FIELDS}
    extra = sorted(set(d) - known)
    if extra:
        raise ValueError(f"{where}.{extra[0]}: unknown field (expected {sorted(known)})")
    name = d.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200 or not name.isprintable():
        raise ValueError(f"{where}.name: must be a printable string of 1-200 characters")
    kw: dict[str, float | int] = {}
    for f, hi in _FLOAT_FIELDS.items():
        if f not in d:
            raise ValueError(f"{where}.{f}: missing")
        v = d[f]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or not 0 <= v <= hi:
            raise ValueError(f"{where}.{f}: must be a number in [0, {hi:g}], got {v!r}")
        kw[f] = float(v)
    for f, hi in _INT_FIELDS.items():
        if f not in d:
            if f == "gpus_per_unit":
                continue
            raise ValueError(f"{where}.{f}: missing")
        v = d[f]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
            raise ValueError(f"{where}.{f}: must be an integer in [1, {hi}], got {v!r}")
        kw[f] = v
    try:
        return PoolProfile(name=name, **kw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{where}.{exc}") from None


def load_profiles(path) -> dict[str, PoolProfile]:
    """Profiles from a JSON file: a list of profile objects, or ``{"profiles": [...]}``."""
    obj = read_json_strict(path, "profiles")
    if isinstance(obj, dict) and set(obj) == {"profiles"}:
        obj = obj["profiles"]
    if not isinstance(obj, list) or not obj:
        raise ValueError("profiles: expected a non-empty list of profile objects "
                         "(or {\"profiles\": [...]})")
    if len(obj) > 1000:
        raise ValueError("profiles: at most 1000 profiles")
    out: dict[str, PoolProfile] = {}
    for i, d in enumerate(obj):
        prof = profile_from_dict(d, f"profiles[{i}]")
        if prof.name in out:
            raise ValueError(f"profiles[{i}].name: duplicate name {prof.name!r}")
        out[prof.name] = prof
    return out


def resolve_profile(name: str, extra: dict | None = None) -> PoolProfile:
    """A profile from ``extra`` (loaded with :func:`load_profiles`) or a preset."""
    if extra and name in extra:
        return extra[name]
    try:
        return get_profile(name)
    except ValueError:
        more = f" or one of {sorted(extra)}" if extra else ""
        raise ValueError(f"profile: unknown profile {name!r}; choose a preset "
                         f"{sorted(PRESETS)}{more}") from None


def _price_of(gpu) -> float:
    for attr in ("price_per_gpu_hour", "price_per_hour", "price_usd_per_hour", "price_hour",
                 "price"):
        v = getattr(gpu, attr, None)
        if isinstance(v, (int, float)):
            return float(v)
    raise ValueError("gpu: catalog entry has no hourly price attribute")


def from_catalog(model_name: str, gpu_name: str, precision: str = "fp16", tp: int = 1,
                 pp: int = 1, block_size: int | None = None, chunk: int | None = None,
                 calibration_ctx: int = 8192, max_num_seqs: int | None = None,
                 catalog=None, constants=None) -> PoolProfile:
    """Build a PoolProfile for one replica of (model, gpu, precision, tp, pp) from the
    performance model that ``constants`` (an instance's ``perf`` block,
    :class:`~hetserve.instances.performance.PerfConstants`) selects — the roofline by
    default — through :mod:`hetserve.instances.perf_model` (docs/performance.md#models).

    ``block_size``, ``chunk`` and ``max_num_seqs`` default to the engine's settings for
    an engine-aware model and to 16, 512 and 256 for the roofline."""
    try:
        from hetserve.instances import performance as perf
        from hetserve.instances.perf_model import Deployment, performance_model
    except ImportError as exc:  # pragma: no cover - instances ships with this package
        raise ValueError(f"model: the catalog performance model is not available ({exc})") from exc
    if catalog is None:
        from hetserve.instances.catalog import load_catalog

        catalog = load_catalog()
    from hetserve.instances.fields import did_you_mean

    for field_name, value, table in (("model", model_name, catalog.models),
                                      ("gpu", gpu_name, catalog.gpus),
                                      ("precision", precision, catalog.precisions)):
        if value not in table:
            raise ValueError(f"{field_name}: unknown {field_name} {value!r}"
                             f"{did_you_mean(value, table)}; known: {', '.join(sorted(table))}")
    for f, v in (("tp", tp), ("pp", pp), ("block_size", block_size), ("chunk", chunk),
                 ("calibration_ctx", calibration_ctx), ("max_num_seqs", max_num_seqs)):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{f}: must be an integer >= 1, got {v!r}")
    model = catalog.models[model_name]
    gpu = catalog.gpus[gpu_name]
    prec = catalog.precisions[precision]
    if constants is None:
        constants = perf.PerfConstants()
    q = performance_model(constants).pool_quantities(Deployment(model, gpu, prec, tp, pp),
                                                     calibration_ctx)
    block_size = block_size or q.block_size or 16
    chunk = chunk or q.chunk or 512
    max_num_seqs = max_num_seqs or q.max_num_seqs or 256

    kv_tok = q.kv_bytes_per_token
    cap_bytes = q.kv_capacity_bytes
    if not cap_bytes > 0 or not kv_tok > 0:
        raise ValueError(f"gpu: {model_name} does not fit on {tp * pp} x {gpu_name} "
                         f"at {precision} (no KV capacity left)")
    total_blocks = int(cap_bytes // (kv_tok * block_size))
    if total_blocks < 1:
        raise ValueError("gpu: KV capacity is smaller than one block")
    H, W = q.H, q.W
    kv_limit = total_blocks // math.ceil(calibration_ctx / block_size)
    max_slots = max(1, min(max_num_seqs, kv_limit))
    par = f"tp{tp}" + (f"pp{pp}" if pp > 1 else "")
    if not constants.is_default_model:
        par += f"/{constants.model}-{constants.engine}"
    return PoolProfile(
        name=f"{model_name}@{gpu_name}/{precision}/{par}", W=W, H=H, chunk=chunk,
        total_kv_blocks=total_blocks, block_size=block_size, max_slots=max_slots,
        calibration_ctx=calibration_ctx, price_per_gpu_hour=_price_of(gpu),
        gpus_per_unit=tp * pp,
    )
