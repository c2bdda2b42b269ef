"""What a rolling run carries between windows (:class:`RollingState`) and what it reports
(:class:`WindowRow` per window, :class:`RollingResult` per run)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hetserve.instances.solution import Solution

if TYPE_CHECKING:
    from hetserve.instances.model import Instance

WINDOW_SLO_MET = 0.99
"""A window *meets the SLO* when at least this share of its realised requests is served with
its type's predicted P99 TTFT within the SLO (``slo_attainment``); ``windows_slo_met`` is the
share of windows that do (docs/rolling.md)."""


@dataclass(frozen=True)
class RollingState:
    """What one window hands to the next (frozen)."""

    window: int = 0
    plan: Solution | None = None
    replicas: tuple[int, ...] = ()
    forecast_rates: tuple[float, ...] | None = None  # EMA state / last realised
    forecast_prompt: tuple[float, ...] | None = None
    forecast_output: tuple[float, ...] | None = None
    ref_configs: tuple[int, ...] | None = None


@dataclass(frozen=True)
class WindowRow:
    """One window of a run: forecast and realised demand, cost terms ($ over the window),
    fleet, switches, violations, times and the predicted P99 TTFT."""

    window: int
    start_s: float
    forecast_rate: float
    realised_rate: float
    kappa_mean: float
    rental: float
    storage: float
    delay_penalty: float
    unmet_penalty: float
    window_cost: float
    switching_cost: float
    total_cost: float
    gpus: int
    gpus_by_type: dict[str, int]
    replicas: int
    starts: int
    stops: int
    violations: int
    violation_kinds: str
    shed_share: float
    unmet_share: float
    solve_time_s: float
    sizing_time_s: float
    step_time_s: float
    p99_ttft_max_s: float
    slo_attainment: float
    p99_ttft_by_type: dict[str, float]
    kept_previous: bool
    status: str
    slo_miss_sim: float = math.nan
    """Share of the window's requests over their TTFT SLO in the detailed simulator
    (unserved requests count as misses; NaN when the run does not judge by simulation)."""
    slo_met_sim: float = math.nan
    """1.0 when every type's simulated miss share is within 1 − q, else 0.0 (NaN: not
    judged)."""
    p99_ttft_sim_max_s: float = math.nan
    refused_by: str = ""
    """The limit that refused the window's κ-sized (verified) capacity: ``budget``,
    ``availability`` or ``budget+availability``; "" when the window was planned as sized
    or no such limit refused it (the window is then *admissible*, docs/rolling.md)."""

    def flat(self, gpu_names: list[str], type_names: list[str]) -> dict[str, Any]:
        """One CSV row: the scalar fields, then ``gpus_<GPU>`` and ``p99_ttft_<type>``."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__
             if k not in ("gpus_by_type", "p99_ttft_by_type")}
        for g in gpu_names:
            d[f"gpus_{g}"] = self.gpus_by_type.get(g, 0)
        for q in type_names:
            d[f"p99_ttft_{q}"] = self.p99_ttft_by_type.get(q, math.nan)
        return d


@dataclass(frozen=True)
class RollingResult:
    """Per-window rows of one rolling (or static) run, plus run metadata."""

    method: str
    rows: tuple[WindowRow, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.rows], dtype=float)

    @property
    def total_cost(self) -> float:
        return float(self.column("total_cost").sum())

    def summary(self) -> dict[str, Any]:
        """Totals over the horizon (rate-weighted shares), plus the run's scalar metadata."""
        rate = self.column("realised_rate")
        att = self.column("slo_attainment")
        refused = np.array([bool(r.refused_by) for r in self.rows], dtype=bool)
        admissible = ~refused
        met_sim = self.column("slo_met_sim")

        def share(x: np.ndarray, mask: np.ndarray) -> float:
            return float(np.mean(x[mask])) if mask.any() else math.nan

        by_limit: dict[str, int] = {}
        for r in self.rows:
            if r.refused_by:
                by_limit[r.refused_by] = by_limit.get(r.refused_by, 0) + 1
        return {
            "method": self.method,
            "windows": len(self.rows),
            "total_cost": self.total_cost,
            "operating_cost": float(self.column("window_cost").sum()),
            "rental": float(self.column("rental").sum()),
            "storage": float(self.column("storage").sum()),
            "delay_penalty": float(self.column("delay_penalty").sum()),
            "unmet_penalty": float(self.column("unmet_penalty").sum()),
            "switching_cost": float(self.column("switching_cost").sum()),
            "peak_window_cost": float(self.column("window_cost").max()),
            "window_cost_std": float(self.column("window_cost").std()),
            "mean_gpus": float(self.column("gpus").mean()),
            "peak_gpus": int(self.column("gpus").max()),
            "starts": int(self.column("starts").sum()),
            "stops": int(self.column("stops").sum()),
            "windows_with_violations": int((self.column("violations") > 0).sum()),
            "shed_share": float((self.column("shed_share") * rate).sum() / max(rate.sum(), 1e-12)),
            "slo_attainment": float((att * rate).sum() / max(rate.sum(), 1e-12)),
            "windows_slo_met": float(np.mean(att >= WINDOW_SLO_MET)) if len(att) else math.nan,
            "windows_slo_met_sim": float(np.mean(self.column("slo_met_sim")))
            if len(att) else math.nan,
            "slo_miss_sim": float((self.column("slo_miss_sim") * rate).sum()
                                  / max(rate.sum(), 1e-12)),
            "windows_refused_by_limits": int(refused.sum()),
            **{f"windows_refused_{k}": v for k, v in sorted(by_limit.items())},
            "windows_admissible": int(admissible.sum()),
            "windows_slo_met_admissible": share((att >= WINDOW_SLO_MET).astype(float),
                                                admissible),
            "windows_slo_met_sim_admissible": share(met_sim, admissible),
            "windows_slo_met_sim_refused": share(met_sim, refused),
            "solve_time_s": float(self.column("solve_time_s").sum()),
            "wall_time_s": float(self.column("step_time_s").sum()),
            "kept_previous": int(self.column("kept_previous").sum()),
            **{k: v for k, v in self.meta.items() if not isinstance(v, (dict, list))},
        }

    def write_csv(self, path: str | Path, instance: Instance) -> None:
        """One row per window (:meth:`WindowRow.flat`), floats to 6 significant digits."""
        gpus = [g.name for g in instance.gpus]
        types = [q.name for q in instance.query_types]
        rows = [r.flat(gpus, types) for r in self.rows]
        with Path(path).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
