"""``hetserve pools`` and ``hetserve simulate``: thin click wrappers over
:func:`queueing.verify.plan_verified`, :func:`simulator.runner.run_simulation` and
:func:`queueing.verify.plan_and_simulate`.

Invalid input raises ``click.UsageError`` (exit code 2) naming the option or field and
the reason.  ``pools`` exits 3 when no plan is SLO-feasible (after printing why).
"""

from __future__ import annotations

import math
import sys

import click

from hetserve.cli.params import SEED, InputFile, Integer, Number
from hetserve.instances.jsonsafe import dumps

__all__ = ["parse_gammas", "pools_command", "simulate_command"]

EXIT_INFEASIBLE = 3


def parse_gammas(text: str) -> tuple[float, ...]:
    """``1.0:2.0:0.1`` (start:stop:step, inclusive), ``1.0,1.5`` or a single value."""
    try:
        if ":" in text:
            a, b, s = (float(x) for x in text.split(":"))
            if not (s > 0 and b >= a and math.isfinite(a) and math.isfinite(b)):
                raise ValueError
            n = math.floor((b - a) / s + 1e-9) + 1
            if n > 1000:
                raise click.UsageError(f"--gamma: {text!r} gives {n} values; at most 1000")
            vals = tuple(round(a + i * s, 10) for i in range(n))
        else:
            vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.UsageError(f"--gamma: {text!r} must be START:STOP:STEP (STEP > 0, "
                               "STOP >= START) or a comma list of numbers") from None
    if not vals or any(not (v >= 1.0 and math.isfinite(v)) for v in vals):
        raise click.UsageError(f"--gamma: every value must be >= 1, got {text!r}")
    return vals


def _parse_boundaries(text: str | None):
    if text is None:
        return None
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.UsageError(f"--boundary: {text!r} must be a number or a comma list of "
                               "numbers (tokens)") from None
    if not vals or any(not (math.isfinite(v) and v > 0) for v in vals):
        raise click.UsageError(f"--boundary: every B must be a finite number > 0, got {text!r}")
    return vals


def _fmt(x, nd=3):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _slo(slo_ttft, per_token, quantile, unservable, slo_file):
    """The TTFTSLO from the flags, or from a JSON file (``TTFTSLO.to_dict`` form)."""
    from hetserve.queueing.profiles import read_json_strict
    from hetserve.queueing.slo import TTFTSLO

    try:
        if slo_file is not None:
            return TTFTSLO.from_dict(read_json_strict(slo_file, "--slo-file"))
        return TTFTSLO(slo_ttft, per_token, quantile, unservable)
    except ValueError as exc:
        msg = str(exc)
        flag = {"slo_ttft": "--slo-ttft", "slo_per_token": "--slo-per-token",
                "quantile": "--quantile"}.get(msg.split(":")[0])
        raise click.UsageError(f"{flag}: {msg.split(':', 1)[1].strip()}" if flag and
                               slo_file is None else msg) from None


def _profiles(profile, long_profile, profiles_file, model=None, gpu=None, precision="fp16",
              tp=1, constants=None):
    from hetserve.instances.catalog import load_catalog
    from hetserve.queueing.profiles import from_catalog, load_profiles, resolve_profile

    extra = load_profiles(profiles_file) if profiles_file else None
    if model is not None:
        # Every catalog row (as `hetserve estimate`): a model or GPU added in a later
        # edition is a valid choice here; editions only add rows (docs/catalog.md).
        short = from_catalog(model, gpu, precision, tp=tp, constants=constants,
                             catalog=load_catalog("latest"))
        return short, short
    short = resolve_profile(profile or "a100", extra)
    long = resolve_profile(long_profile, extra) if long_profile else short
    return short, long


