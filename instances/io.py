"""Read and write instance and solution JSON files (format: ``docs/instance-format.md``).

Two layers, as in vrplib: :func:`read_json` only parses text; :func:`instance_from_dict`
turns a document into a validated :class:`~instances.model.Instance`. Every problem is
reported as an :class:`~instances.errors.InstanceError` naming the field and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hetserve.instances.catalog import GpuType, ModelSpec, Precision, load_catalog
from hetserve.instances.errors import InstanceError
from hetserve.instances.model import Instance, QueryType, Tier
from hetserve.instances.performance import PerfConstants

_QUERY_FIELDS = {
    "name": str, "category": str, "rate_per_s": float, "prompt_tokens": float,
    "output_tokens": float, "delay_slo_s": float, "error_slo": float, "max_unmet": float,
    "unmet_penalty": float, "delay_penalty": float, "delay_factor": float, "error_factor": float,
}
_QUERY_REQUIRED = ("name", "category", "rate_per_s", "prompt_tokens", "output_tokens",
                   "delay_slo_s", "error_slo")
_TOP_FIELDS = {
    "format", "name", "description", "horizon_h", "budget", "storage_price_per_gb_h",
    "storage_capacity_gb", "max_utilisation", "delay_constraint", "single_placement",
    "multi_parallelism", "tp_degrees", "pp_degrees", "availability", "perf", "query_types",
    "models", "gpus", "precisions", "tiers",
}


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing file or malformed JSON becomes an :class:`InstanceError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InstanceError(str(path), f"cannot read file ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError(str(path), f"malformed JSON at line {exc.lineno} column {exc.colno}: "
                            f"{exc.msg}") from None


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InstanceError(where, f"expected a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise InstanceError(where, f"expected a string, got {value!r}")
        return value
    return value


def _query_type(d: Any, where: str) -> QueryType:
    if not isinstance(d, dict):
        raise InstanceError(where, f"expected an object, got {type(d).__name__}")
    for key in d:
        if key not in _QUERY_FIELDS:
            raise InstanceError(f"{where}.{key}", f"unknown field; known: {sorted(_QUERY_FIELDS)}")
    for key in _QUERY_REQUIRED:
        if key not in d:
            raise InstanceError(f"{where}.{key}", "missing")
    kwargs = {k: _typed(v, _QUERY_FIELDS[k], f"{where}.{k}") for k, v in d.items()}
    return QueryType(**kwargs)


def _catalog_or_inline(entry: Any, kind: str, where: str) -> Any:
    catalog = load_catalog()
    table = {"model": catalog.models, "gpu": catalog.gpus, "precision": catalog.precisions}[kind]
    if isinstance(entry, str):
        if entry not in table:
            raise InstanceError(where, f"unknown {kind} {entry!r}; the catalog has "
                                f"{', '.join(sorted(table))}")
        return table[entry]
    if not isinstance(entry, dict):
        raise InstanceError(where, f"expected a catalog name or an object, got {entry!r}")
    cls = {"model": ModelSpec, "gpu": GpuType, "precision": Precision}[kind]
    return cls.from_dict(entry, where=where)


def _int_list(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise InstanceError(where, f"expected a non-empty list of integers, got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InstanceError(where, f"expected integers, got {v!r}")
    return tuple(value)


def _optional_number(d: dict[str, Any], key: str) -> float | None:
    if d.get(key) is None:
        return None
    return _typed(d[key], float, key)


def instance_from_dict(d: Any) -> Instance:
    """Build and validate an instance from its JSON document."""
    if not isinstance(d, dict):
        raise InstanceError("", "an instance file must hold a JSON object")
    for key in d:
        if key not in _TOP_FIELDS:
            raise InstanceError(key, f"unknown field; known: {sorted(_TOP_FIELDS)}")
    for key in ("name", "query_types", "models", "gpus", "tiers"):
        if key not in d:
            raise InstanceError(key, "missing")
    for key in ("query_types", "models", "gpus", "tiers"):
        if not isinstance(d[key], list):
            raise InstanceError(key, f"expected a list, got {type(d[key]).__name__}")
    queries = tuple(_query_type(q, f"query_types[{k}]") for k, q in enumerate(d["query_types"]))
    models = tuple(_catalog_or_inline(m, "model", f"models[{k}]") for k, m in enumerate(d["models"]))
    gpus = tuple(_catalog_or_inline(g, "gpu", f"gpus[{k}]") for k, g in enumerate(d["gpus"]))
    precisions = tuple(_catalog_or_inline(p, "precision", f"precisions[{k}]")
                       for k, p in enumerate(d.get("precisions", ["fp16", "int8", "int4"])))
    tiers = []
    for k, t in enumerate(d["tiers"]):
        if isinstance(t, str) and "/" in t:
            gpu, prec = t.split("/", 1)
        elif isinstance(t, dict) and "gpu" in t and "precision" in t:
            gpu, prec = t["gpu"], t["precision"]
        else:
            raise InstanceError(f"tiers[{k}]", 'expected {"gpu": ..., "precision": ...} or "GPU/precision"')
        tiers.append(Tier(str(gpu), str(prec)))
    availability = d.get("availability") or {}
    if not isinstance(availability, dict):
        raise InstanceError("availability", "expected an object GPU name -> max GPUs")
    perf = d.get("perf")
    if perf is not None and not isinstance(perf, dict):
        raise InstanceError("perf", "expected an object of named constants")
    for key in ("single_placement", "multi_parallelism"):
        if key in d and not isinstance(d[key], bool):
            raise InstanceError(key, f"expected true or false, got {d[key]!r}")
    name = d["name"]
    if not isinstance(name, str) or not name:
        raise InstanceError("name", "expected a non-empty string")
    return Instance(
        name=name,
        description=str(d.get("description", "")),
        query_types=queries,
        models=models,
        gpus=gpus,
        precisions=precisions,
        tiers=tuple(tiers),
        tp_degrees=_int_list(d.get("tp_degrees", [1, 2, 4, 8]), "tp_degrees"),
        pp_degrees=_int_list(d.get("pp_degrees", [1, 2, 4]), "pp_degrees"),
        horizon_h=_typed(d.get("horizon_h", 24.0), float, "horizon_h"),
        budget=_optional_number(d, "budget"),
        storage_price_per_gb_h=_typed(d.get("storage_price_per_gb_h", 0.0), float,
                                      "storage_price_per_gb_h"),
        storage_capacity_gb=_optional_number(d, "storage_capacity_gb"),
        availability={str(k): v for k, v in availability.items()},
        max_utilisation=_typed(d.get("max_utilisation", 1.0), float, "max_utilisation"),
        delay_constraint=_typed(d.get("delay_constraint", "per-route"), str, "delay_constraint"),
        single_placement=bool(d.get("single_placement", False)),
        multi_parallelism=bool(d.get("multi_parallelism", False)),
        perf=PerfConstants.from_dict(perf),
    )


def read_instance(path: str | Path) -> Instance:
    """Read an instance file (or a bundled instance name such as ``paper-base``)."""
    p = Path(path)
    if not p.exists() and not p.suffix:
        from hetserve.instances.bundled import bundled_path

        bundled = bundled_path(str(path))
        if bundled is not None:
            p = bundled
    return instance_from_dict(read_json(p))


def write_instance(instance: Instance, path: str | Path) -> None:
    Path(path).write_text(json.dumps(instance.to_dict(), indent=1) + "\n")
