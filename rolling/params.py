"""Settings of a rolling-horizon run: forecast, hysteresis, switching cost, sizing, seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hetserve.queueing.sizing import QueueingSizing

if TYPE_CHECKING:
    from hetserve.instances.model import Instance

FORECASTS = ("last", "ema", "oracle")
TOKEN_MODES = ("nominal", "window")


@dataclass(frozen=True)
class SwitchingCost:
    """Cost of starting / stopping replicas (:mod:`hetserve.rolling`)."""

    load_bandwidth_gb_s: float = 2.0
    startup_s: float = 30.0
    stop_s: float = 0.0
    enabled: bool = True

    def __post_init__(self) -> None:
        if not self.load_bandwidth_gb_s > 0:
            raise ValueError("load_bandwidth_gb_s: must be > 0")
        if self.startup_s < 0 or self.stop_s < 0:
            raise ValueError("startup_s: must be >= 0 (and stop_s)")

    def per_replica(self, instance: Instance) -> tuple[np.ndarray, np.ndarray]:
        """($ to start, $ to stop) one replica of every configuration of ``instance``."""
        t = instance.routes
        n = len(t)
        if not self.enabled or n == 0:
            return np.zeros(n), np.zeros(n)
        precisions = {p.name: p for p in instance.precisions}
        load = np.array([instance.model_by_name[c.model].params_b * 1e9
                         * precisions[c.precision].bytes_per_weight / (c.tp * c.pp)
                         / (self.load_bandwidth_gb_s * 1e9) for c in t.configs])
        price_s = t.price_per_replica_hour / 3600.0
        return (load + self.startup_s) * price_s, self.stop_s * price_s


@dataclass(frozen=True)
class RollingParams:
    """How every window is forecast, planned and charged.

    ``sizing`` configures the default capacity sizer (the two-pool queueing model,
    :class:`~hetserve.queueing.sizing.QueueingSizer`) and whether the driver uses a sizer at
    all (``sizing.enabled``: κ from the sizer, else 1; ``sizing.predict``: predicted P99
    TTFT per window).

    ``rate_margin`` m plans every window for (1 + m) × the forecast rates: the forecast
    error a window's capacity absorbs (window-to-window jumps reach +16 to +22 % at the
    99th percentile on the bundled days; docs/rolling.md)."""

    forecast: str = "last"
    ema_alpha: float = 0.5
    hysteresis: bool = True
    token_means: str = "nominal"
    seed: int = 0
    rate_margin: float = 0.2
    switching: SwitchingCost = field(default_factory=SwitchingCost)
    sizing: QueueingSizing = field(default_factory=QueueingSizing)

    def __post_init__(self) -> None:
        if self.forecast not in FORECASTS:
            raise ValueError(f"forecast: {self.forecast!r} not understood; expected one of "
                             f"{list(FORECASTS)}")
        if not 0 <= self.rate_margin <= 10:
            raise ValueError("rate_margin: must be in [0, 10]")
        if not 0 < self.ema_alpha <= 1:
            raise ValueError("ema_alpha: must be in (0, 1]")
        if self.token_means not in TOKEN_MODES:
            raise ValueError(f"token_means: expected one of {list(TOKEN_MODES)}")
