"""Rolling vs static comparisons behind ``results/rolling-*`` and ``results/rolling-tables.md``.

From the repository root::

    python -m benchmarks.rolling_sweep sweep paper-base --sigmas 0,0.05 --out results/rolling-new
    python -m benchmarks.rolling_sweep des-check paper-base --demand azure-conv --out DIR
    python -m benchmarks.rolling_sweep summary            # rewrites results/rolling-tables.md

``sweep`` runs every (demand, σ, solver) rolling and static run, appending one row per run
to ``OUT/runs.csv`` and keeping each run's windows CSV; ``--resume`` skips the runs already
there and refuses when the recorded settings (:func:`hetserve.cli.sweep.prepare_out`)
differ from the current ones.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click

from hetserve.cli.errors import BadInput
from hetserve.cli.methods import WINDOW_SOLVERS, window_solver
from hetserve.cli.sweep import ResumeRefused, machine_meta, prepare_out
from hetserve.instances import Instance, InstanceError, read_instance
from hetserve.instances.demand import DAY_S, DemandError, load_demand
from hetserve.queueing.sizing import QueueingSizing
from hetserve.rolling import FORECASTS, RollingParams, run
from hetserve.rolling.des_check import DES_FIELDS, des_check
from hetserve.rolling.report import sweep_tables

SUMMARY_COLUMNS = ("total_cost", "operating_cost", "rental", "delay_penalty", "unmet_penalty",
                   "switching_cost", "peak_window_cost", "window_cost_std", "mean_gpus",
                   "peak_gpus", "starts", "windows_with_violations", "shed_share",
                   "slo_attainment", "windows_slo_met", "windows_slo_met_sim", "slo_miss_sim",
                   "solve_time_s", "wall_time_s")


def run_sweep(inst: Instance, demands: list[str], sigmas: list[float], solvers: list[str],
              out: Path, *, seed: int = 0, amplitude: float = 0.35, forecast: str = "last",
              queueing: bool = True, statics: tuple[str, ...] = ("mean", "peak"),
              windows: int | None = None, time_limit_s: float | None = None,
              window_s: float = 300.0, static_solvers: tuple[str, ...] | None = None,
              tag: str = "", verify: bool = True,
              judge: str = "detailed") -> list[dict[str, Any]]:
    """Rolling vs static for every (demand, σ, solver); appends to ``out/runs.csv`` and
    keeps each run's windows CSV. Runs already in runs.csv are skipped."""
    runs = out / "runs.csv"
    done = set()
    if runs.exists():
        with runs.open() as fh:
            done = {r["key"] for r in csv.DictReader(fh)}
    rows = []
    params = RollingParams(forecast=forecast, seed=seed,
                           sizing=QueueingSizing(enabled=queueing, verify=verify and queueing,
                                                 judge=judge, seed=seed))
    for dspec in demands:
        for sigma in (sigmas if dspec == "synthetic" else [0.0]):
            dem = load_demand(dspec, inst, window_s=window_s, horizon_s=DAY_S, sigma=sigma,
                              seed=seed, amplitude=amplitude)
            if windows is not None:
                dem = dem.head(min(windows, dem.n_windows))
            jobs: list[tuple[str, str | None]] = [(s, None) for s in solvers]
            jobs += [(s, b) for s in (static_solvers or solvers) for b in statics]
            for solver, basis in jobs:
                key = (f"{tag}{dspec}|{sigma:g}|{solver}|{basis or 'rolling'}|{forecast}|"
                       f"{'q' if queueing else 'fluid'}|A{amplitude:g}|w{dem.n_windows}")
                if key in done:
                    continue
                method = f"static-{basis}-{solver}" if basis else f"rolling-{solver}-{forecast}"
                res = run(inst, dem, window_solver(solver, time_limit_s), params, static=basis,
                          method=method)
                res.write_csv(out / f"windows_{key.replace('|', '_')}.csv", inst)
                s = res.summary()
                row = {"key": key, "demand": dspec, "sigma": sigma, "solver": solver,
                       "mode": basis or "rolling", "forecast": forecast,
                       "queueing": queueing, "amplitude": amplitude, "windows": dem.n_windows,
                       **{k: s[k] for k in SUMMARY_COLUMNS}}
                new = not runs.exists()
                with runs.open("a", newline="") as fh:
                    w = csv.DictWriter(fh, fieldnames=list(row))
                    if new:
                        w.writeheader()
                    w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                                for k, v in row.items()})
                rows.append(row)
                click.echo(f"{key}: total ${s['total_cost']:.2f} wall {s['wall_time_s']:.1f}s "
                           f"attain {s['slo_attainment']:.3f} shed {s['shed_share']:.4f}")
    return rows


def _instance(spec: str) -> Instance:
    try:
        return read_instance(spec)
    except (InstanceError, OSError) as exc:
        raise BadInput(f"INSTANCE: {exc}") from None


def _csv_list(option: str, text: str, kind: type = str) -> list[Any]:
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a comma-separated list") from None