def _slo_options(f):
    for opt in reversed([
        click.option("--slo-ttft", type=Number(1e-3, 3600), default=None,
                     help="TTFT target a (s) [default 0.5]."),
        click.option("--slo-per-token", type=Number(0, 1), default=0.0, show_default=True,
                     help="Length-aware target: seconds per prompt token b (a + b·prompt)."),
        click.option("--quantile", type=Number(0, 1, lo_open=True, hi_open=True), default=0.99,
                     show_default=True,
                     help="Quantile of the SLO over the fleet (0.99 = P99)."),
        click.option("--unservable", type=click.Choice(["count", "exclude", "own_class",
                                                        "infeasible"]),
                     default="count", show_default=True,
                     help="What the SLO does with requests no GPU can serve in time by "
                          "prefill alone (docs/queueing.md)."),
        click.option("--slo-file", type=InputFile(), default=None,
                     help="SLO as JSON (target_s, per_token_s, quantile, unservable, "
                          "classes); overrides the flags above."),
        click.option("--profile", default=None, help="Preset (a100 | h100 | a10g) or a name "
                                                     "from --profiles; short pool."),
        click.option("--long-profile", default=None, help="Long pool's profile (default: "
                                                          "--profile)."),
        click.option("--profiles", "profiles_file", type=InputFile(),
                     default=None, help="JSON file of GPU profiles (list of PoolProfile "
                                        "objects)."),
        click.option("--long-context", type=Integer(2, 1 << 24), default=65536,
                     show_default=True),
        click.option("--gamma", default=None, help="C&R gamma grid, START:STOP:STEP or list "
                                                   "[pools: 1.0:2.0:0.1]."),
        click.option("--boundary", default=None, help="Fix the boundary B (tokens; a comma "
                                                      "list restricts the sweep)."),
        click.option("--p-compress", type=Number(0, 1), default=0.75, show_default=True),
        click.option("--rho-max", type=Number(0.01, 1, hi_open=True), default=0.85,
                     show_default=True),
    ]):
        f = opt(f)
    return f


def _check_common(rate, p_compress, rho_max, long_context):
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= 1e7):
        raise click.UsageError(f"--rate: must be a finite number in (0, 1e7] req/s, got {rate}")
    if not 0 <= p_compress <= 1:
        raise click.UsageError(f"--p-compress: must be in [0, 1], got {p_compress}")
    if not 0 < rho_max < 1:
        raise click.UsageError(f"--rho-max: must be in (0, 1), got {rho_max}")
    if not 2 <= long_context <= 1 << 24:
        raise click.UsageError(f"--long-context: must be in [2, 16777216] tokens, "
                               f"got {long_context}")


@click.command("pools")
@click.option("--workload", required=True,
              help="azure-conv | azure-code | fleetsim-azure | lmsys | agent-heavy | CDF.json")
@click.option("--rate", type=Number(1e-6, 1e7), required=True,
              help="Arrival rate λ (req/s).")
@_slo_options
@click.option("--model", default=None, help="Catalog model (latest edition, docs/catalog.md), with --gpu.")
@click.option("--gpu", default=None, help="Catalog GPU (latest edition), with --model.")
@click.option("--precision", default="fp16", show_default=True)
@click.option("--tp", type=Integer(1, 16), default=1, show_default=True,
              help="Tensor parallel (catalog).")
@click.option("--batch", type=click.Choice(["load", "full"]), default="load", show_default=True,
              help="Iteration-time batch model (load-aware or full-batch).")
@click.option("--perf-model", type=click.Choice(["roofline", "serving"]), default=None,
              help="Performance model behind --model/--gpu's pool profile "
                   "(docs/performance.md#models).  [default: roofline]")
@click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), default=None,
              help="Engine the serving model assumes (with --perf-model serving).  "
                   "[default: vllm]")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check the plan in the detailed simulator and add capacity where it "
                   "misses (only a verified plan is called SLO-feasible).")
