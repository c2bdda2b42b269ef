"""Read and write instance and solution JSON files (format: ``docs/instance-format.md``).

Two layers, as in vrplib: :func:`read_json` only parses (strict JSON, UTF-8, size-capped:
:mod:`instances.fields`); :func:`instance_from_dict` turns a document into a validated
:class:`~instances.model.Instance`, reading every field with the strict readers of
:mod:`instances.fields` (types, finite numbers in documented ranges, known enum values).
Every problem is reported as an :class:`~instances.errors.InstanceError` naming the field
and the reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hetserve.instances import fields
from hetserve.instances.catalog import TASK_CATEGORIES, GpuType, ModelSpec, Precision, load_catalog
from hetserve.instances.errors import InstanceError
from hetserve.instances.fields import read_json as read_json
from hetserve.instances.model import DELAY_CONSTRAINTS, DEPLOYMENT_MODES, Instance, QueryType, Tier
from hetserve.instances.performance import PerfConstants

FORMAT = "hetserve-instance/1"
TP_DEGREES = (1, 2, 4, 8, 16)
PP_DEGREES = (1, 2, 4, 8)
MAX_ITEMS = 1000
"""Most query types, models, GPUs, precisions or tiers in one instance file."""

_INF = math.inf
# Field -> (lo, hi, lo_open) of every number of a query type; docs/instance-format.md.
_QUERY_NUMBERS: dict[str, tuple[float, float, bool]] = {
    "rate_per_s": (0.0, 1e7, True), "prompt_tokens": (1.0, 1e7, False),
    "output_tokens": (1.0, 1e7, False), "delay_slo_s": (0.0, 1e6, True),
    "error_slo": (0.0, 1.0, True), "max_unmet": (0.0, 1.0, False),
    "unmet_penalty": (0.0, 1e6, False), "delay_penalty": (0.0, 1e6, False),
    "delay_factor": (0.0, 1e3, True), "error_factor": (0.0, 1e3, True),
}
_QUERY_REQUIRED = ("name", "category", "rate_per_s", "prompt_tokens", "output_tokens",
                   "delay_slo_s", "error_slo")
_PERF_NUMBERS: dict[str, tuple[float, float, bool]] = {
    "gpu_memory_utilization": (0.0, 1.0, True), "runtime_reserve_gb": (0.0, 1e3, True),
    "prefill_efficiency": (0.0, 1.0, True), "prefill_efficiency_int8": (0.0, 1.0, True),
    "decode_efficiency": (0.0, 1.0, True), "bandwidth_efficiency": (0.0, 1.0, True),
    "step_overhead_s": (0.0, 10.0, True), "pp_hop_latency_us": (0.0, 1e6, True),
    "kv_network_gb_s": (0.0, 1e5, True), "kv_network_latency_us": (0.0, 1e6, True),
}
_TOP_FIELDS = {
    "format", "name", "description", "horizon_h", "budget", "storage_price_per_gb_h",
    "storage_capacity_gb", "max_utilisation", "delay_constraint", "single_placement",
    "multi_parallelism", "tp_degrees", "pp_degrees", "availability", "perf", "query_types",
    "models", "gpus", "precisions", "tiers", "deployment_modes", "pd_ratios",
}


def _query_type(d: Any, where: str) -> QueryType:
    d = fields.obj(d, where, known={*_QUERY_NUMBERS, "name", "category"})
    for key in _QUERY_REQUIRED:
        if key not in d:
            raise InstanceError(f"{where}.{key}", "missing")
    numbers = {k: fields.number(d[k], f"{where}.{k}", lo=lo, hi=hi, lo_open=lo_open)
               for k, (lo, hi, lo_open) in _QUERY_NUMBERS.items() if k in d}
    return QueryType(name=fields.name(d["name"], f"{where}.name"),
                     category=fields.choice(d["category"], f"{where}.category", TASK_CATEGORIES),
                     **numbers)


def _catalog_or_inline(entry: Any, kind: str, where: str) -> Any:
    # A name resolves against every catalog row: editions only add rows, so a name from the
    # default edition means the same row here (docs/catalog.md, "Editions").
    catalog = load_catalog("latest")
    tables: dict[str, dict[str, Any]] = {"model": catalog.models, "gpu": catalog.gpus,
                                         "precision": catalog.precisions}
    table = tables[kind]
    if isinstance(entry, str):
        if entry not in table:
            raise InstanceError(where, f"unknown {kind} {fields.name(entry, where)!r}"
                                f"{fields.did_you_mean(entry, table)}; the catalog "
                                f"has {', '.join(sorted(table))}")
        return table[entry]
    if not isinstance(entry, dict):
        raise InstanceError(where, f"expected a catalog name or an object, got {entry!r:.60}")
    cls: Any = {"model": ModelSpec, "gpu": GpuType, "precision": Precision}[kind]
    item = cls.from_dict(entry, where=where)
    if (kind == "gpu" and "fp8_tflops" not in entry and "fp4_tflops" not in entry
            and table.get(item.name) == item):
        # A GPU row written before the low-precision peaks existed (the bundled instances):
        # the catalog row it equals carries them, so FP8/FP4 tiers on it run natively.
        return table[item.name]
    return item


def _tier(t: Any, where: str) -> Tier:
    if isinstance(t, str):
        gpu, slash, prec = t.partition("/")
        if not slash:
            raise InstanceError(where, f'expected "GPU/precision", got {t!r:.60}')
        return Tier(fields.name(gpu, where), fields.name(prec, where))
    t = fields.obj(t, where, known=("gpu", "precision"))
    return Tier(fields.get(t, "gpu", where, fields.name),
                fields.get(t, "precision", where, fields.name))


def _perf(d: Any) -> PerfConstants:
    d = fields.obj(d, "perf", known={*_PERF_NUMBERS, "max_num_seqs", "model", "engine", "profile",
                                     "kv_precision"})
    values: dict[str, Any] = {k: fields.number(d[k], f"perf.{k}", lo=lo, hi=hi, lo_open=lo_open)
                              for k, (lo, hi, lo_open) in _PERF_NUMBERS.items() if k in d}
    for key in ("model", "engine", "profile", "kv_precision"):  # the model selection
        if key in d:
            values[key] = fields.name(d[key], f"perf.{key}")
    if "max_num_seqs" in d:
        values["max_num_seqs"] = fields.integer(d["max_num_seqs"], "perf.max_num_seqs", lo=1,
                                                hi=10**6)
    return PerfConstants.from_dict(values)


def _availability(d: Any) -> dict[str, int]:
    d = fields.obj(d, "availability")
    return {fields.name(k, "availability"): fields.integer(v, f"availability.{k}", lo=0, hi=10**6)
            for k, v in d.items()}


def _unique_names(items: tuple[Any, ...], where: str) -> None:
    seen: set[str] = set()
    for k, item in enumerate(items):
        if item.name in seen:
            raise InstanceError(f"{where}[{k}].name", f"duplicate name {item.name!r}")
        seen.add(item.name)


def instance_from_dict(d: Any) -> Instance:
    """Build and validate an instance from its JSON document (every field read strictly:
    ranges and types in ``docs/instance-format.md``)."""
    if not isinstance(d, dict):
        raise InstanceError("", "an instance file must hold a JSON object")
    fields.obj(d, "", known=_TOP_FIELDS)
    fields.get(d, "format", "", fields.choice, (FORMAT,), default=FORMAT)
    get, num = fields.get, fields.number

    def items(key: str, required: bool = True) -> list[Any]:
        return get(d, key, "", fields.array, min_len=1, max_len=MAX_ITEMS,
                   **({} if required else {"default": None}))

    name = get(d, "name", "", fields.name)
    queries = tuple(_query_type(q, f"query_types[{k}]") for k, q in enumerate(items("query_types")))
    models = tuple(_catalog_or_inline(m, "model", f"models[{k}]") for k, m in enumerate(items("models")))
    gpus = tuple(_catalog_or_inline(g, "gpu", f"gpus[{k}]") for k, g in enumerate(items("gpus")))
    precisions = tuple(_catalog_or_inline(p, "precision", f"precisions[{k}]")
                       for k, p in enumerate(items("precisions", required=False)
                                             or ["fp16", "int8", "int4"]))
    tiers = tuple(_tier(t, f"tiers[{k}]") for k, t in enumerate(items("tiers")))
    for key, group in (("query_types", queries), ("models", models), ("gpus", gpus),
                       ("precisions", precisions), ("tiers", tiers)):
        _unique_names(group, key)
    return Instance(
        name=name,
        description=get(d, "description", "", fields.text, default=""),
        query_types=queries,
        models=models,
        gpus=gpus,
        precisions=precisions,
        tiers=tiers,
        tp_degrees=get(d, "tp_degrees", "", fields.degrees, TP_DEGREES, default=(1, 2, 4, 8)),
        pp_degrees=get(d, "pp_degrees", "", fields.degrees, PP_DEGREES, default=(1, 2, 4)),
        horizon_h=get(d, "horizon_h", "", num, lo=0, hi=87_600, lo_open=True, default=24.0),
        budget=_optional(d, "budget", lambda v, w: num(v, w, lo=0, hi=1e15, lo_open=True)),
        storage_price_per_gb_h=get(d, "storage_price_per_gb_h", "", num, lo=0, hi=1e3,
                                   default=0.0),
        storage_capacity_gb=_optional(d, "storage_capacity_gb",
                                      lambda v, w: num(v, w, lo=0, hi=1e9, lo_open=True)),
        availability=_availability(d["availability"]) if d.get("availability") is not None else {},
        max_utilisation=get(d, "max_utilisation", "", num, lo=0, hi=1, lo_open=True, default=1.0),
        delay_constraint=get(d, "delay_constraint", "", fields.choice, DELAY_CONSTRAINTS,
                             default="per-route"),
        single_placement=get(d, "single_placement", "", fields.boolean, default=False),
        multi_parallelism=get(d, "multi_parallelism", "", fields.boolean, default=False),
        perf=_perf(d["perf"]) if d.get("perf") is not None else PerfConstants(),
        **_pd_options(d),
    )


def _pd_options(d: dict[str, Any]) -> dict[str, Any]:
    """``deployment_modes`` and ``pd_ratios`` (docs/pd.md), only when given."""
    out: dict[str, Any] = {}
    if "deployment_modes" in d:
        modes = fields.array(d["deployment_modes"], "deployment_modes", min_len=1,
                             max_len=len(DEPLOYMENT_MODES))
        out["deployment_modes"] = tuple(
            fields.choice(m, f"deployment_modes[{k}]", DEPLOYMENT_MODES) for k, m in enumerate(modes))
    if "pd_ratios" in d:
        pairs = fields.array(d["pd_ratios"], "pd_ratios", min_len=1, max_len=64)
        ratios = []
        for k, pair in enumerate(pairs):
            pair = fields.array(pair, f"pd_ratios[{k}]", min_len=2, max_len=2)
            ratios.append(tuple(fields.integer(v, f"pd_ratios[{k}][{n}]", lo=1, hi=16)
                                for n, v in enumerate(pair)))
        out["pd_ratios"] = tuple(ratios)
    return out


def _optional(d: dict[str, Any], key: str, read: Any) -> Any:
    """A field whose ``null`` (or absence) means "no limit"."""
    return None if d.get(key) is None else read(d[key], key)


def read_instance(path: str | Path) -> Instance:
    """Read an instance file (or a bundled instance name such as ``paper-base``)."""
    if "\0" in str(path):
        raise InstanceError("instance", "a file name cannot contain a NUL character")
    p = Path(path)
    if not p.exists() and not p.suffix:
        from hetserve.instances.bundled import bundled_path

        bundled = bundled_path(str(path))
        if bundled is not None:
            p = bundled
    instance = instance_from_dict(read_json(p))
    if instance.perf.profile is not None:
        # Read the measured profile now, so that a missing or malformed file is bad input
        # of this call (exit 2) and not an error deep inside the first route-table build.
        from hetserve.instances.perf_model import performance_model

        performance_model(instance.perf)
    return instance


def write_instance(instance: Instance, path: str | Path) -> None:
    Path(path).write_text(json.dumps(instance.to_dict(), indent=1, allow_nan=False) + "\n")
