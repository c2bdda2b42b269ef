"""Shared test helpers: round-number catalog objects and tiny instances."""

from __future__ import annotations

import numpy as np

from hetserve.instances import GpuType, Instance, ModelSpec, PerfConstants, QueryType, Tier
from hetserve.instances.catalog import TASK_CATEGORIES

OBJ_RTOL = 1e-6

IDEAL = PerfConstants(gpu_memory_utilization=1.0, runtime_reserve_gb=1e-9, prefill_efficiency=1.0,
                      prefill_efficiency_int8=1.0,
                      decode_efficiency=1.0, bandwidth_efficiency=1.0, step_overhead_s=1e-12,
                      pp_hop_latency_us=1e-6, max_num_seqs=256)
"""Constants that switch off every efficiency loss, so hand computations stay exact."""


def round_gpu(name: str = "G100", price: float = 1.0, memory_gb: float = 100.0) -> GpuType:
    """100 GB, 1,000 GB/s, 100 TFLOP/s fp16, 200 TOP/s int8, 8 per node, 100 GB/s links."""
    return GpuType(name=name, memory_gb=memory_gb, bandwidth_gb_s=1000.0, fp16_tflops=100.0,
                   int8_tops=200.0, gpus_per_node=8, price_per_gpu_hour=price, link_gb_s=100.0,
                   link_latency_us=10.0, default_availability=64)


def round_model(name: str = "M10", params_b: float = 10.0, error: float = 0.1) -> ModelSpec:
    """10B dense, 10 layers, hidden 1,000, 1 KV head of dim 100: KV = 4,000 B/token."""
    return ModelSpec(name=name, params_b=params_b, active_params_b=params_b, layers=10,
                     hidden=1000, kv_heads=1, head_dim=100, max_context=100_000,
                     errors={c: error for c in TASK_CATEGORIES})


def query(name: str = "q", rate: float = 1.0, prompt: float = 1000, output: float = 100,
          delay: float = 10.0, error: float = 0.5, **kw: float) -> QueryType:
    return QueryType(name, "conversation", rate, prompt, output, delay, error, **kw)


def tiny_instance(**kw: object) -> Instance:
    args: dict[str, object] = {
        "name": "t", "query_types": (query(),), "models": (round_model(),),
        "gpus": (round_gpu(),), "tiers": (Tier("G100", "fp16"),), "tp_degrees": (1, 2),
        "pp_degrees": (1,), "perf": IDEAL}
    args.update(kw)
    return Instance(**args)  # type: ignore[arg-type]


def gh_start_with_and_without(inst: Instance, **off: object) -> tuple:
    """Solve ``inst`` from GH's plan twice, with the defaults and with ``MilpParams(**off)``
    (a step switched off); both must prove the same optimum. Returns (start, off, on), for
    the tests that show a step of ``milp.solve`` keeps the optimum."""
    import pytest

    from hetserve.heuristics import GhParams, gh
    from hetserve.instances import Status
    from hetserve.milp import MilpParams, solve

    start = gh(inst, GhParams())
    assert start.feasible
    off_run = solve(inst, MilpParams(threads=1, **off), warm_start=start.solution)  # type: ignore[arg-type]
    on_run = solve(inst, MilpParams(threads=1), warm_start=start.solution)
    assert off_run.status is Status.OPTIMAL and on_run.status is Status.OPTIMAL
    assert on_run.objective == pytest.approx(off_run.objective, rel=2e-4)
    return start, off_run, on_run


