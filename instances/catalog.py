"""Catalogs of real GPUs, real open models and weight precisions.

The numbers live in ``instances/data/catalog/*.json`` with a source for every row
(see ``docs/catalog.md``); this module only gives them types and validates them.

Units, fixed everywhere in hetserve:

* memory in GB (1e9 bytes), bandwidth in GB/s, peaks in TFLOP/s (dense, no sparsity),
* parameters in billions, prices in $ per GPU-hour,
* KV cache stored in fp16 (2 bytes per element) whatever the weight precision.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from hetserve.instances import fields
from hetserve.instances.errors import InstanceError, require

TASK_CATEGORIES: tuple[str, ...] = (
    "conversation",
    "code",
    "summarisation",
    "rag",
    "math",
    "translation",
)
"""Task categories; each selects one column of a model's error table."""

KV_BYTES_PER_ELEMENT = 2.0
"""KV cache kept in fp16/bf16, the vLLM default (``kv_cache_dtype=auto``)."""


_DOC_KEYS = frozenset({"notes", "vendor", "estimated", "availability_note", "experts",
                       "experts_per_token", "added"})
"""Documentation-only keys a catalog row (or an inline object) may carry; not read."""


def _without_absent(d: dict[str, Any], optional: tuple[str, ...]) -> dict[str, Any]:
    """Drop optional fields left unset, so files written before they existed read back equal."""
    return {k: v for k, v in d.items() if not (k in optional and v is None)}


def _check_keys(d: Any, cls: type, where: str) -> dict[str, Any]:
    return fields.obj(d, where, known={f.name for f in dataclasses.fields(cls)} | _DOC_KEYS)


@dataclass(frozen=True)
class GpuType:
    """One GPU type as rented from a cloud (one row of ``gpus.json``)."""

    name: str
    memory_gb: float
    bandwidth_gb_s: float
    fp16_tflops: float
    int8_tops: float
    gpus_per_node: int
    price_per_gpu_hour: float
    link_gb_s: float = 32.0
    link_latency_us: float = 20.0
    interconnect: str = "PCIe"
    price_date: str = ""
    price_source: str = ""
    spec_source: str = ""
    default_availability: int = 32
    # Low-precision peaks: read by the serving model and, for fp8/fp4 tiers, the roofline.
    # They are not part of a GPU's identity: instance files written before they existed
    # compare equal to the catalog rows, and reading such a file takes the peaks from the
    # row it equals (instances/io.py).
    fp8_tflops: float | None = field(default=None, compare=False)
    """Dense FP8 tensor peak; ``None``: no FP8 tensor cores (FP8 weights run weight-only)."""
    fp4_tflops: float | None = field(default=None, compare=False)
    """Dense FP4 (NVFP4 / MXFP4) tensor peak; ``None``: no FP4 tensor cores."""

    def __post_init__(self) -> None:
        where = f"gpu {self.name!r}"
        for name in ("fp8_tflops", "fp4_tflops"):
            value = getattr(self, name)
            require(value is None or value > 0, f"{where}.{name}", "must be > 0 or absent")
        for name in ("memory_gb", "bandwidth_gb_s", "fp16_tflops", "int8_tops",
                     "price_per_gpu_hour", "link_gb_s", "link_latency_us"):
            require(getattr(self, name) > 0, f"{where}.{name}", "must be > 0")
        require(self.gpus_per_node in (1, 2, 4, 8, 16), f"{where}.gpus_per_node",
                f"expected one of 1, 2, 4, 8, 16, got {self.gpus_per_node!r}")
        require(self.default_availability >= 0, f"{where}.default_availability", "must be >= 0")

    def tensor_peak(self, compute: str) -> tuple[float, bool]:
        """(dense tensor peak in TFLOP/s, native) for a compute format (``fp16``, ``int8``,
        ``fp8``, ``fp4``). A GPU without that format's tensor cores (``fp8_tflops`` /
        ``fp4_tflops`` absent) runs it weight-only at its FP16 peak; ``native`` is then
        False. The one place both the roofline and the serving model read it."""
        value = {"fp16": self.fp16_tflops, "int8": self.int8_tops, "fp8": self.fp8_tflops,
                 "fp4": self.fp4_tflops}[compute]
        return (float(value), True) if value else (self.fp16_tflops, False)

    @classmethod
    def from_dict(cls, d: Any, where: str = "gpu") -> GpuType:
        """Read one GPU object strictly (ranges in ``docs/instance-format.md``)."""
        d = _check_keys(d, cls, where)
        num, get = fields.number, fields.get
        return cls(
            name=get(d, "name", where, fields.name),
            memory_gb=get(d, "memory_gb", where, num, lo=0, hi=1e4, lo_open=True),
            bandwidth_gb_s=get(d, "bandwidth_gb_s", where, num, lo=0, hi=1e6, lo_open=True),
            fp16_tflops=get(d, "fp16_tflops", where, num, lo=0, hi=1e6, lo_open=True),
            int8_tops=get(d, "int8_tops", where, num, lo=0, hi=1e6, lo_open=True),
            gpus_per_node=get(d, "gpus_per_node", where, fields.integer, lo=1, hi=16, default=8),
            price_per_gpu_hour=get(d, "price_per_gpu_hour", where, num, lo=0, hi=1e4,
                                   lo_open=True),
            link_gb_s=get(d, "link_gb_s", where, num, lo=0, hi=1e5, lo_open=True, default=32.0),
            link_latency_us=get(d, "link_latency_us", where, num, lo=0, hi=1e6, lo_open=True,
                                default=20.0),
            interconnect=get(d, "interconnect", where, fields.name, default="PCIe"),
            price_date=get(d, "price_date", where, fields.text, default=""),
            price_source=get(d, "price_source", where, fields.text, default=""),
            spec_source=get(d, "spec_source", where, fields.text, default=""),
            default_availability=get(d, "default_availability", where, fields.integer, lo=0,
                                     hi=10**6, default=32),
            fp8_tflops=get(d, "fp8_tflops", where, num, lo=0, hi=1e6, lo_open=True, default=None),
            fp4_tflops=get(d, "fp4_tflops", where, num, lo=0, hi=1e6, lo_open=True, default=None),
        )

    def to_dict(self) -> dict[str, Any]:
        return _without_absent(asdict(self), ("fp8_tflops", "fp4_tflops"))


