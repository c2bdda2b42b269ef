"""Seeded instance generator in the paper's ranges (arXiv 2604.07472, §6 of our notes).

``generate(size=(I, J, K), seed, scenario)`` draws I query types, J models and K tiers
from the shipped catalogs with one ``numpy.random.Generator``:

* query types cycle through the task categories; rates are drawn from the paper's
  1,000–25,000 requests/h; token lengths are the category preset × a ±25 % jitter;
* the delay SLO is drawn from 1.5–25 s but never below 1.25 × the fastest route's
  single-request latency, so every query type can be served;
* real benchmark error rates (1 − score) are 5–60 %, far above the paper's synthetic
  2–8 % scale, so the error SLO is set relative to the catalog (below);
* models beyond the catalog's size are fine-tuned variants (same shape, errors × 0.9–1.1);
  tiers beyond GPU × precision combinations are spot variants (price × 0.35–0.6,
  availability / 4);
* the error SLO is a quantile (drawn in 0.3–0.8) of the errors the type can get, one per
  model (its best route that meets the delay SLO);
* the budget is set from a fluid estimate of the rental needed (each query type on its
  cheapest $/request route that meets its SLOs alone) and from the spend of a plan that
  serves each type alone in whole replicas (a feasible plan, so budgets never make an
  instance infeasible by themselves).

Scenarios: ``base`` (budget max(3 × estimate, 1.2 × the whole-replica plan), unmet ≤ 5 %),
``tight-budget`` (max(1.2 × estimate, 1.02 × the whole-replica plan serving 75 %), unmet
≤ 25 %: the budget binds and trades against unserved demand), ``high-penalty`` (unmet and
delay penalties × 10 and × 5).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hetserve.instances.catalog import (
    DEFAULT_PRECISIONS,
    EDITIONS,
    TASK_CATEGORIES,
    GpuType,
    ModelSpec,
    Precision,
    load_catalog,
)
from hetserve.instances.errors import require
from hetserve.instances.model import Instance, QueryType, Tier
from hetserve.instances.presets import PRESETS
from hetserve.instances.routing import price_per_rps

SCENARIOS = ("base", "tight-budget", "high-penalty")
STORAGE_PRICE_PER_GB_H = 0.08 / 730.0
"""Block storage at $0.08 per GB-month (AWS EBS gp3 list price) in $ per GB-hour."""
HORIZON_H = 24.0
STORAGE_CAPACITY_GB = 1000.0  # the paper's C^s

PAPER_MODELS = ("Llama-3.2-1B-Instruct", "Llama-3.2-3B-Instruct", "Llama-3.1-8B-Instruct",
                "Mistral-Small-24B-Instruct-2501", "Llama-3.1-70B-Instruct",
                "Llama-3.1-405B-Instruct")
PAPER_TIERS = (("RTX-A6000", "fp16"), ("RTX-A6000", "int8"), ("RTX-A6000", "int4"),
               ("RTX-4090", "fp16"), ("RTX-4090", "int8"), ("RTX-4090", "int4"),
               ("A100-40GB", "fp16"), ("A100-40GB", "int8"),
               ("H100-SXM", "fp16"), ("H100-SXM", "int8"))
PAPER_CATEGORIES = ("summarisation", "code", "translation", "math", "conversation", "rag")


MAX_QUERY_TYPES = 1000
MAX_MODELS = 1000


# The catalog edition the generator draws from: the one on which the `paper`, `large` and
# fresh-seed instance sets (and every number in results/) were defined. Later editions add rows
# for instance files and `hetserve estimate`; they must not reshuffle what a (size, seed)
# generates, or every benchmark would silently change.
GENERATOR_EDITION = "2026-11"


def _generator_gpus(edition: str = GENERATOR_EDITION) -> list[GpuType]:
    return list(load_catalog(edition).gpus.values())


def _generator_models(edition: str = GENERATOR_EDITION) -> list[ModelSpec]:
    return list(load_catalog(edition).models.values())


def _generator_precisions(edition: str = GENERATOR_EDITION) -> tuple[Precision, ...]:
    """The planner precisions of ``edition``: the paper's three in the default edition (equal
    to the Instance default), fp8 and fp4 after them from 2026-12."""
    return tuple(load_catalog(edition).precisions.values())


def max_tiers(edition: str = GENERATOR_EDITION) -> int:
    """Most tiers a generated instance can have: every catalog GPU and its spot variant at
    every precision (:func:`_pick_tiers`)."""
    return 2 * len(_generator_gpus(edition)) * len(_generator_precisions(edition))


def parse_size(text: str, edition: str = GENERATOR_EDITION) -> tuple[int, int, int]:
    """``"20x20x20"`` → (20, 20, 20): query types × models × tiers (each capped)."""
    parts = text.lower().split("x")
    require(len(parts) == 3 and all(p.isdigit() and len(p) <= 6 and int(p) > 0 for p in parts),
            "size", f"expected QUERYxMODELSxTIERS with positive integers, e.g. 20x20x20, "
            f"got {text[:40]!r}")
    i, j, k = (int(p) for p in parts)
    check_size((i, j, k), edition)
    return i, j, k


def check_size(size: tuple[int, int, int], edition: str = GENERATOR_EDITION) -> None:
    """Refuse sizes the generator cannot build (or would take hours to solve)."""
    i, j, k = size
    require(i <= MAX_QUERY_TYPES, "size", f"at most {MAX_QUERY_TYPES} query types, got {i}")
    require(j <= MAX_MODELS, "size", f"at most {MAX_MODELS} models, got {j}")
    names = "/".join(p.name for p in _generator_precisions(edition))
    require(k <= max_tiers(edition), "size", f"at most {max_tiers(edition)} tiers (every "
            f"catalog GPU and a spot variant at {names}), got {k}")


def _pick_models(rng: np.random.Generator, count: int,
                 edition: str = GENERATOR_EDITION) -> list[ModelSpec]:
    catalog = _generator_models(edition)
    if count <= len(catalog):
        # Always span the size range: sort by size and take evenly spaced picks, seeded jitter.
        ordered = sorted(catalog, key=lambda m: m.params_b)
        picks = np.sort(rng.choice(len(ordered), size=count, replace=False))
        return [ordered[k] for k in picks]
    models = list(catalog)
    k = 0
    while len(models) < count:
        base = catalog[int(rng.integers(len(catalog)))]
        k += 1
        scale = rng.uniform(0.9, 1.1)
        errors = {c: float(min(0.95, base.errors[c] * scale)) for c in TASK_CATEGORIES}
        models.append(replace(base, name=f"{base.name}~ft{k}", errors=errors,
                              source=f"variant of {base.name}: errors x{scale:.3f}"))
    return models


def _pick_tiers(rng: np.random.Generator, count: int,
                edition: str = GENERATOR_EDITION) -> tuple[list[GpuType], list[Tier]]:
    gpus = _generator_gpus(edition)
    precisions = _generator_precisions(edition)
    combos = [(g, p.name) for g in gpus for p in precisions]
    if count <= len(combos):
        idx = np.sort(rng.choice(len(combos), size=count, replace=False))
        chosen = [combos[k] for k in idx]
        used = {g.name: g for g, _ in chosen}
        return list(used.values()), [Tier(g.name, p) for g, p in chosen]
    all_gpus = {g.name: g for g in gpus}
    tiers = [Tier(g.name, p) for g, p in combos]
    while len(tiers) < count:
        base = gpus[int(rng.integers(len(gpus)))]
        name = f"{base.name}-spot"
        if name not in all_gpus:
            all_gpus[name] = replace(
                base, name=name, price_per_gpu_hour=round(base.price_per_gpu_hour
                                                          * rng.uniform(0.35, 0.6), 4),
                default_availability=max(1, base.default_availability // 4),
                price_source=f"spot variant of {base.name} (modelling assumption)")
        free = [p.name for p in precisions if Tier(name, p.name) not in tiers]
        if free:
            tiers.append(Tier(name, free[0]))
    tier_gpus = {t.gpu for t in tiers}
    return [g for n, g in all_gpus.items() if n in tier_gpus], tiers


def _fluid_rental(instance: Instance) -> float:
    """Σ_i λ_i · T · min over usable, error-feasible routes of $/h per (req/s)."""
    prices = price_per_rps(instance)
    total = 0.0
    for i, q in enumerate(instance.query_types):
        if np.isfinite(prices[i]).any():
            total += q.rate_per_s * instance.horizon_h * float(prices[i].min())
    return total


def _separate_plan_spend(instance: Instance, served: float) -> float:
    """Rental + storage of a plan that serves a share ``served`` of every query type alone,
    in whole replicas, on its cheapest route that meets the error SLO on its own: a feasible
    plan when availability allows, so a budget at least this large keeps the instance
    feasible."""
    t = instance.routes
    rental, models = 0.0, set()
    for i, q in enumerate(instance.query_types):
        ok = np.nonzero(t.usable[i] & (t.error[i] <= q.error_slo))[0]
        if ok.size == 0:
            continue
        replicas = np.ceil(served * q.rate_per_s / (instance.max_utilisation * t.capacity[i, ok]))
        cost = replicas * t.price_per_replica_hour[ok]
        best = int(np.argmin(cost))
        rental += float(cost[best]) * instance.horizon_h
        models.add(t.configs[ok[best]].model)
    size = sum(instance.model_by_name[m].weight_gb_fp16 for m in models)
    return rental + instance.horizon_h * instance.storage_price_per_gb_h * size


def generate(size: tuple[int, int, int], seed: int, scenario: str = "base",
             name: str | None = None, edition: str = GENERATOR_EDITION) -> Instance:
    """A seeded instance of ``size`` = (query types, models, tiers) in ``scenario``.

    ``edition`` is the catalog edition drawn from: :data:`GENERATOR_EDITION` (the default,
    behind every published number) or a later one (``"latest"``: 2026 GPUs and models, fp8
    and fp4 tiers). Another edition draws other rows for the same seed; its instances are
    named with the edition (``gen-…-e2026-12``).
    """
    require(scenario in SCENARIOS, "scenario",
            f"scenario {scenario!r} not understood; expected one of {list(SCENARIOS)}")
    edition = EDITIONS[-1] if edition == "latest" else edition
    require(edition in EDITIONS, "edition", f"unknown catalog edition {edition!r}; known: "
            f"{', '.join(EDITIONS)}, latest")
    check_size(size, edition)
    n_q, n_m, n_t = size
    rng = np.random.default_rng(seed)
    models = _pick_models(rng, n_m, edition)
    gpus, tiers = _pick_tiers(rng, n_t, edition)
    if edition != GENERATOR_EDITION and name is None:
        name = f"gen-{n_q}x{n_m}x{n_t}-s{seed}-{scenario}-e{edition}"
    categories = [TASK_CATEGORIES[k % len(TASK_CATEGORIES)] for k in range(n_q)]
    return _build(rng, f"gen-{n_q}x{n_m}x{n_t}-s{seed}-{scenario}" if name is None else name,
                  categories, models, gpus, tiers, scenario,
                  description=f"generated: size {n_q}x{n_m}x{n_t}, seed {seed}, {scenario}"
                  + ("" if edition == GENERATOR_EDITION else f", catalog edition {edition}"),
                  precisions=_generator_precisions(edition))


def paper_base(seed: int = 0, scenario: str = "base") -> Instance:
    """The paper's base setting: 6 query types, 6 Llama-class models (1B–405B), its 10
    tiers (A6000 and RTX 4090 at fp16/int8/int4, A100-40GB and H100 at fp16/int8),
    TP {1, 2, 4, 8}, PP {1, 2, 4}, 24 h, 1,000 GB storage."""
    catalog = load_catalog(GENERATOR_EDITION)
    rng = np.random.default_rng(seed)
    models = [catalog.models[m] for m in PAPER_MODELS]
    gpus = {g: catalog.gpus[g] for g, _ in PAPER_TIERS}
    tiers = [Tier(g, p) for g, p in PAPER_TIERS]
    return _build(rng, "paper-base" if scenario == "base" else f"paper-{scenario}",
                  list(PAPER_CATEGORIES), models, list(gpus.values()), tiers, scenario,
                  description="the paper's base setting (6 query types x 6 models x 10 tiers)")


def _build(rng: np.random.Generator, name: str, categories: list[str], models: list[ModelSpec],
           gpus: list[GpuType], tiers: list[Tier], scenario: str, description: str,
           precisions: tuple[Precision, ...] = DEFAULT_PRECISIONS) -> Instance:
    counts: dict[str, int] = {}
    queries = []
    for cat in categories:
        counts[cat] = counts.get(cat, 0) + 1
        p = PRESETS[cat]
        queries.append(QueryType(
            name=cat if counts[cat] == 1 else f"{cat}-{counts[cat]}",
            category=cat,
            rate_per_s=round(float(rng.uniform(1000.0, 25000.0)) / 3600.0, 4),
            prompt_tokens=round(p.prompt_tokens * float(rng.uniform(0.75, 1.25))),
            output_tokens=round(p.output_tokens * float(rng.uniform(0.75, 1.25))),
            delay_slo_s=25.0,
            error_slo=1.0,
            max_unmet=0.05,
            unmet_penalty=round(float(rng.uniform(0.002, 0.01)), 5),
            delay_penalty=round(float(rng.uniform(2e-6, 1e-5)), 8),
        ))
    slo_draws = rng.uniform(1.5, 25.0, size=len(queries))
    quantiles = rng.uniform(0.3, 0.8, size=len(queries))
    probe = Instance(name=name, query_types=tuple(queries), models=tuple(models),
                     gpus=tuple(gpus), tiers=tuple(tiers), horizon_h=HORIZON_H,
                     precisions=precisions)
    t = probe.routes
    final = []
    for i, q in enumerate(queries):
        fastest = float(t.delay_at_1[i][t.fits[i]].min()) if t.fits[i].any() else 25.0
        delay_slo = round(max(float(slo_draws[i]), 1.25 * fastest), 2)
        final.append(replace(q, delay_slo_s=delay_slo))
    inst = probe.replace(query_types=tuple(final))
    # The error SLO is a quantile of the errors the type can actually get: per model, its
    # best route that meets the delay SLO (so models with no usable route do not count).
    t = inst.routes
    final = []
    for i, q in enumerate(inst.query_types):
        usable = np.nonzero(t.usable[i])[0]
        errs = np.array([t.error[i, usable[t.config_model[usable] == j]].min()
                         for j in np.unique(t.config_model[usable])])
        error_slo = round(max(float(np.quantile(errs, quantiles[i])), 1.05 * errs.min()), 4)
        final.append(replace(q, error_slo=error_slo))
    inst = inst.replace(query_types=tuple(final))
    if scenario == "high-penalty":
        inst = inst.replace(query_types=tuple(
            replace(q, unmet_penalty=q.unmet_penalty * 10, delay_penalty=q.delay_penalty * 5)
            for q in inst.query_types))
    if scenario == "tight-budget":
        inst = inst.replace(query_types=tuple(replace(q, max_unmet=0.25) for q in inst.query_types))
    inst = inst.replace(storage_price_per_gb_h=STORAGE_PRICE_PER_GB_H,
                        storage_capacity_gb=STORAGE_CAPACITY_GB)
    estimate = _fluid_rental(inst)
    if scenario == "tight-budget":
        floor = _separate_plan_spend(inst, 1.0 - max(q.max_unmet for q in inst.query_types))
        budget = max(1.2 * estimate, 1.02 * floor)
        rule = "max(1.2 x fluid rental estimate, 1.02 x a whole-replica plan serving 75 %)"
    else:
        budget = max(3.0 * estimate, 1.2 * _separate_plan_spend(inst, 1.0))
        rule = "max(3 x fluid rental estimate, 1.2 x a whole-replica plan serving all demand)"
    return inst.replace(
        budget=round(budget + 1.0, 2),
        description=description + f"; budget = {rule}; fluid estimate ${estimate:,.2f}",
    )
