"""Per-window forecasts of the per-type rates and token means.

``last``: the previous window's realised values; ``ema``: exponential moving average with
weight ``ema_alpha`` on the newest window; ``oracle``: the window's own realised values
(the perfect-information bound). The first window has no history: every forecast uses its
realised values there, so all methods start from the same information.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace

    from .params import RollingParams
    from .result import RollingState

Forecast = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(rates, prompt means, output means), one value per query type."""


def forecast(params: RollingParams, demand: DemandTrace, state: RollingState, w: int) -> Forecast:
    """The forecast for window ``w`` from what ``state`` carries."""
    real = (demand.rates[w], demand.prompt_mean[w], demand.output_mean[w])
    if params.forecast == "oracle" or state.forecast_rates is None:
        return real
    assert state.forecast_prompt is not None and state.forecast_output is not None
    return (np.array(state.forecast_rates), np.array(state.forecast_prompt),
            np.array(state.forecast_output))


def next_forecast(params: RollingParams, demand: DemandTrace, state: RollingState,
                  w: int) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """The forecast state after window ``w`` is realised (EMA update or last value)."""
    real = (demand.rates[w], demand.prompt_mean[w], demand.output_mean[w])
    if params.forecast == "ema" and state.forecast_rates is not None:
        a = params.ema_alpha
        prev = (state.forecast_rates, state.forecast_prompt, state.forecast_output)
        r, p, o = (tuple(float(v) for v in a * np.asarray(now) + (1 - a) * np.asarray(f))
                   for now, f in zip(real, prev))
        return r, p, o
    r, p, o = (tuple(map(float, now)) for now in real)
    return r, p, o
