"""Two-pool queueing planner (FleetOpt form), KV-slot M/G/c pool model and token-budget
routing.  Modules: erlang (Erlang-B/C, waiting tail), profiles (PoolProfile, presets,
catalog adapter), workload (token CDFs, traces, quadrature), pools (calibration, P99
TTFT, sizing), planner (B, gamma sweep, baseline, B* condition), router (EMA
bytes-per-token token-budget router)."""

from .erlang import erlang_b, erlang_b_recursive, erlang_c, wait_mean, wait_quantile, wait_tail
from .planner import PlanResult, clear_caches, default_gammas, marginal_cost_boundary, plan_two_pool
from .pools import (
    PoolCalibration,
    PoolEval,
    calibrate_pool,
    calibrate_slice,
    evaluate_pool,
    size_pool,
)
from .profiles import PRESETS, PoolProfile, from_catalog, get_profile
from .router import TokenBudgetRouter, evaluate_router, synth_bytes
from .workload import (
    TokenCDF,
    Trace,
    cdf_from_json,
    cdf_from_trace,
    load_trace,
    load_workload,
    slice_stats,
)

__all__ = [
    "PRESETS",
    "PlanResult",
    "PoolCalibration",
    "PoolEval",
    "PoolProfile",
    "TokenBudgetRouter",
    "TokenCDF",
    "Trace",
    "calibrate_pool",
    "calibrate_slice",
    "cdf_from_json",
    "cdf_from_trace",
    "clear_caches",
    "default_gammas",
    "erlang_b",
    "erlang_b_recursive",
    "erlang_c",
    "evaluate_pool",
    "evaluate_router",
    "from_catalog",
    "get_profile",
    "load_trace",
    "load_workload",
    "marginal_cost_boundary",
    "plan_two_pool",
    "size_pool",
    "slice_stats",
    "synth_bytes",
    "wait_mean",
    "wait_quantile",
    "wait_tail",
]