def _solvers(option: str, text: str) -> list[str]:
    names = _csv_list(option, text)
    bad = [n for n in names if n not in WINDOW_SOLVERS]
    if bad:
        raise BadInput(f"{option}: unknown solver(s) {bad}; expected some of "
                       f"{list(WINDOW_SOLVERS)}")
    return names


@click.group()
def main() -> None:
    """Rolling-horizon experiments (sweep, DES check, tables)."""


@main.command("sweep")
@click.argument("instance")
@click.option("--demands", default="synthetic", show_default=True)
@click.option("--sigmas", default="0,0.02,0.04,0.05,0.1", show_default=True)
@click.option("--solvers", default="agh,gh", show_default=True)
@click.option("--static-solvers", default=None, help="Solvers of the static runs (default "
              "--solvers).")
@click.option("--statics", default="mean,peak", show_default=True)
@click.option("--amplitude", type=float, default=0.35, show_default=True)
@click.option("--forecast", type=click.Choice(FORECASTS), default="last", show_default=True)
@click.option("--queueing/--no-queueing", default=True, show_default=True)
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Verify window sizings in the detailed simulator (hetserve rolling's).")
@click.option("--judge", type=click.Choice(["analytic", "detailed"]), default="detailed",
              show_default=True, help="Judge every window in the detailed simulator too.")
@click.option("--windows", type=click.IntRange(min=1), default=None)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tag", default="", help="Prefix of the run keys.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (new or empty, unless --resume).")
@click.option("--resume", is_flag=True, help="Add to OUT/runs.csv (refused if OUT's recorded "
              "settings differ).")
def sweep_command(instance: str, demands: str, sigmas: str, solvers: str,
                  static_solvers: str | None, statics: str, amplitude: float, forecast: str,
                  queueing: bool, verify: bool, judge: str, windows: int | None,
                  time_limit: float | None, seed: int, tag: str, out: Path,
                  resume: bool) -> None:
    """Rolling vs static over a σ grid (appends to OUT/runs.csv)."""
    inst = _instance(instance)
    solver_list = _solvers("--solvers", solvers)
    static_list = tuple(_solvers("--static-solvers", static_solvers)) if static_solvers else None
    static_bases = tuple(_csv_list("--statics", statics))
    if any(b not in ("mean", "peak") for b in static_bases):
        raise BadInput(f"--statics: {statics!r}; expected some of mean, peak")
    try:
        prepare_out(out, {"command": "rolling_sweep", "instance": inst.name, "seed": seed,
                          "time_limit_s": time_limit, "solvers": solver_list,
                          "static_solvers": list(static_list or solver_list),
                          "statics": list(static_bases), "verify": verify and queueing,
                          "judge": judge}, resume=resume)
        run_sweep(inst, _csv_list("--demands", demands), _csv_list("--sigmas", sigmas, float),
                  solver_list, out, seed=seed, amplitude=amplitude, forecast=forecast,
                  queueing=queueing, statics=static_bases, windows=windows,
                  time_limit_s=time_limit, static_solvers=static_list, tag=tag,
                  verify=verify, judge=judge)
    except (ResumeRefused, DemandError) as exc:
        raise BadInput(str(exc)) from None


@main.command("des-check")
@click.argument("instance")
@click.option("--demand", default="azure-conv", show_default=True)
@click.option("--solver", type=click.Choice(WINDOW_SOLVERS), default="gh", show_default=True,
              help="Solver of the fluid plan that picks each type's reference configuration.")
@click.option("--requests", "n_requests", type=click.IntRange(min=100), default=20000,
              show_default=True, help="Simulated requests per type and headroom.")
@click.option("--mode", type=click.Choice(["fast", "detailed"]), default="detailed",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (new or empty).")
def des_check_command(instance: str, demand: str, solver: str, n_requests: int, mode: str,
                      seed: int, out: Path) -> None:
    """Queueing model the driver relies on vs the discrete-event simulator: des_check.csv."""
    inst = _instance(instance)
    try:
        dem = load_demand(demand, inst, sigma=0.0, seed=seed)
        prepare_out(out, {"command": "des_check", "instance": inst.name, "demand": demand,
                          "solver": solver, "requests": n_requests, "mode": mode, "seed": seed},
                    resume=False, resumable=False)
    except (ResumeRefused, DemandError) as exc:
        raise BadInput(str(exc)) from None
    rows = des_check(inst, dem, window_solver(solver), n_requests=n_requests, seed=seed,
                     mode=mode)
    used = [k for k in DES_FIELDS if any(k in r for r in rows)]
    with (out / "des_check.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=used)
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        click.echo(r)
    click.echo(f"wrote {out}/des_check.csv ({machine_meta()['cpu']})")


@main.command("summary")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Folder holding rolling-*/runs.csv.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("results/rolling-tables.md"), show_default=True)
def summary_command(root: Path, out: Path) -> None:
    """Rebuild the tables of every ROOT/rolling-*/runs.csv (a derived file)."""
    out.write_text(sweep_tables(root))
    click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
