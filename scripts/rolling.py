"""``hetserve rolling``: rolling-horizon re-planning (or a static baseline) over a demand trace.

The lead registers :data:`rolling_command` as ``hetserve rolling``. The command wires the
solvers (GH, AGH, the MILP) into :func:`heuristics.rolling.run_rolling` (``heuristics``
never imports ``milp``), writes ``windows.csv`` (one row per window: cost terms, GPUs by
type, switches, violations, solve time, predicted P99 TTFT), ``summary.md``, ``meta.json``
and ``cost.png`` / ``gpus.png`` (matplotlib, Agg) into ``--out``.

:func:`run_sweep` runs the comparison matrix (rolling vs static, σ grid, solvers) used by
``results/rolling-*`` (``python -m scripts.rolling sweep --help``).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import click

from hetserve.heuristics.rolling import (
    FORECASTS,
    QueueingSizing,
    RollingParams,
    RollingResult,
    SwitchingCost,
    WindowSolver,
    run_rolling,
    run_static,
)
from hetserve.instances.demand import DAY_S, DemandError, DemandTrace, load_demand, parse_duration
from hetserve.instances.errors import InstanceError

SOLVERS = ("gh", "agh", "milp")


def make_solver(name: str, time_limit_s: float | None = None, threads: int = 1) -> WindowSolver:
    """The window solver for ``gh`` | ``agh`` | ``milp`` (AGH default 1 s, MILP 30 s)."""
    if name == "gh":
        from hetserve.heuristics import GhParams, gh

        params = GhParams()
        return lambda inst, warm, seed: gh(inst, params)
    if name == "agh":
        from hetserve.heuristics import AghParams, agh

        aparams = AghParams(time_limit_s=time_limit_s or 1.0)
        return lambda inst, warm, seed: agh(inst, aparams, seed=seed, warm_start=warm)
    if name == "milp":
        from hetserve.milp import MilpParams, solve

        mparams = MilpParams(time_limit_s=time_limit_s or 30.0, threads=threads,
                             root_bound=False)
        return lambda inst, warm, seed: solve(inst, mparams, seed=seed, warm_start=warm)
    raise ValueError(f"solver {name!r} not understood; expected one of {list(SOLVERS)}")


def _load_instance(spec: str):
    from hetserve.instances import read_instance

    try:
        return read_instance(spec)
    except (InstanceError, OSError) as exc:
        raise click.UsageError(f"INSTANCE: {exc}") from None


def _duration(option: str, text: str) -> float:
    try:
        return parse_duration(text)
    except DemandError as exc:
        raise click.UsageError(f"{option}: {exc}") from None


def build_demand(instance, demand: str, window_s: float, horizon_s: float, sigma: float,
                 seed: int, amplitude: float, ar: float) -> DemandTrace:
    try:
        return load_demand(demand, instance, window_s=window_s, horizon_s=horizon_s,
                           sigma=sigma, seed=seed, amplitude=amplitude, ar=ar)
    except DemandError as exc:
        msg = str(exc)
        option = "--window" if msg.startswith("window_s") else "--demand"
        raise click.UsageError(f"{option}: {msg}") from None


def run_one(instance, demand: DemandTrace, solver: str, params: RollingParams, *,
            static: str | None = None, time_limit_s: float | None = None,
            progress=None) -> RollingResult:
    sv = make_solver(solver, time_limit_s)
    if static:
        return run_static(instance, demand, sv, params, basis=static,
                          method=f"static-{static}-{solver}", progress=progress)
    return run_rolling(instance, demand, sv, params, method=f"rolling-{solver}-{params.forecast}",
                       progress=progress)


# ---------------------------------------------------------------------- reports
def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return "inf"
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def summary_markdown(result: RollingResult, demand: DemandTrace, meta: dict[str, Any]) -> str:
    s = result.summary()
    lines = [f"# Rolling run: {result.method}", "",
             f"Instance `{meta['instance']}`, demand `{demand.name}` ({demand.n_windows} windows "
             f"of {demand.window_s:g} s), solver `{meta['solver']}`, forecast "
             f"`{s.get('forecast')}`, queueing sizing "
             f"{'on' if s.get('queueing_sizing') else 'off'}.",
             "", "| metric | value |", "|---|---|"]
    for k in ("total_cost", "operating_cost", "rental", "storage", "delay_penalty",
              "unmet_penalty", "switching_cost", "peak_window_cost", "window_cost_std",
              "mean_gpus", "peak_gpus", "starts", "stops", "windows_with_violations",
              "shed_share", "slo_attainment", "kept_previous", "solve_time_s", "wall_time_s",
              "planner_calls", "cache_hits", "hit_rate"):
        if k in s:
            lines.append(f"| {k} | {_fmt(s[k])} |")
    lines += ["", "Costs in $ over the horizon; `slo_attainment` = share of realised requests "
              "served with their type's predicted P99 TTFT within the SLO (queueing model).",
              "Demand data: Azure LLM inference traces 2023 (Splitwise, Patel et al., ISCA 2024; "
              "CC-BY 4.0) where used."]
    return "\n".join(lines) + "\n"


def plot_result(results: list[RollingResult], out: Path, instance) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    for res in results:
        h = [r.start_s / 3600 for r in res.rows]
        ax.plot(h, [r.total_cost for r in res.rows], lw=1, label=res.method)
    ax.set_xlabel("hour")
    ax.set_ylabel("cost per window ($, incl. switching)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "cost.png", dpi=120)
    plt.close(fig)
    res = results[0]
    gpus = [g.name for g in instance.gpus]
    fig, ax = plt.subplots(figsize=(9, 4))
    h = [r.start_s / 3600 for r in res.rows]
    bottom = [0.0] * len(h)
    for g in gpus:
        vals = [r.gpus_by_type.get(g, 0) for r in res.rows]
        if any(vals):
            ax.fill_between(h, bottom, [b + v for b, v in zip(bottom, vals)], step="post",
                            label=g, alpha=0.8)
            bottom = [b + v for b, v in zip(bottom, vals)]
    ax2 = ax.twinx()
    ax2.plot(h, [r.realised_rate for r in res.rows], color="k", lw=0.8, label="demand (req/s)")
    ax2.set_ylabel("realised demand (req/s)")
    ax.set_xlabel("hour")
    ax.set_ylabel(f"GPUs ({res.method})")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "gpus.png", dpi=120)
    plt.close(fig)


def write_outputs(result: RollingResult, demand: DemandTrace, instance, out: Path,
                  meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    result.write_csv(out / "windows.csv", instance)
    (out / "summary.md").write_text(summary_markdown(result, demand, meta))
    full = {**meta, "summary": result.summary(), "demand": demand.summary()}
    (out / "meta.json").write_text(json.dumps(full, indent=1, default=_json_default))
    plot_result([result], out, instance)


def _json_default(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return v.item()
    except ImportError:  # pragma: no cover
        pass
    return str(v)


# ---------------------------------------------------------------------- command
@click.command("rolling")
@click.argument("instance")
@click.option("--demand", default="synthetic", show_default=True,
              help="azure-conv | azure-code | synthetic | FILE.csv "
                   "(timestamp,category,prompt_tokens,output_tokens).")
@click.option("--window", default="5m", show_default=True, help="Window length (s, m, h).")
@click.option("--horizon", default="24h", show_default=True, help="Planning horizon.")
@click.option("--solver", type=click.Choice(SOLVERS), default="agh", show_default=True)
@click.option("--forecast", type=click.Choice(FORECASTS), default="last", show_default=True)
@click.option("--sigma", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="Volatility of the synthetic demand.")
@click.option("--ar", type=click.FloatRange(min=-0.99, max=0.99), default=0.0, show_default=True,
              help="AR(1) coefficient of the synthetic noise (0 = i.i.d.).")
@click.option("--diurnal-amplitude", type=click.FloatRange(min=0, max=1, max_open=True),
              default=0.35, show_default=True, help="Diurnal shape amplitude A (0 = flat).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--static", type=click.Choice(["mean", "peak"]), default=None,
              help="Run the static baseline sized for the mean or peak rates instead.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Per-window solver time limit in s (AGH 1, MILP 30 by default).")
@click.option("--ttft-slo", type=click.FloatRange(min=0, min_open=True), default=None,
              help="P99 TTFT SLO in s for every type (default min(2 s, delay SLO / 2)).")
@click.option("--queueing/--no-queueing", default=True, show_default=True,
              help="Size capacity with the two-pool queueing planner (off = fluid, as the paper).")
@click.option("--hysteresis/--no-hysteresis", default=True, show_default=True,
              help="Keep the previous plan when moving does not pay its switching cost.")
@click.option("--switching/--no-switching", default=True, show_default=True,
              help="Charge switching costs (load time x GPU price).")
@click.option("--windows", "max_windows", type=click.IntRange(min=1), default=None,
              help="Run only the first N windows.")
def rolling_command(instance: str, demand: str, window: str, horizon: str, solver: str,
                    forecast: str, sigma: float, ar: float, diurnal_amplitude: float, seed: int,
                    out: Path, static: str | None, time_limit: float | None,
                    ttft_slo: float | None, queueing: bool, hysteresis: bool, switching: bool,
                    max_windows: int | None) -> None:
    """Re-plan INSTANCE every window over a demand trace (or run a static baseline)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    window_s = _duration("--window", window)
    horizon_s = _duration("--horizon", horizon)
    if horizon_s < window_s:
        raise click.UsageError(f"--horizon: {horizon} is shorter than the window {window}")
    inst = _load_instance(instance)
    dem = build_demand(inst, demand, window_s, horizon_s, sigma, seed, diurnal_amplitude, ar)
    if max_windows is not None:
        dem = dem.head(min(max_windows, dem.n_windows))
    params = RollingParams(forecast=forecast, hysteresis=hysteresis, seed=seed,
                           switching=SwitchingCost(enabled=switching),
                           sizing=QueueingSizing(enabled=queueing, ttft_slo_s=ttft_slo))
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("${task.fields[cost]:,.2f}"), TimeElapsedColumn()) as bar:
        task = bar.add_task(f"{'static-' + static if static else 'rolling'} {solver}",
                            total=dem.n_windows, cost=0.0)
        acc = [0.0]

        def progress(w, row):
            acc[0] += row.total_cost
            bar.update(task, advance=1, cost=acc[0])

        res = run_one(inst, dem, solver, params, static=static, time_limit_s=time_limit,
                      progress=progress)
    meta = {"instance": inst.name, "demand": demand, "window_s": window_s,
            "horizon_s": horizon_s, "solver": solver, "forecast": forecast, "sigma": sigma,
            "ar": ar, "diurnal_amplitude": diurnal_amplitude, "seed": seed, "static": static,
            "time_limit_s": time_limit, "queueing": queueing, "hysteresis": hysteresis,
            "switching": switching, "wall_s": time.perf_counter() - t0, **_machine()}
    write_outputs(res, dem, inst, out, meta)
    click.echo((out / "summary.md").read_text())
    click.echo(f"wrote {out}/windows.csv, summary.md, meta.json, cost.png, gpus.png")