@click.option("--verify-requests", type=Integer(100, 5_000_000), default=20000, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Verification seed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def pools_command(workload, rate, slo_ttft, slo_per_token, quantile, unservable, slo_file,
                  profile, long_profile, profiles_file, long_context, gamma, boundary,
                  p_compress, rho_max, model, gpu, precision, tp, batch, perf_model, engine,
                  verify, verify_requests, seed, as_json):
    """Plan a two-pool (short/long context) fleet against a homogeneous one."""
    from hetserve.instances.performance import PerfConstants
    from hetserve.queueing.verify import plan_verified
    from hetserve.queueing.workload import load_workload

    _check_common(rate, p_compress, rho_max, long_context)
    if (model is None) != (gpu is None):
        raise click.UsageError("--model/--gpu: give both, or neither (then --profile)")
    if model is not None and (profile is not None or long_profile is not None):
        raise click.UsageError("--profile: use either --profile or --model/--gpu, not both")
    # Given at all (even at its default value), a flag that would be ignored is refused.
    if model is None and (perf_model is not None or engine is not None):
        raise click.UsageError("--perf-model/--engine: they shape the --model/--gpu profile; "
                               "give --model and --gpu")
    if engine is not None and perf_model != "serving":
        raise click.UsageError("--engine: only with --perf-model serving (the roofline has no "
                               "engine)")
    perf_model, engine = perf_model or "roofline", engine or "vllm"
    if not 100 <= verify_requests <= 5_000_000:
        raise click.UsageError(f"--verify-requests: must be in [100, 5000000], "
                               f"got {verify_requests}")
    if seed < 0:
        raise click.UsageError(f"--seed: must be >= 0, got {seed}")
    gammas = parse_gammas(gamma or "1.0:2.0:0.1")
    bounds = _parse_boundaries(boundary)
    slo = _slo(0.5 if slo_ttft is None else slo_ttft, slo_per_token, quantile, unservable,
               slo_file)
    try:
        short, long = _profiles(profile, long_profile, profiles_file, model, gpu, precision, tp,
                                PerfConstants(model=perf_model, engine=engine))
        cdf = load_workload(workload)
        res = plan_verified(cdf, rate, slo, short, long, verify=verify,
                            verify_requests=verify_requests, seed=seed, long_ctx=long_context,
                            gammas=gammas, p_compress=p_compress, rho_max=rho_max,
                            batch=batch, boundaries=bounds)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    d = res.to_dict()
    for w in res.warnings:
        click.echo(f"warning: {w}", err=True)
    if as_json:
        click.echo(dumps(d, indent=None, sort_keys=True))
    else:
        _print_plan(res, d, cdf, rate, slo, short, long_context)
    if not res.feasible:
        sys.exit(EXIT_INFEASIBLE)


def _print_plan(res, d, cdf, rate, slo, prof, long_context):
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(f"two-pool plan: {cdf.name}, λ={rate:g} req/s, {slo.describe()}, "
                           f"{prof.name}"))
    for col in ("plan", "B", "γ", "units (s/l)", "GPUs", "$/h", "P99 TTFT s/l (s)", "ρ s/l"):
        t.add_column(col)
    homo = d["homogeneous"]
    if res.feasible:
        units = "/".join(str(p["units"]) for p in d["fleet"]["pools"])
        t.add_row(escape("best" + ("" if res.split else " (homogeneous)")
                         + f" [{res.slo_status}]"),
                  _fmt(res.b_star, 0), _fmt(res.gamma_star, 1), units,
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
              f"{_fmt(res.cr_gain_pts, 1)} pts); planner {res.planner_ms:.1f} ms "
              f"({len(res.rows)} rows)", markup=False)
    if res.unservable.get("share"):
        con.print("unservable: " + res.unservable["description"], markup=False)
    v = res.verification
    if v and v.get("status") == "verified":
        sim = v["simulated_ttft"]
        con.print(f"verified in the detailed simulator ({v['requests']} requests, seed "
                  f"{v['seed']}): fleet P{100 * slo.quantile:g} TTFT {_fmt(sim['value'])} s "
                  f"[{_fmt(sim['lo'])}, {_fmt(sim['hi'])}]; capacity added "
                  f"{_fmt(v['added_pct'], 1)} % ({v['added_units']} units)", markup=False)
    if not res.feasible:
        why = (d.get("homogeneous") or {}).get("reason") or "the SLO cannot be met"
        if v and v.get("status") == "failed":
            why = "verification could not find a fleet that meets the SLO"
        con.print(f"no SLO-feasible plan: {why}", markup=False)
        if res.unservable.get("share"):
            con.print("(--unservable exclude or own_class states another SLO for the "
                      "requests named above; docs/queueing.md)", markup=False)


@click.command("simulate")
@click.option("--plan", "plan_file", type=InputFile(), default=None,
              help="Simulate exactly the fleet of a plan written by `hetserve pools --json`.")
@click.option("--pools", default=None,
              help="auto (plan, then simulate the plan) or PROFILE:CTX:UNITS[,...] "
                   "[default auto].")
@click.option("--workload", default=None, help="Workload for Poisson arrivals (needs --rate; "
                                               "default with --plan: the plan's CDF).")
@click.option("--replay", default=None, help="Trace to replay: azure-conv | azure-code | CSV.")
@click.option("--rate", type=Number(1e-6, 1e7), default=None,
              help="Poisson rate (req/s); with --replay, rescales the trace's time axis.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--requests", type=Integer(1, 20_000_000), default=None,
              help="Number of requests (Poisson: 20000).")
@click.option("--mode", type=click.Choice(["fast", "detailed"]), default="fast",
              show_default=True)
