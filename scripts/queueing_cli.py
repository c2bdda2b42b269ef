"""``hetserve pools`` and ``hetserve simulate``: thin click wrappers over
:func:`queueing.plan_two_pool` and :func:`simulator.runner.run_simulation`.

The lead registers them with ``main.add_command(pools_command, "pools")`` and
``main.add_command(simulate_command, "simulate")``.  Invalid input raises
``click.UsageError`` (exit code 2) naming the option and the reason.
"""

from __future__ import annotations

import json
import math

import click

__all__ = ["parse_gammas", "pools_command", "simulate_command"]


def parse_gammas(text: str) -> tuple[float, ...]:
    """``1.0:2.0:0.1`` (start:stop:step, inclusive), ``1.0,1.5`` or a single value."""
    try:
        if ":" in text:
            a, b, s = (float(x) for x in text.split(":"))
            if s <= 0 or b < a:
                raise ValueError
            n = math.floor((b - a) / s + 1e-9) + 1
            vals = tuple(round(a + i * s, 10) for i in range(n))
        else:
            vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.UsageError(f"--gamma: {text!r} must be START:STOP:STEP (STEP > 0, "
                               "STOP >= START) or a comma list of numbers") from None
    if not vals or any(not (v >= 1.0 and math.isfinite(v)) for v in vals):
        raise click.UsageError(f"--gamma: every value must be >= 1, got {text!r}")
    return vals


def _fmt(x, nd=3):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


@click.command("pools")
@click.option("--workload", required=True,
              help="azure-conv | azure-code | fleetsim-azure | lmsys | agent-heavy | CDF.json")
