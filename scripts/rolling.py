"""``hetserve rolling``: rolling-horizon re-planning (or a static baseline) over a demand trace.

Parses the options, wires the window solver (:func:`hetserve.cli.methods.window_solver`)
into :func:`hetserve.rolling.run` and writes ``windows.csv`` (one row per window: cost
terms, GPUs by type, switches, violations, solve time, predicted P99 TTFT), ``summary.md``,
``meta.json`` and ``cost.png`` / ``gpus.png`` into ``--out``
(:func:`hetserve.rolling.report.write_outputs`). The comparison sweeps behind
``results/rolling-*`` are ``python -m benchmarks.rolling_sweep``.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from click.core import ParameterSource

from hetserve.cli.methods import WINDOW_SOLVERS, window_solver
from hetserve.cli.params import SEED, Duration, Integer, Number, OutputDir
from hetserve.cli.sweep import machine_meta
from hetserve.instances import Instance, read_instance
from hetserve.instances.demand import DemandError, DemandTrace, load_demand
from hetserve.instances.errors import InstanceError
from hetserve.queueing.sizing import JUDGES, QueueingSizing
from hetserve.rolling import FORECASTS, RollingParams, SwitchingCost, WindowRow, run
from hetserve.rolling.report import write_outputs


def load_instance_option(spec: str) -> Instance:
    """INSTANCE (file or bundled name); bad input is a usage error naming it."""
    try:
        return read_instance(spec)
    except (InstanceError, OSError) as exc:
        raise click.UsageError(f"INSTANCE: {exc}") from None


def demand_option(instance: Instance, demand: str, window_s: float, horizon_s: float | None,
                  sigma: float, seed: int, amplitude: float, ar: float) -> DemandTrace:
    """The demand trace of ``--demand``; a bad spec names ``--window`` or ``--demand``."""
    try:
        return load_demand(demand, instance, window_s=window_s, horizon_s=horizon_s,
                           sigma=sigma, seed=seed, amplitude=amplitude, ar=ar)
    except DemandError as exc:
        msg = str(exc)
        option = "--window" if msg.startswith("window_s") else "--demand"
        raise click.UsageError(f"{option}: {msg}") from None


@click.command("rolling")
@click.argument("instance")
@click.option("--demand", default="synthetic", show_default=True,
              help="azure-conv | azure-code | synthetic | FILE.csv "
                   "(timestamp,category,prompt_tokens,output_tokens).")
@click.option("--window", type=Duration(1, 7 * 86_400), default="5m", show_default=True,
              help="Window length (s, m, h, d).")
@click.option("--horizon", type=Duration(1, 366 * 86_400), default="24h", show_default=True,
              help="Planning horizon (a CSV demand without it: the span of its requests).")
@click.option("--solver", type=click.Choice(WINDOW_SOLVERS), default="agh", show_default=True)
@click.option("--forecast", type=click.Choice(FORECASTS), default="last", show_default=True)
@click.option("--sigma", type=Number(0, 10), default=0.05, show_default=True,
              help="Volatility of the synthetic demand.")
@click.option("--ar", type=Number(-0.99, 0.99), default=0.0, show_default=True,
              help="AR(1) coefficient of the synthetic noise (0 = i.i.d.).")
@click.option("--diurnal-amplitude", type=Number(0, 1, hi_open=True),
              default=0.35, show_default=True, help="Diurnal shape amplitude A (0 = flat).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=OutputDir(), required=True)
@click.option("--static", type=click.Choice(["mean", "peak"]), default=None,
              help="Run the static baseline sized for the mean or peak rates instead.")
@click.option("--time-limit", type=Number(1e-3, 86_400), default=None,
              help="Per-window solver time limit in s (AGH 1, MILP 30 by default).")
@click.option("--ttft-slo", type=Number(1e-3, 3600), default=None,
              help="P99 TTFT SLO in s for every type (default min(2 s, delay SLO / 2)).")
@click.option("--rate-margin", type=Number(0, 10), default=0.2, show_default=True,
              help="Plan each window for (1 + m) x the forecast rates (forecast error).")
@click.option("--queueing/--no-queueing", default=True, show_default=True,
              help="Size capacity with the two-pool queueing planner (off = fluid, as the paper).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Verify every window's queueing sizing in the detailed simulator (cached "
                   "per load bucket); off = analytic sizing only.")
@click.option("--judge", type=click.Choice(JUDGES), default="detailed", show_default=True,
              help="Also judge every window's SLO in the detailed simulator, or only predict.")
@click.option("--hysteresis/--no-hysteresis", default=True, show_default=True,
              help="Keep the previous plan when moving does not pay its switching cost.")
@click.option("--switching/--no-switching", default=True, show_default=True,
              help="Charge switching costs (load time x GPU price).")
@click.option("--windows", "max_windows", type=Integer(1, 20_000), default=None,
              help="Run only the first N windows.")
def rolling_command(instance: str, demand: str, window: float, horizon: float, solver: str,
                    forecast: str, sigma: float, ar: float, diurnal_amplitude: float, seed: int,
                    out: Path, static: str | None, time_limit: float | None,
                    ttft_slo: float | None, rate_margin: float, queueing: bool,
                    verify: bool, judge: str, hysteresis: bool, switching: bool,
                    max_windows: int | None) -> None:
    """Re-plan INSTANCE every window over a demand trace (or run a static baseline)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    window_s, horizon_s = window, horizon
    if horizon_s < window_s:
        raise click.UsageError(f"--horizon: {horizon_s:g} s is shorter than the window "
                               f"({window_s:g} s)")
    # A CSV demand without --horizon spans its requests; --windows takes the head of the
    # trace of the whole horizon (so a run of N windows matches the first N of a full run).
    given = click.get_current_context().get_parameter_source("horizon")
    asked = None if given is ParameterSource.DEFAULT else horizon_s
    inst = load_instance_option(instance)
    dem = demand_option(inst, demand, window_s, asked, sigma, seed, diurnal_amplitude, ar)
    if max_windows is not None:
        dem = dem.head(min(max_windows, dem.n_windows))
    horizon_s = dem.n_windows * window_s
    params = RollingParams(forecast=forecast, hysteresis=hysteresis, seed=seed,
                           rate_margin=rate_margin,
                           switching=SwitchingCost(enabled=switching),
                           sizing=QueueingSizing(enabled=queueing, ttft_slo_s=ttft_slo,
                                                 verify=verify and queueing, judge=judge,
                                                 seed=seed))
    method = f"static-{static}-{solver}" if static else f"rolling-{solver}-{forecast}"
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("${task.fields[cost]:,.2f}"), TimeElapsedColumn()) as bar:
        task = bar.add_task(f"{'static-' + static if static else 'rolling'} {solver}",
                            total=dem.n_windows, cost=0.0)
        spent = [0.0]

        def progress(w: int, row: WindowRow) -> None:
            spent[0] += row.total_cost
            bar.update(task, advance=1, cost=spent[0])

        res = run(inst, dem, window_solver(solver, time_limit), params, static=static,
                  method=method, progress=progress)
    meta = {"instance": inst.name, "demand": demand, "window_s": window_s,
            "horizon_s": horizon_s, "solver": solver, "forecast": forecast, "sigma": sigma,
            "ar": ar, "diurnal_amplitude": diurnal_amplitude, "seed": seed, "static": static,
            "time_limit_s": time_limit, "rate_margin": rate_margin, "queueing": queueing,
            "verify": verify and queueing, "judge": judge,
            "hysteresis": hysteresis,
            "switching": switching, "wall_s": time.perf_counter() - t0,
            "machine": machine_meta()}
    write_outputs(res, dem, inst, out, meta)
    click.echo((out / "summary.md").read_text())
    click.echo(f"wrote {out}/windows.csv, summary.md, meta.json, cost.png, gpus.png")
