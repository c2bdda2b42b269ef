r"""Rolling-horizon re-planning over a demand trace (docs/semantics.md#rolling-horizon,
docs/rolling.md).

The horizon is cut into windows (default 5 min over 24 h, 288 windows). In every window

1. **forecast** the window's per-type rates (and token means) from what was seen so far
   (:mod:`.forecast`: ``last``, ``ema`` or ``oracle``);
2. **size** the capacity with the injected :class:`~.driver.CapacitySizer` (default: the
   two-pool queueing model, :mod:`hetserve.queueing.sizing`), which gives a **demand
   inflation** κ_i ≥ 1 per query type;
3. **re-plan** with the injected :data:`~.driver.WindowSolver` on the *planning instance*
   (forecast rates × κ_i, penalties ÷ κ_i, the window's share of the budget), warm-started
   from the previous plan, seed ``seed + window``. The reference configuration of a type
   (whose κ is asked) is the one carrying most of it in the previous plan; before any plan,
   the one a fluid pre-solve routes most of it to;
4. optionally keep the previous plan (**hysteresis**) when it is still feasible for the
   planning instance and no dearer than the new plan plus the switching cost of moving;
5. **charge switching** for every replica started or stopped against the previous plan;
6. **evaluate** the plan with THE evaluator (:func:`hetserve.instances.evaluate.evaluate`)
   on the *realised instance* (the window's realised rates, the true penalties), and
   predict the P99 TTFT of every type with the sizer.

Realised cost
    The plan (made for the forecast) is evaluated on the realised instance; its violations
    (overloaded replicas, ...) are counted. The cost charged is that of the *shed* plan: on
    every overloaded configuration the routed shares are scaled down until the load fits
    ρ_max r_γ, and what is shed is unmet demand paying φ_i (the evaluator prices it and
    flags ``unmet`` when ζ_i is exceeded).

Switching cost
    Starting a replica of (model, GPU, precision, n, m) costs its load time × its GPUs'
    price: load time = weight bytes / (n·m) / ``load_bandwidth_gb_s`` (default 2 GB/s, a
    sequential NVMe read; every GPU loads its shard in parallel) + ``startup_s`` (default
    30 s: engine start, CUDA-graph capture, warm-up; an assumption). Stopping costs
    ``stop_s`` seconds of the replica (default 0). Each change is charged once, in the
    window where the replica count of a configuration changes (a parallelism change is a
    stop plus a start). Window 0 starts the fleet from nothing, for every method alike.

State
    Everything carried from one window to the next is one frozen :class:`~.result.RollingState`
    (previous plan, its replicas, EMA state, last realised values); :func:`~.driver.step`
    maps ``(state, window) → (state', row)``. The queueing cache is a memo of a pure function.

Static baselines (:func:`~.driver.run_static`) solve once for the mean or the peak per-type
rates of the horizon (sized by the same κ), then keep that plan in every window.

Modules: :mod:`.params` (settings), :mod:`.forecast`, :mod:`.window` (window instance and
plan arrays), :mod:`.driver`, :mod:`.result`, :mod:`.report` (summary, plots, output
files), :mod:`.des_check` (the queueing model the driver relies on vs the discrete-event
simulator).
"""

from hetserve.queueing.sizing import QueueingSizer, QueueingSizing, SizingEntry

from .driver import (
    CapacitySizer,
    RollingContext,
    WindowSolver,
    make_context,
    plan_for,
    run,
    run_rolling,
    run_static,
    static_plan,
    step,
)
from .params import FORECASTS, TOKEN_MODES, RollingParams, SwitchingCost
from .result import RollingResult, RollingState, WindowRow
from .window import (
    RATE_FLOOR,
    cheapest_routes,
    check_demand,
    dominant_routes,
    shed_overload,
    window_instance,
)

__all__ = [
    "FORECASTS",
    "RATE_FLOOR",
    "TOKEN_MODES",
    "CapacitySizer",
    "QueueingSizer",
    "QueueingSizing",
    "RollingContext",
    "RollingParams",
    "RollingResult",
    "RollingState",
    "SizingEntry",
    "SwitchingCost",
    "WindowRow",
    "WindowSolver",
    "cheapest_routes",
    "check_demand",
    "dominant_routes",
    "make_context",
    "plan_for",
    "run",
    "run_rolling",
    "run_static",
    "shed_overload",
    "static_plan",
    "step",
    "window_instance",
]