@click.option("--rate", type=float, required=True, help="Arrival rate λ (req/s).")
@click.option("--slo-ttft", type=float, default=0.5, show_default=True, help="P99 TTFT SLO (s).")
@click.option("--model", default=None, help="Catalog model (with --gpu) for from_catalog().")
@click.option("--gpu", default=None, help="Catalog GPU (with --model).")
@click.option("--precision", default="fp16", show_default=True)
@click.option("--tp", type=int, default=1, show_default=True, help="Tensor parallel (catalog).")
@click.option("--profile", default=None, help="Preset profile: a100 | h100 | a10g.")
@click.option("--long-context", type=int, default=65536, show_default=True)
@click.option("--gamma", default="1.0:2.0:0.1", show_default=True, help="C&R gamma grid.")
@click.option("--p-compress", type=float, default=0.75, show_default=True)
@click.option("--rho-max", type=float, default=0.85, show_default=True)
@click.option("--batch", type=click.Choice(["load", "full"]), default="load", show_default=True,
              help="Iteration-time batch model (load-aware or full-batch).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def pools_command(workload, rate, slo_ttft, model, gpu, precision, tp, profile, long_context,
                  gamma, p_compress, rho_max, batch, as_json):
    """Plan a two-pool (short/long context) fleet against a homogeneous one."""
    from hetserve.queueing.planner import plan_two_pool
    from hetserve.queueing.profiles import from_catalog, get_profile
    from hetserve.queueing.workload import load_workload

    if not (math.isfinite(rate) and rate > 0):
        raise click.UsageError(f"--rate: must be a finite number > 0 req/s, got {rate}")
    if not slo_ttft > 0:
        raise click.UsageError(f"--slo-ttft: must be > 0 seconds, got {slo_ttft}")
    if not 0 <= p_compress <= 1:
        raise click.UsageError(f"--p-compress: must be in [0, 1], got {p_compress}")
    if not 0 < rho_max < 1:
        raise click.UsageError(f"--rho-max: must be in (0, 1), got {rho_max}")
    if long_context < 2:
        raise click.UsageError(f"--long-context: must be >= 2 tokens, got {long_context}")
    if (model is None) != (gpu is None):
        raise click.UsageError("--model/--gpu: give both, or neither (then --profile)")
    if model is not None and profile is not None:
        raise click.UsageError("--profile: use either --profile or --model/--gpu, not both")
    gammas = parse_gammas(gamma)
    try:
        prof = (from_catalog(model, gpu, precision, tp=tp) if model is not None
                else get_profile(profile or "a100"))
        cdf = load_workload(workload)
        res = plan_two_pool(cdf, rate, slo_ttft, prof, long_ctx=long_context, gammas=gammas,
                            p_compress=p_compress, rho_max=rho_max, batch=batch)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    d = res.to_dict()
    if as_json:
        click.echo(json.dumps(d, indent=None, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"two-pool plan: {cdf.name}, λ={rate:g} req/s, P99 TTFT ≤ {slo_ttft:g} s, "
                    f"{prof.name}")
    for col in ("plan", "B", "γ", "units (s/l)", "GPUs", "$/h", "P99 TTFT s/l (s)", "ρ s/l"):
        t.add_column(col)
    homo = d["homogeneous"]
    if res.feasible:
        t.add_row("best" + ("" if res.split else " (homogeneous)"), _fmt(res.b_star, 0),
                  _fmt(res.gamma_star, 1), f"{d['short']['units']}/{d['long']['units']}",
                  str(res.gpus), _fmt(res.cost_per_hour, 2),
                  f"{_fmt(d['short']['p99_ttft_s'])}/{_fmt(d['long']['p99_ttft_s'])}",
                  f"{_fmt(d['short']['rho'], 2)}/{_fmt(d['long']['rho'], 2)}")
    pb = d.get("plain_best")
    if pb:
        t.add_row("plain routing (γ=1)", _fmt(pb["B"], 0), "1.0",
                  f"{pb['n_short']}/{pb['n_long']}", str(pb["gpus"]), _fmt(pb["cost_per_hour"], 2),
                  f"{_fmt(pb['p99_ttft_short_s'])}/{_fmt(pb['p99_ttft_long_s'])}",
                  f"{_fmt(pb['rho_short'], 2)}/{_fmt(pb['rho_long'], 2)}")
    t.add_row("homogeneous", str(long_context), "-", f"0/{homo['units']}", str(homo["gpus"]),
              _fmt(homo["cost_per_hour"], 2), f"-/{_fmt(homo['p99_ttft_s'])}",
              f"-/{_fmt(homo['rho'], 2)}")
    con = Console()
    con.print(t)
    con.print(f"savings vs homogeneous: {_fmt(res.savings_pct, 1)} %  (C&R adds "
              f"{_fmt(res.cr_gain_pts, 1)} pts); B* sweep {_fmt(res.b_star, 0)} vs "
              f"equal-marginal-cost B {_fmt(res.b_star_condition, 0)}; planner "
              f"{res.planner_ms:.1f} ms ({len(res.rows)} rows), B* check "
              f"{res.bstar_check_ms:.1f} ms")
    if not res.feasible:
        con.print("[red]no feasible plan: the SLO cannot be met (prefill alone too slow?)[/red]")


@click.command("simulate")
@click.option("--workload", default=None, help="Workload for Poisson arrivals (needs --rate).")
@click.option("--replay", default=None, help="Trace to replay: azure-conv | azure-code | CSV.")
@click.option("--rate", type=float, default=None,
              help="Poisson rate (req/s); with --replay, rescales the trace's time axis.")
@click.option("--pools", default="auto", show_default=True,
              help="auto (simulate the planner's plan) or PROFILE:CTX:UNITS[,...].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--requests", type=int, default=None, help="Number of requests (Poisson: 20000).")
@click.option("--mode", type=click.Choice(["fast", "detailed"]), default="fast",
              show_default=True)
@click.option("--slo-ttft", type=float, default=0.5, show_default=True,
              help="SLO used when --pools auto.")
@click.option("--profile", default="a100", show_default=True, help="Profile for --pools auto.")
@click.option("--long-context", type=int, default=65536, show_default=True)
@click.option("--gamma", type=float, default=None, help="Fix C&R gamma (default: plan's).")
@click.option("--p-compress", type=float, default=0.75, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate_command(workload, replay, rate, pools, seed, requests, mode, slo_ttft, profile,
                     long_context, gamma, p_compress, as_json):
    """Discrete-event simulation of a pool plan (Poisson arrivals or trace replay)."""
    from hetserve.simulator.runner import run_simulation

    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise click.UsageError(f"--rate: must be a finite number > 0, got {rate}")
    if requests is not None and requests < 1:
        raise click.UsageError(f"--requests: must be >= 1, got {requests}")
    if gamma is not None and gamma < 1:
        raise click.UsageError(f"--gamma: must be >= 1, got {gamma}")
    if not slo_ttft > 0:
        raise click.UsageError(f"--slo-ttft: must be > 0 seconds, got {slo_ttft}")
    try:
        out = run_simulation(workload=workload, replay=replay, rate=rate, pools=pools,
                             seed=seed, requests=requests, mode=mode, slo_ttft=slo_ttft,
                             profile=profile, long_ctx=long_context, gamma=gamma,
                             p_compress=p_compress)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(out, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    sim = out["sim"]
    t = Table(title=f"DES ({sim['mode']}): {out['workload']}, {out['requests']} requests, "
                    f"λ={out['rate']:.3g} req/s, seed {seed}")
    for col in ("pool", "units", "slots", "measured", "P99 TTFT (s)", "mean TTFT (s)",
                "mean latency (s)", "utilisation", "preemptions", "rejected"):
        t.add_column(col)
    for p in sim["pools"]:
        t.add_row(p["name"], str(p["units"]), str(p["slots"]), str(p["n_measured"]),
                  _fmt(p["p99_ttft_s"]), _fmt(p["mean_ttft_s"]), _fmt(p["mean_latency_s"], 2),
                  _fmt(p["utilisation"]), str(p["preemptions"]), str(p["rejected"]))
    con = Console()
    con.print(t)
    con.print(f"overall P99 TTFT {_fmt(sim['p99_ttft_s'])} s, mean latency "
              f"{_fmt(sim['mean_latency_s'], 2)} s, wall {sim['wall_s']:.2f} s")