@_slo_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate_command(plan_file, pools, workload, replay, rate, seed, requests, mode, slo_ttft,
                     slo_per_token, quantile, unservable, slo_file, profile, long_profile,
                     profiles_file, long_context, gamma, boundary, p_compress, rho_max,
                     as_json):
    """Discrete-event simulation of a fleet (a plan file, an auto plan or explicit pools)."""
    from hetserve.queueing.profiles import read_json_strict
    from hetserve.queueing.verify import plan_and_simulate
    from hetserve.queueing.workload import load_workload
    from hetserve.simulator.runner import Fleet, fleet_from_plan, parse_pools, run_simulation

    _check_common(rate, p_compress, rho_max, long_context)
    if requests is not None and not 1 <= requests <= 20_000_000:
        raise click.UsageError(f"--requests: must be in [1, 20000000], got {requests}")
    if seed < 0:
        raise click.UsageError(f"--seed: must be >= 0, got {seed}")
    if plan_file is not None and pools is not None:
        raise click.UsageError("--plan: give either --plan or --pools, not both")
    try:
        if plan_file is not None:
            fleet, ctx = fleet_from_plan(read_json_strict(plan_file, "--plan"))
            slo = (ctx.get("slo") if slo_ttft is None and slo_file is None else None) or \
                _slo(0.5 if slo_ttft is None else slo_ttft, slo_per_token, quantile,
                     unservable, slo_file)
            cdf = None if (workload or replay) else ctx.get("cdf")
            out = run_simulation(fleet=fleet, workload=workload, cdf=cdf, replay=replay,
                                 rate=rate if (rate or replay) else ctx.get("rate"),
                                 seed=seed, requests=requests, mode=mode,
                                 quantile=slo.quantile, slo=slo)
        else:
            slo = _slo(0.5 if slo_ttft is None else slo_ttft, slo_per_token, quantile,
                       unservable, slo_file)
            if pools is None or pools.strip().lower() == "auto":
                short, long = _profiles(profile, long_profile, profiles_file)
                if (workload is None) == (replay is None):
                    raise ValueError("workload: give exactly one of --workload (with --rate) "
                                     "or --replay")
                kw = {"long_ctx": long_context, "p_compress": p_compress, "rho_max": rho_max,
                      "boundaries": _parse_boundaries(boundary)}
                if gamma is not None:
                    kw["gammas"] = parse_gammas(gamma)
                out = plan_and_simulate(cdf=load_workload(workload) if workload else None,
                                        rate=rate, slo=slo, short=short, long=long,
                                        seed=seed, requests=requests, mode=mode,
                                        replay=replay, plan_kw=kw)
            else:
                from hetserve.queueing.profiles import load_profiles

                extra = load_profiles(profiles_file) if profiles_file else None
                g = parse_gammas(gamma)[0] if gamma else 1.0
                fleet = Fleet(parse_pools(pools, extra), g, p_compress if g > 1 else 0.0)
                out = run_simulation(fleet=fleet, workload=workload, replay=replay, rate=rate,
                                     seed=seed, requests=requests, mode=mode,
                                     quantile=slo.quantile, slo=slo)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(dumps(out, sort_keys=True))
        return
    _print_sim(out, seed)


def _print_sim(out, seed):
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    sim = out["sim"]
    qp = f"P{100 * sim['quantile']:g}"
    t = Table(title=escape(f"DES ({sim['mode']}): {out['workload']}, {out['requests']} "
                           f"requests, λ={out['rate']:.3g} req/s, seed {seed}"))
    for col in ("pool", "ctx", "units", "slots", "measured", f"{qp} TTFT (s) [95% CI]",
                f"{qp} TPOT (ms)", f"{qp} E2E (s)", "utilisation", "preempt", "rejected"):
        t.add_column(col)

    def ci(d, scale=1.0, nd=3):
        if not d or d.get("value") is None:
            return "-"
        def f(v):
            return ("-" if v is None else f"{v * scale:.{nd}f}")
        return f"{f(d['value'])} [{f(d['lo'])}, {f(d['hi'])}]"

    for p in sim["pools"]:
        t.add_row(escape(p["name"]), str(p["ctx"]), str(p["units"]), str(p["slots"]),
                  str(p["n_measured"]), ci(p["ttft"]), ci(p["tpot"], 1e3, 1), ci(p["e2e"], 1, 1),
                  _fmt(p["utilisation"]), str(p["preemptions"]), str(p["rejected"]))
    con = Console()
    con.print(t)
    con.print(f"fleet {qp} TTFT {ci(sim['ttft'])} s, {qp} TPOT {ci(sim['tpot'], 1e3, 1)} ms, "
              f"{qp} E2E {ci(sim['e2e'], 1, 1)} s; rejected {sim['rejected']} "
              f"{sim['rejected_by_reason']}; wall {sim['wall_s']:.2f} s", markup=False)
    rep = out.get("slo")
    if rep:
        for c in rep["constraints"]:
            m = c["miss"]
            if m["rate"] is None:
                continue
            con.print(f"SLO {c['name']}: miss {100 * m['rate']:.2f} % [{100 * m['lo']:.2f}, "
                      f"{100 * m['hi']:.2f}] (allowed {100 * c['allowed_miss']:.2f} %) -> "
                      f"{'met' if c['met'] else 'NOT met (upper bound)'}", markup=False)
        if rep["unservable"]["count"]:
            u = rep["unservable"]
            con.print(f"unservable by prefill alone: {u['count']} requests "
                      f"({100 * u['share']:.2f} %), policy {u['policy']}", markup=False)
