"""Catalogs of real GPUs, real open models and weight precisions.

The numbers live in ``instances/data/catalog/*.json`` with a source for every row
(see ``docs/catalog.md``); this module only gives them types and validates them.

Units, fixed everywhere in hetserve:

* memory in GB (1e9 bytes), bandwidth in GB/s, peaks in TFLOP/s (dense, no sparsity),
* parameters in billions, prices in $ per GPU-hour,
* KV cache stored in fp16 (2 bytes per element) whatever the weight precision.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

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


def _number(d: dict[str, Any], key: str, where: str, *, positive: bool = True) -> float:
    if key not in d:
        raise InstanceError(f"{where}.{key}", "missing")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InstanceError(f"{where}.{key}", f"expected a number, got {value!r}")
    if positive and not value > 0:
        raise InstanceError(f"{where}.{key}", f"must be > 0, got {value!r}")
    return float(value)


def _string(d: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in d:
        if default is not None:
            return default
        raise InstanceError(f"{where}.{key}", "missing")
    value = d[key]
    if not isinstance(value, str) or not value:
        raise InstanceError(f"{where}.{key}", f"expected a non-empty string, got {value!r}")
    return value


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

    def __post_init__(self) -> None:
        where = f"gpu {self.name!r}"
        for name in ("memory_gb", "bandwidth_gb_s", "fp16_tflops", "int8_tops",
                     "price_per_gpu_hour", "link_gb_s", "link_latency_us"):
            require(getattr(self, name) > 0, f"{where}.{name}", "must be > 0")
        require(self.gpus_per_node in (1, 2, 4, 8, 16), f"{where}.gpus_per_node",
                f"expected one of 1, 2, 4, 8, 16, got {self.gpus_per_node!r}")
        require(self.default_availability >= 0, f"{where}.default_availability", "must be >= 0")

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "gpu") -> GpuType:
        name = _string(d, "name", where)
        where = f"{where} {name!r}"
        per_node = d.get("gpus_per_node", 8)
        if isinstance(per_node, bool) or not isinstance(per_node, int):
            raise InstanceError(f"{where}.gpus_per_node", f"expected an integer, got {per_node!r}")
        return cls(
            name=name,
            memory_gb=_number(d, "memory_gb", where),
            bandwidth_gb_s=_number(d, "bandwidth_gb_s", where),
            fp16_tflops=_number(d, "fp16_tflops", where),
            int8_tops=_number(d, "int8_tops", where),
            gpus_per_node=per_node,
            price_per_gpu_hour=_number(d, "price_per_gpu_hour", where),
            link_gb_s=float(d.get("link_gb_s", 32.0)),
            link_latency_us=float(d.get("link_latency_us", 20.0)),
            interconnect=str(d.get("interconnect", "PCIe")),
            price_date=str(d.get("price_date", "")),
            price_source=str(d.get("price_source", "")),
            spec_source=str(d.get("spec_source", "")),
            default_availability=int(d.get("default_availability", 32)),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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

    def __post_init__(self) -> None:
        where = f"model {self.name!r}"
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
    def weight_gb_fp16(self) -> float:
        """Checkpoint size at 2 bytes per parameter (what storage holds)."""
        return 2.0 * self.params_b

    @property
    def kv_bytes_per_token(self) -> float:
        """2 (K and V) · layers · kv_heads · head_dim · 2 bytes."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * KV_BYTES_PER_ELEMENT

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "model") -> ModelSpec:
        name = _string(d, "name", where)
        where = f"{where} {name!r}"
        errors = d.get("errors")
        if not isinstance(errors, dict):
            raise InstanceError(f"{where}.errors", "missing or not an object of category -> error rate")
        ints = {}
        for key in ("layers", "hidden", "kv_heads", "head_dim", "max_context"):
            value = d.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InstanceError(f"{where}.{key}", f"expected an integer, got {value!r}")
            ints[key] = value
        params = _number(d, "params_b", where)
        return cls(
            name=name,
            params_b=params,
            active_params_b=float(d.get("active_params_b", params)),
            errors={str(k): float(v) for k, v in errors.items()},
            family=str(d.get("family", "")),
            moe=bool(d.get("moe", False)),
            source=str(d.get("source", "")),
            **ints,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Precision:
    """Weight precision of a tier.

    ``compute`` names the tensor-core peak used for matrix work: ``"int8"`` for W8A8
    (SmoothQuant-style) int8, ``"fp16"`` otherwise (int4 here is weight-only, AWQ/GPTQ
    style, which dequantises to fp16 for the matmul).
    """

    name: str
    bytes_per_weight: float
    compute: str
    error_multiplier: float

    def __post_init__(self) -> None:
        where = f"precision {self.name!r}"
        require(self.bytes_per_weight > 0, f"{where}.bytes_per_weight", "must be > 0")
        require(self.compute in ("fp16", "int8"), f"{where}.compute",
                f"expected 'fp16' or 'int8', got {self.compute!r}")
        require(self.error_multiplier >= 1.0, f"{where}.error_multiplier", "must be >= 1")

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "precision") -> Precision:
        name = _string(d, "name", where)
        where = f"{where} {name!r}"
        return cls(
            name=name,
            bytes_per_weight=_number(d, "bytes_per_weight", where),
            compute=_string(d, "compute", where, default="fp16"),
            error_multiplier=_number(d, "error_multiplier", where),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_PRECISIONS: tuple[Precision, ...] = (
    # Error multipliers 1.0 / 1.15 / 1.35 are the paper precursor's (LLM-RO) factors.
    Precision("fp16", 2.0, "fp16", 1.0),
    Precision("int8", 1.0, "int8", 1.15),
    Precision("int4", 0.5, "fp16", 1.35),
)


@dataclass(frozen=True)
class Catalog:
    """The shipped catalogs, keyed by name."""

    gpus: dict[str, GpuType]
    models: dict[str, ModelSpec]
    precisions: dict[str, Precision]
    benchmarks: dict[str, dict[str, str]]


def _read_catalog_json(name: str) -> Any:
    text = resources.files("hetserve.instances").joinpath("data", "catalog", name).read_text()
    return json.loads(text)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """Load and validate the shipped catalogs (cached; the objects are frozen)."""
    gpus_doc = _read_catalog_json("gpus.json")
    models_doc = _read_catalog_json("models.json")
    errors_doc = _read_catalog_json("errors.json")
    gpus = {}
    for k, row in enumerate(gpus_doc["gpus"]):
        gpu = GpuType.from_dict(row, where=f"gpus.json gpus[{k}]")
        gpus[gpu.name] = gpu
    scores = errors_doc["scores"]
    models = {}
    for k, row in enumerate(models_doc["models"]):
        name = row.get("name")
        if name not in scores:
            raise InstanceError(f"errors.json scores.{name}", "no benchmark scores for this model")
        errors = {c: round(1.0 - float(scores[name][c]), 6) for c in TASK_CATEGORIES}
        model = ModelSpec.from_dict({**row, "errors": errors}, where=f"models.json models[{k}]")
        models[model.name] = model
    precisions = {p.name: p for p in DEFAULT_PRECISIONS}
    return Catalog(gpus=gpus, models=models, precisions=precisions,
                   benchmarks=dict(errors_doc.get("categories", {})))