@dataclass(frozen=True)
class ModelSpec:
    """One open model: the shape parameters that give weight and KV bytes.

    ``errors`` maps each task category to the model's error rate (1 − benchmark score,
    fp16 weights); see ``docs/catalog.md`` for the benchmark behind each category.
    """

    name: str
    params_b: float
    active_params_b: float
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    max_context: int
    errors: dict[str, float] = field(default_factory=dict)
    family: str = ""
    moe: bool = False
    source: str = ""
    kv_latent_dim: int | None = None
    """Multi-head latent attention (DeepSeek-V2/V3): elements cached per layer and token
    (compressed KV plus the decoupled RoPE key), replacing ``2·kv_heads·head_dim``."""
    attention_heads: int | None = None
    """Query heads, when ``attention_heads·head_dim`` differs from ``hidden`` (attention FLOP)."""

    def __post_init__(self) -> None:
        where = f"model {self.name!r}"
        for name in ("kv_latent_dim", "attention_heads"):
            value = getattr(self, name)
            require(value is None or value > 0, f"{where}.{name}", "must be > 0 or absent")
        require(self.params_b > 0, f"{where}.params_b", "must be > 0")
        require(0 < self.active_params_b <= self.params_b, f"{where}.active_params_b",
                "must be in (0, params_b]")
        for name in ("layers", "hidden", "kv_heads", "head_dim", "max_context"):
            require(getattr(self, name) > 0, f"{where}.{name}", "must be > 0")
        for category in TASK_CATEGORIES:
            require(category in self.errors, f"{where}.errors.{category}", "missing")
            e = self.errors[category]
            require(0 <= e < 1, f"{where}.errors.{category}", f"must be in [0, 1), got {e!r}")

    @property
    def query_heads(self) -> int:
        """Attention (query) heads: ``attention_heads``, else ``hidden / head_dim``."""
        return self.attention_heads or self.hidden // self.head_dim

    def tp_shard_error(self, tp: int) -> str:
        """Why TP ``tp`` cannot shard this model's attention ("" if it can).

        vLLM, SGLang and TensorRT-LLM give each TP rank whole query heads, so TP must divide
        them; KV heads are split evenly while TP is at most their number and replicated
        beyond it, so then TP must be a multiple of them (an MLA latent is replicated on
        every rank: no KV rule). docs/performance.md, "What it models".
        """
        q, kv = self.query_heads, self.kv_heads
        if q % tp:
            return f"TP {tp} does not divide the {q} attention heads of {self.name}"
        if self.kv_latent_dim is None and (kv % tp if tp <= kv else tp % kv):
            return (f"TP {tp} neither divides nor is a multiple of the {kv} KV heads of "
                    f"{self.name}")
        return ""

    @property
    def weight_gb_fp16(self) -> float:
        """Checkpoint size at 2 bytes per parameter (what storage holds)."""
        return 2.0 * self.params_b

    @property
    def kv_bytes_per_token(self) -> float:
        """2 (K and V) · layers · kv_heads · head_dim · 2 bytes (MLA: layers · latent · 2)."""
        if self.kv_latent_dim is not None:
            return self.layers * self.kv_latent_dim * KV_BYTES_PER_ELEMENT
        return 2.0 * self.layers * self.kv_heads * self.head_dim * KV_BYTES_PER_ELEMENT

    @classmethod
    def from_dict(cls, d: Any, where: str = "model") -> ModelSpec:
        """Read one model object strictly (ranges in ``docs/instance-format.md``)."""
        d = _check_keys(d, cls, where)
        num, get, integer = fields.number, fields.get, fields.integer
        params = get(d, "params_b", where, num, lo=0, hi=1e5, lo_open=True)
        errors = fields.get(d, "errors", where, fields.obj, known=TASK_CATEGORIES)
        return cls(
            name=get(d, "name", where, fields.name),
            params_b=params,
            active_params_b=get(d, "active_params_b", where, num, lo=0, hi=params, lo_open=True,
                                default=params),
            layers=get(d, "layers", where, integer, lo=1, hi=10_000),
            hidden=get(d, "hidden", where, integer, lo=1, hi=10**6),
            kv_heads=get(d, "kv_heads", where, integer, lo=1, hi=10_000),
            head_dim=get(d, "head_dim", where, integer, lo=1, hi=100_000),
            max_context=get(d, "max_context", where, integer, lo=1, hi=10**9),
            errors={c: get(errors, c, f"{where}.errors", num, lo=0, hi=1, hi_open=True)
                    for c in TASK_CATEGORIES},
            family=get(d, "family", where, fields.text, max_len=fields.MAX_NAME, default=""),
            moe=get(d, "moe", where, fields.boolean, default=False),
            source=get(d, "source", where, fields.text, default=""),
            kv_latent_dim=get(d, "kv_latent_dim", where, integer, lo=1, hi=10**6, default=None),
            attention_heads=get(d, "attention_heads", where, integer, lo=1, hi=10**5, default=None),
        )

    def to_dict(self) -> dict[str, Any]:
        return _without_absent(asdict(self), ("kv_latent_dim", "attention_heads"))