def _machine() -> dict[str, Any]:
    try:
        from hetserve.cli.bench import machine_meta

        return {"machine": machine_meta()}
    except Exception:  # pragma: no cover - bench is another engineer's module
        import os
        import platform

        return {"machine": {"cores": os.cpu_count(), "python": platform.python_version()}}


# ---------------------------------------------------------------------- sweep
def run_sweep(instance_spec: str, demands: list[str], sigmas: list[float], solvers: list[str],
              out: Path, *, seed: int = 0, amplitude: float = 0.35, forecast: str = "last",
              queueing: bool = True, statics: tuple[str, ...] = ("mean", "peak"),
              windows: int | None = None, time_limit_s: float | None = None,
              window_s: float = 300.0, static_solvers: tuple[str, ...] | None = None,
              tag: str = "") -> list[dict[str, Any]]:
    """Rolling vs static for every (demand, σ, solver); appends to ``out/runs.csv`` and
    keeps each run's windows CSV. Runs already in runs.csv are skipped (resumable)."""
    import csv

    from hetserve.instances import read_instance

    inst = read_instance(instance_spec)
    out.mkdir(parents=True, exist_ok=True)
    runs = out / "runs.csv"
    done = set()
    if runs.exists():
        with runs.open() as fh:
            done = {r["key"] for r in csv.DictReader(fh)}
    rows = []
    params = RollingParams(forecast=forecast, seed=seed,
                           sizing=QueueingSizing(enabled=queueing))
    for dspec in demands:
        for sigma in (sigmas if dspec == "synthetic" else [0.0]):
            dem = load_demand(dspec, inst, window_s=window_s, horizon_s=DAY_S, sigma=sigma,
                              seed=seed, amplitude=amplitude)
            if windows is not None:
                dem = dem.head(min(windows, dem.n_windows))
            jobs = [(s, None) for s in solvers]
            jobs += [(s, b) for s in (static_solvers or solvers) for b in statics]
            for solver, basis in jobs:
                key = (f"{tag}{dspec}|{sigma:g}|{solver}|{basis or 'rolling'}|{forecast}|"
                       f"{'q' if queueing else 'fluid'}|A{amplitude:g}|w{dem.n_windows}")
                if key in done:
                    continue
                res = run_one(inst, dem, solver, params, static=basis, time_limit_s=time_limit_s)
                name = key.replace("|", "_")
                res.write_csv(out / f"windows_{name}.csv", inst)
                s = res.summary()
                row = {"key": key, "demand": dspec, "sigma": sigma, "solver": solver,
                       "mode": basis or "rolling", "forecast": forecast,
                       "queueing": queueing, "amplitude": amplitude, "windows": dem.n_windows,
                       **{k: s[k] for k in ("total_cost", "operating_cost", "rental",
                                            "delay_penalty", "unmet_penalty", "switching_cost",
                                            "peak_window_cost", "window_cost_std", "mean_gpus",
                                            "peak_gpus", "starts", "windows_with_violations",
                                            "shed_share", "slo_attainment", "solve_time_s",
                                            "wall_time_s")}}
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