def small_milp_instances() -> list:
    """The instances the tests of ``milp.solve``'s steps solve to proven optimality: five
    small ones in the default run, 6x6x10 s1 and paper-base marked slow."""
    import pytest

    from hetserve.instances.bundled import bundled_path
    from hetserve.instances.generate import generate
    from hetserve.instances.io import read_instance

    return [
        pytest.param(lambda: read_instance(bundled_path("small-3x3x4")), id="small-3x3x4"),
        pytest.param(lambda: generate((4, 4, 5), 0), id="4x4x5-s0"),
        pytest.param(lambda: generate((5, 5, 6), 1), id="5x5x6-s1"),
        pytest.param(lambda: generate((5, 5, 6), 3, "tight-budget"), id="5x5x6-s3-tight-budget"),
        pytest.param(lambda: generate((4, 4, 5), 4).replace(multi_parallelism=True),
                     id="4x4x5-s4-multi"),
        pytest.param(lambda: generate((6, 6, 10), 1), marks=pytest.mark.slow, id="6x6x10-s1"),
        pytest.param(lambda: read_instance(bundled_path("paper-base")), marks=pytest.mark.slow,
                     id="paper-base"),
    ]


def bound_instances() -> list:
    """The instances the bound tests compare with proven optima: every side constraint the
    Lagrangian dualises (budget, multi-parallelism, both delay rows, high penalties)."""
    from hetserve.instances.bundled import bundled_path
    from hetserve.instances.generate import generate
    from hetserve.instances.io import read_instance

    return [
        lambda: read_instance(bundled_path("small-3x3x4")),
        lambda: generate((4, 4, 5), 0),
        lambda: generate((5, 5, 6), 3, "tight-budget"),
        lambda: generate((4, 4, 5), 4).replace(multi_parallelism=True),
        lambda: generate((3, 3, 4), 3).replace(delay_constraint="both"),
        lambda: generate((4, 4, 5), 6, "high-penalty"),
    ]


def cover_instances() -> list:
    """The bound instances plus 6x6x8 s1, where weighted error covers are separated: the
    closing-with-covers and master-tuning tests compare with proven optima on these."""
    from hetserve.instances.generate import generate

    return [*bound_instances(), lambda: generate((6, 6, 8), 1)]


_OPTIMA: dict[str, object] = {}


def proven_optimum(inst: Instance):  # type: ignore[no-untyped-def]
    """The MILP's proven optimum (a generous limit: each proof takes ≤ 25 s alone, more on a
    loaded machine), solved once per test process: several bound test files compare with the
    optima of the same instances (the key is the frozen instance's full repr)."""
    from hetserve.instances import Status
    from hetserve.milp import MilpParams, solve

    key = repr(inst)
    if key not in _OPTIMA:
        opt = solve(inst, MilpParams(threads=1, time_limit_s=900.0))
        assert opt.status is Status.OPTIMAL and opt.objective is not None
        _OPTIMA[key] = opt
    return _OPTIMA[key]


def below(value: float, optimum: float) -> bool:
    """``value`` ≤ ``optimum`` up to the solvers' relative tolerance (a bound's check)."""
    return value <= optimum * (1 + 1e-9) + 1e-9


def known_uppers(inst: Instance, optimum: float) -> tuple:
    """GH's run and the upper bounds a closing may be given: the optimum (the tightest
    valid one) and GH's cost where GH finds a plan."""
    from hetserve.heuristics import gh

    start = gh(inst)
    return start, [optimum] + ([start.objective] if start.feasible else [])


def random_lagrangian_multipliers(rng, n_types: int, n_gpu_rows: int) -> tuple:  # type: ignore[no-untyped-def]
    """Sign-valid multipliers for ``milp.bound._Lagrangian`` (demand free, the rest ≥ 0) at a
    random scale: weak duality must hold for every one of them."""
    scale = float(rng.choice([0.1, 1.0, 50.0]))
    return (rng.normal(scale=scale, size=n_types), np.abs(rng.normal(scale=scale, size=n_types)),
            np.abs(rng.normal(scale=scale, size=n_types)), float(abs(rng.normal(scale=0.1))),
            np.abs(rng.normal(scale=scale, size=n_gpu_rows)), float(abs(rng.normal(scale=0.1))),
            np.abs(rng.normal(scale=scale, size=n_types)))