COMPUTE_FORMATS = ("fp16", "int8", "fp8", "fp4")
"""Tensor-core formats a precision's matmuls can run in (:class:`Precision`)."""


@dataclass(frozen=True)
class Precision:
    """Weight precision of a tier.

    ``compute`` names the tensor-core peak used for matrix work: ``"int8"`` for W8A8
    (SmoothQuant-style) int8, ``"fp8"`` for W8A8 FP8, ``"fp4"`` for NVFP4/MXFP4, ``"fp16"``
    otherwise (int4 here is weight-only, AWQ/GPTQ style, which dequantises to fp16 for the
    matmul). A GPU without the FP8 or FP4 peak runs that format weight-only at its FP16 peak
    (:func:`hetserve.instances.performance.matmul_flops`; docs/catalog.md §4).
    """

    name: str
    bytes_per_weight: float
    compute: str
    error_multiplier: float

    def __post_init__(self) -> None:
        where = f"precision {self.name!r}"
        require(self.bytes_per_weight > 0, f"{where}.bytes_per_weight", "must be > 0")
        require(self.compute in COMPUTE_FORMATS, f"{where}.compute",
                f"expected one of {', '.join(COMPUTE_FORMATS)}, got {self.compute!r}")
        require(self.error_multiplier >= 1.0, f"{where}.error_multiplier", "must be >= 1")

    @classmethod
    def from_dict(cls, d: Any, where: str = "precision") -> Precision:
        """Read one precision object strictly."""
        d = _check_keys(d, cls, where)
        get = fields.get
        return cls(
            name=get(d, "name", where, fields.name),
            bytes_per_weight=get(d, "bytes_per_weight", where, fields.number, lo=0, hi=8,
                                 lo_open=True),
            compute=get(d, "compute", where, fields.choice, COMPUTE_FORMATS, default="fp16"),
            error_multiplier=get(d, "error_multiplier", where, fields.number, lo=1, hi=100),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_PRECISIONS: tuple[Precision, ...] = (
    # Error multipliers 1.0 / 1.15 / 1.35 are the paper precursor's (LLM-RO) factors.
    Precision("fp16", 2.0, "fp16", 1.0),
    Precision("int8", 1.0, "int8", 1.15),
    Precision("int4", 0.5, "fp16", 1.35),
)
LATER_PRECISIONS: dict[str, tuple[Precision, ...]] = {
    # The 2026-12 edition's planner formats (docs/catalog.md §4). Error multipliers on the
    # paper's scale, where int8 (98–99 % of the bf16 score kept) is 1.15: W8A8 FP8 keeps
    # >= 99.5 % (Kurtić et al., arXiv 2411.02355) -> 1.05; post-training 4-bit formats keep
    # about 98 % like W4A16 int4 -> the paper's int4 factor, 1.35. FP4 bytes: 4 bits plus
    # one FP8 scale per 16 values (NVFP4).
    "2026-12": (Precision("fp8", 1.0, "fp8", 1.05),
                Precision("fp4", 0.5625, "fp4", 1.35)),
}


@dataclass(frozen=True)
class Catalog:
    """The shipped catalogs, keyed by name."""

    gpus: dict[str, GpuType]
    models: dict[str, ModelSpec]
    precisions: dict[str, Precision]
    benchmarks: dict[str, dict[str, str]]


def _read_catalog_json(name: str) -> Any:
    text = (resources.files("hetserve.instances") / "data" / "catalog" / name).read_text("utf-8")
    return fields.parse_json(text, name)


EDITIONS = ("2026-11", "2026-12")
"""Catalog editions. A row with ``"added": "2026-12"`` belongs to that edition and later;
rows without ``added`` are in every edition. The default edition is the one the instance
generator, the presets and the bundled instances were built on, so adding rows never
changes what they draw; ``load_catalog("latest")`` gives every row (``hetserve estimate``,
the serving model, measured profiles)."""
DEFAULT_EDITION = "2026-11"


def _in_edition(row: Any, where: str, edition: str) -> bool:
    added = fields.get(fields.obj(row, where), "added", where, fields.choice, EDITIONS,
                       default=EDITIONS[0])
    return EDITIONS.index(added) <= EDITIONS.index(edition)


@lru_cache(maxsize=4)
def load_catalog(edition: str = DEFAULT_EDITION) -> Catalog:
    """Load and validate the shipped catalogs of an edition (cached; the objects are frozen).

    ``edition`` is one of :data:`EDITIONS` or ``"latest"`` (see :data:`EDITIONS`).
    """
    if edition == "latest":
        edition = EDITIONS[-1]
    require(edition in EDITIONS, "edition", f"unknown catalog edition {edition!r}; "
                                            f"known: {', '.join(EDITIONS)}, latest")
    gpus_doc = fields.obj(_read_catalog_json("gpus.json"), "gpus.json")
    models_doc = fields.obj(_read_catalog_json("models.json"), "models.json")
    errors_doc = fields.obj(_read_catalog_json("errors.json"), "errors.json")
    gpus = {}
    for k, row in enumerate(fields.get(gpus_doc, "gpus", "gpus.json", fields.array)):
        if not _in_edition(row, f"gpus.json gpus[{k}]", edition):
            continue
        gpu = GpuType.from_dict(row, where=f"gpus.json gpus[{k}]")
        gpus[gpu.name] = gpu
    scores = fields.get(errors_doc, "scores", "errors.json", fields.obj)
    models = {}
    for k, row in enumerate(fields.get(models_doc, "models", "models.json", fields.array)):
        where = f"models.json models[{k}]"
        if not _in_edition(row, where, edition):
            continue
        name = fields.get(fields.obj(row, where), "name", where, fields.name)
        if name not in scores:
            raise InstanceError(f"errors.json scores.{name}", "no benchmark scores for this model")
        row_scores = fields.obj(scores[name], f"errors.json scores.{name}")
        errors = {c: round(1.0 - fields.get(row_scores, c, f"errors.json scores.{name}",
                                            fields.number, lo=0, hi=1), 6)
                  for c in TASK_CATEGORIES}
        model = ModelSpec.from_dict({**row, "errors": errors}, where=where)
        models[model.name] = model
    later = [p for added, rows in LATER_PRECISIONS.items()
             if EDITIONS.index(added) <= EDITIONS.index(edition) for p in rows]
    precisions = {p.name: p for p in (*DEFAULT_PRECISIONS, *later)}
    return Catalog(gpus=gpus, models=models, precisions=precisions,
                   benchmarks=dict(errors_doc.get("categories", {})))