@click.command("sweep")
@click.argument("instance")
@click.option("--demands", default="synthetic")
@click.option("--sigmas", default="0,0.02,0.04,0.05,0.1")
@click.option("--solvers", default="agh,gh")
@click.option("--static-solvers", default=None)
@click.option("--statics", default="mean,peak")
@click.option("--amplitude", type=float, default=0.35)
@click.option("--forecast", type=click.Choice(FORECASTS), default="last")
@click.option("--queueing/--no-queueing", default=True)
@click.option("--windows", type=int, default=None)
@click.option("--time-limit", type=float, default=None)
@click.option("--seed", type=int, default=0)
@click.option("--tag", default="")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def sweep_command(instance, demands, sigmas, solvers, static_solvers, statics, amplitude,
                  forecast, queueing, windows, time_limit, seed, tag, out):
    """Rolling vs static over a σ grid (resumable; appends to OUT/runs.csv)."""
    run_sweep(instance, demands.split(","), [float(s) for s in sigmas.split(",")],
              solvers.split(","), out, seed=seed, amplitude=amplitude, forecast=forecast,
              queueing=queueing, statics=tuple(s for s in statics.split(",") if s),
              windows=windows, time_limit_s=time_limit,
              static_solvers=tuple(static_solvers.split(",")) if static_solvers else None,
              tag=tag)


# ---------------------------------------------------------------------- DES check
def des_check(instance_spec: str, demand_spec: str, out: Path, *, n_requests: int = 20000,
              seed: int = 0, mode: str = "detailed", headrooms=(None, 1.0 / 0.85)) -> list[dict]:
    """Check the queueing model the driver relies on against the discrete-event simulator.

    For every query type at its mean rate of the demand, on its reference configuration
    (the configuration a fluid GH plan routes most of it to): the analytic P99 TTFT of the
    pools the driver would use (``headroom=None``: the planner's sizing; a number: that
    multiple of the fluid replicas, what :meth:`QueueingSizer.predict` does) against the
    simulated P99 TTFT with Poisson arrivals and the type's token lengths. Writes
    ``out/des_check.csv``.
    """
    import csv

    import numpy as np

    from hetserve.heuristics import GhParams, gh
    from hetserve.heuristics.rolling import QueueingSizer, _dominant_routes, window_instance
    from hetserve.instances import read_instance
    from hetserve.queueing.pools import calibrate_slice, evaluate_pool
    from hetserve.simulator.des import PoolSpec, poisson_requests, route_by_length, simulate

    inst = read_instance(instance_spec)
    dem = load_demand(demand_spec, inst, sigma=0.0, seed=seed)
    lam = dem.mean_rates()
    fluid = window_instance(inst, dem, lam)
    plan = gh(fluid, GhParams())
    _, x = plan.solution.to_arrays(fluid)
    refs = _dominant_routes(x, tuple(int(np.argmax(x[i])) for i in range(len(lam))))
    sizer = QueueingSizer(inst, dem, QueueingSizing())
    rng = np.random.default_rng(seed)
    rows = []
    for i, q in enumerate(inst.query_types):
        entry = sizer.size(i, refs[i], float(lam[i]))
        if not entry.feasible:
            rows.append({"type": q.name, "config": inst.routes.configs[refs[i]].label(),
                         "note": "planner infeasible (prefill alone exceeds the SLO)"})
            continue
        res = entry.plan
        cdf = sizer.cdf(i)
        prof = sizer.profile(refs[i])
        long_ctx = sizer._long_ctx(i)
        B = res.b_star if res.b_star is not None and res.b_star < long_ctx else None
        lam_q = res.rate
        for head in headrooms:
            cals = ([(calibrate_slice(prof, cdf, 0.0, float(B), int(B)), int(B), cdf.F(B)),
                     (calibrate_slice(prof, cdf, float(B), float(long_ctx), long_ctx), long_ctx,
                      1 - cdf.F(B))] if B else
                    [(calibrate_slice(prof, cdf, 0.0, float(long_ctx), long_ctx), long_ctx, 1.0)])
            specs, preds, used = [], [], []
            for k, (cal, ctx, share) in enumerate(cals):
                if share <= 0:
                    continue
                lam_p = share * lam_q
                if head is None:
                    n = (res.short if (B and k == 0) else res.long)["units"]
                else:
                    n = round(head * lam_p / cal.max_throughput)
                n = max(1, int(n))
                ev = evaluate_pool(cal, lam_p, n)
                preds.append(ev.p99_ttft_s)
                specs.append(PoolSpec(f"p{k}", prof, n, int(ctx)))
                used.append(ctx)
            req = poisson_requests(cdf, lam_q, n_requests, rng)
            idx, req = route_by_length(req, used)
            sim = simulate(req, idx, specs, mode=mode)
            rows.append({"type": q.name, "config": inst.routes.configs[refs[i]].label(),
                         "rate": lam_q, "B": B or "", "headroom": head or "planner",
                         "units": "+".join(str(sp.units) for sp in specs),
                         "p99_ttft_pred_s": max(preds), "p99_ttft_sim_s": sim.p99_ttft_s,
                         "slo_s": float(sizer.slo[i]),
                         "util_sim": ";".join(f"{p.utilisation:.3f}" for p in sim.pools),
                         "preemptions": sim.preemptions, "rejected": sim.rejected})
            click.echo(rows[-1])
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: list(rows[-1]).index(k)
                  if k in rows[-1] else 99)
    with (out / "des_check.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return rows


# ---------------------------------------------------------------------- summary
def summarise_results(root: Path = Path("results")) -> str:
    """Tables of every ``results/rolling-*/runs.csv``: rolling vs static per (demand, σ)."""
    import csv

    parts = ["# Rolling-horizon results (generated by `python -m scripts.rolling summary`)", ""]
    for d in sorted(root.glob("rolling-*/runs.csv")):
        rows = list(csv.DictReader(d.open()))
        if not rows:
            continue
        parts += [f"## {d.parent.name}", "",
                  "| demand | σ | A | q | windows | method | total $ | rental $ | delay pen. $ | "
                  "unmet pen. $ | switch $ | peak win $ | mean GPUs | shed | SLO att. | "
                  "vs static-peak AGH | vs static-peak MILP | wall s |",
                  "|" + "---|" * 18]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault((r["demand"], r["sigma"], r["amplitude"], r["queueing"],
                               r["windows"]), []).append(r)
        for key, rs in groups.items():
            ref = {f"{r['mode']}-{r['solver']}": float(r["total_cost"]) for r in rs}

            def rel(v, k):
                return f"{100 * (v / ref[k] - 1):+.1f} %" if k in ref else "–"

            for r in rs:
                v = float(r["total_cost"])
                name = (f"{r['mode']}-{r['solver']}" + (f" ({r['forecast']})"
                                                        if r["mode"] == "rolling" else ""))
                parts.append(
                    f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {key[4]} | {name} | {v:.2f} | "
                    f"{float(r['rental']):.2f} | {float(r['delay_penalty']):.2f} | "
                    f"{float(r['unmet_penalty']):.2f} | {float(r['switching_cost']):.2f} | "
                    f"{float(r['peak_window_cost']):.3f} | {float(r['mean_gpus']):.1f} | "
                    f"{float(r['shed_share']):.4f} | {float(r['slo_attainment']):.3f} | "
                    f"{rel(v, 'peak-agh')} | {rel(v, 'peak-milp')} | "
                    f"{float(r['wall_time_s']):.1f} |")
        parts.append("")
    des = root / "rolling-des" / "des_check.csv"
    if des.exists():
        parts += ["## Queueing model vs discrete-event simulator (rolling-des)", "",
                  "| type | config | rate | B | headroom | units | P99 TTFT analytic s | "
                  "P99 TTFT DES s | SLO s |", "|---|---|---|---|---|---|---|---|---|"]
        for r in csv.DictReader(des.open()):
            parts.append(f"| {r['type']} | {r['config']} | {r.get('rate', '')[:6]} | "
                         f"{r.get('B', '')} | {r.get('headroom', '')[:5]} | "
                         f"{r.get('units', '')} | {r.get('p99_ttft_pred_s', '')[:6]} | "
                         f"{r.get('p99_ttft_sim_s', '')[:6]} | {r.get('slo_s', '')} |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "sweep":
        sweep_command(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "summary":
        Path("results/rolling-tables.md").write_text(summarise_results())
    elif len(sys.argv) > 1 and sys.argv[1] == "des-check":
        des_check(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    else:
        rolling_command()
