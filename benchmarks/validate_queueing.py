"""Validate the analytic two-pool model against the DES (the committed run is results/queueing/).

Outputs: validation.csv (one row per pool x scenario x DES mode), summary.md,
validation.png (analytic vs simulated utilisation and P99 TTFT), speed.md (planner and
simulator timings), router.csv (token-budget routing experiment).

Usage, from the repository root: ``python -m benchmarks.validate_queueing --out DIR [--quick]``
(DIR new or empty).
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from pathlib import Path

import click
import numpy as np

from hetserve.cli.errors import BadInput
from hetserve.cli.sweep import ResumeRefused, prepare_out
from hetserve.queueing.planner import clear_caches, plan_two_pool
from hetserve.queueing.pools import calibrate_slice, evaluate_pool
from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.router import evaluate_router, synth_bytes
from hetserve.queueing.workload import cdf_from_trace, load_trace, load_workload
from hetserve.simulator.des import (
    PoolSpec,
    Requests,
    poisson_requests,
    route_by_length,
    simulate,
    trace_requests,
)

PROFILE = PRESETS["a100"]
# a row counts as steady state when the simulated horizon spans >= 10 mean service times
# of the pool and >= 1000 requests were measured; shorter runs are reported but excluded
# from the headline error statistics (ramp-up dominates them).
STEADY_HORIZON = 10.0
STEADY_N = 1000
LONG_CTX = 65536
FIELDS = ["scenario", "workload", "arrivals", "rate", "slo_ttft_s", "fleet", "pool", "ctx",
          "units", "mode", "n_measured", "rho_capacity", "util_analytic", "util_sim",
          "util_err_pts", "util_err_rel_pct", "p99_ttft_analytic_s", "p99_ttft_sim_s",
          "p99_err_rel_pct", "p99_ttft_meanprefill_s", "mean_ttft_analytic_s",
          "mean_ttft_sim_s", "preemptions", "cv2_service", "horizon_over_ES", "steady"]


def _pool_specs(plan):
    specs, evals = [], []
    if plan.split:
        specs.append(PoolSpec("short", PROFILE, max(1, plan.short.units), int(plan.b_star),
                              tau_s=plan.short.tau_s))
        evals.append(plan.short.to_dict())
    specs.append(PoolSpec("long", PROFILE, max(1, plan.long.units), LONG_CTX,
                          tau_s=plan.long.tau_s))
    evals.append(plan.long.to_dict())
    return specs, evals


def _homo_specs(plan):
    h = plan.homogeneous
    return [PoolSpec("homo", PROFILE, h["units"], LONG_CTX, tau_s=h["tau_s"])], [h]


def _rows_for(scenario, workload, arrivals, rate, slo, fleet, specs, evals, req: Requests,
              gamma, p_c, rng, modes, n_detailed):
    out = []
    idx, req2 = route_by_length(req, [s.ctx for s in specs], gamma,
                                p_c if gamma > 1 else 0.0, rng)
    for mode in modes:
        r2, i2 = req2, idx
        if mode == "detailed" and len(req2) > n_detailed:
            r2 = Requests(req2.arrival_s[:n_detailed], req2.prompt_tokens[:n_detailed],
                          req2.output_tokens[:n_detailed])
            i2 = idx[:n_detailed]
        res = simulate(r2, i2, specs, mode=mode)
        span = float(r2.arrival_s[-1] - r2.arrival_s[0])
        for spec, ev, st in zip(specs, evals, res.pools):
            if st.n_measured < 200:
                continue
            hor = span / ev["mean_service_s"] if ev["mean_service_s"] > 0 else math.inf
            ua, us = ev["slot_occupancy"], st.utilisation
            pa, ps = ev["p99_ttft_s"], st.p99_ttft_s
            out.append({
                "scenario": scenario, "workload": workload, "arrivals": arrivals, "rate": rate,
                "slo_ttft_s": slo, "fleet": fleet, "pool": spec.name, "ctx": spec.ctx,
                "units": spec.units, "mode": mode, "n_measured": st.n_measured,
                "rho_capacity": ev["rho"], "util_analytic": ua, "util_sim": us,
                "util_err_pts": 100 * (ua - us), "util_err_rel_pct": 100 * (ua - us) / us,
                "p99_ttft_analytic_s": pa, "p99_ttft_sim_s": ps,
                "p99_err_rel_pct": 100 * (pa - ps) / ps,
                "p99_ttft_meanprefill_s": ev["p99_ttft_meanprefill_s"],
                "mean_ttft_analytic_s": ev["mean_ttft_s"], "mean_ttft_sim_s": st.mean_ttft_s,
                "preemptions": st.preemptions, "cv2_service": ev["cv2"],
                "horizon_over_ES": hor, "steady": int(hor >= STEADY_HORIZON
                                                     and st.n_measured >= STEADY_N),
            })
    return out


def run_validation(quick: bool):
    rows = []
    rng_master = np.random.default_rng(20240601)
    workloads = ["azure-conv", "azure-code", "lmsys", "agent-heavy"]
    rates = [5.0, 50.0, 500.0] if not quick else [50.0]
    slos = [0.5, 2.0] if not quick else [0.5]
    n_fast = 40000 if not quick else 8000
    n_det = 40000 if not quick else 5000
    for w in workloads:
        cdf = load_workload(w)
        for rate in rates:
            for slo in slos:
                plan = plan_two_pool(cdf, rate, slo, PROFILE, long_ctx=LONG_CTX,
                                     bstar_check=False)
                if not plan.feasible:
                    continue
                rng = np.random.default_rng(rng_master.integers(2**32))
                specs, evals = _pool_specs(plan)
                es = max([e["mean_service_s"] for e in evals]
                         + [plan.homogeneous["mean_service_s"] or 0.0])
                n_req = int(min(400_000, max(n_fast, math.ceil(rate * 15 * es / 0.8))))
                req = poisson_requests(cdf, rate, n_req, rng)
                g = plan.gamma_star if plan.split else 1.0
                rows += _rows_for(f"{w}/λ={rate:g}/slo={slo:g}", w, "poisson", rate, slo,
                                  "plan", specs, evals, req, g, plan.p_compress, rng,
                                  ("fast", "detailed"), n_det)
                if plan.split and plan.homogeneous["feasible"]:
                    hs, he = _homo_specs(plan)
                    rows += _rows_for(f"{w}/λ={rate:g}/slo={slo:g}", w, "poisson", rate, slo,
                                      "homogeneous", hs, he, req, 1.0, 0.0, rng,
                                      ("fast", "detailed"), n_det)
    # trace replay at the trace's own rate and 20x faster (time axis compressed)
    for w in ("azure-conv", "azure-code"):
        tr = load_trace(w)
        cdf = cdf_from_trace(tr)
        for scale in ((1.0, 20.0) if not quick else (1.0,)):
            rate = tr.rate * scale
            plan = plan_two_pool(cdf, rate, 0.5, PROFILE, long_ctx=LONG_CTX, bstar_check=False)
            req = trace_requests(tr, rate_scale=scale)
            specs, evals = _pool_specs(plan)
            g = plan.gamma_star if plan.split else 1.0
            rng = np.random.default_rng(rng_master.integers(2**32))
            rows += _rows_for(f"{w}-replay/x{scale:g}", w, "replay", rate, 0.5, "plan", specs,
                              evals, req, g, plan.p_compress, rng, ("fast", "detailed"), 10**9)
    return rows


def probe_high_load(quick: bool):
    """Pools pushed towards saturation (rho 0.90-0.97) where the queue dominates."""
    rows = []
    rng_master = np.random.default_rng(7)
    for w in ("azure-conv", "agent-heavy"):
        cdf = load_workload(w)
        for ctx, units, rate in ((4096, 4, None), (LONG_CTX, 4, None)):
            cal = calibrate_slice(PROFILE, cdf, 0.0, float(ctx), ctx)
            for rho in ((0.9, 0.97) if not quick else (0.9,)):
                lam = rho * units * cal.max_throughput * cal.stats.mass
                ev = evaluate_pool(cal, lam * 1.0, units).to_dict()
                rng = np.random.default_rng(rng_master.integers(2**32))
                n_p = int(min(300_000, max(60000, 15 * lam * ev["mean_service_s"] / 0.8
                                           / cal.stats.mass)))
                full = poisson_requests(cdf, lam / cal.stats.mass, n_p if not quick else 10000,
                                        rng)
                keep = full.total_tokens <= ctx
                req = Requests(full.arrival_s[keep], full.prompt_tokens[keep],
                               full.output_tokens[keep])
                spec = [PoolSpec(f"ctx{ctx}", PROFILE, units, ctx, tau_s=ev["tau_s"])]
                rows += _rows_for(f"{w}/ctx={ctx}/rho={rho:g}", w, "poisson", lam, math.nan,
                                  "probe", spec, [ev], req, 1.0, 0.0, rng, ("fast", "detailed"),
                                  25000)
    return rows


def router_experiment(quick: bool):
    """EMA token-budget routing vs a fixed 4 bytes/token estimator vs the oracle."""
    out = []
    for w, B, max_out in (("azure-conv", 4096, 1024), ("azure-code", 8192, 512)):
        tr = load_trace(w)
        rng = np.random.default_rng(11)
        cats, nb = synth_bytes(tr.prompt_tokens, rng)
        rep = evaluate_router(tr.prompt_tokens, max_out, cats, nb, B)
        # DES: the same short/long pools under each routing; short pool at context B
        n = len(tr) if not quick else 4000
        scale = 20.0
        req = trace_requests(tr, rate_scale=scale, limit=n)
        oracle_total = req.prompt_tokens + max_out
        cal = calibrate_slice(PROFILE, cdf_from_trace(tr), 0.0, float(B), B)
        lam_s = scale * tr.rate * float(np.mean(oracle_total <= B))
        n_s = max(1, math.ceil(lam_s / (cal.max_throughput * 0.85)))
        specs = [PoolSpec("short", PROFILE, n_s, B), PoolSpec("long", PROFILE, 40, LONG_CTX)]
        for name, route in (("oracle", rep.oracle), ("ema", rep.route),
                            ("fixed-4B/tok", rep.fixed_route)):
            res = simulate(req, route[:n], specs, mode="detailed")
            mis = int((route[:n] != rep.oracle[:n]).sum())
            unsafe = int(((route[:n] == 0) & (rep.oracle[:n] == 1)).sum())
            out.append({"workload": w, "boundary": B, "max_output": max_out, "router": name,
                        "requests": n, "misroutes": mis, "unsafe_short": unsafe,
                        "short_units": n_s, "preemptions_short": res.pools[0].preemptions,
                        "p99_ttft_short_s": res.pools[0].p99_ttft_s,
                        "p99_ttft_all_s": res.p99_ttft_s,
                        "ema_ratio_err_pct": (max(rep.ratio_error_pct.values())
                                              if name == "ema" else math.nan)})
    return out


def speed(quick: bool):
    res = {}
    for w in ("azure-conv", "azure-code", "agent-heavy"):
        cdf = load_workload(w)
        cold, warm = [], []
        for _ in range(7 if not quick else 1):
            clear_caches()
            r = plan_two_pool(cdf, 200.0, 0.5, PROFILE, bstar_check=True)
            cold.append(r.planner_ms)
            warm.append(plan_two_pool(cdf, 210.0, 0.5, PROFILE, bstar_check=False).planner_ms)
        res[f"planner_cold_min_ms[{w}]"] = min(cold)
        res[f"planner_cold_ms[{w}]"] = statistics.median(cold)
        res[f"planner_warm_ms[{w}]"] = statistics.median(warm)
        res[f"bstar_check_ms[{w}]"] = r.bstar_check_ms
        res[f"rows[{w}]"] = len(r.rows)
    tr = load_trace("azure-conv")
    cdf = cdf_from_trace(tr)
    plan = plan_two_pool(cdf, tr.rate, 0.5, PROFILE, bstar_check=False)
    specs, _ = _pool_specs(plan)
    req = trace_requests(tr)
    idx, req2 = route_by_length(req, [s.ctx for s in specs], plan.gamma_star or 1.0,
                                plan.p_compress, np.random.default_rng(0))
    for mode in ("fast", "detailed"):
        t, c = time.perf_counter(), time.process_time()
        simulate(req2, idx, specs, mode=mode)
        res[f"des_{mode}_conv_trace_s"] = time.perf_counter() - t
        res[f"des_{mode}_conv_trace_cpu_s"] = time.process_time() - c
    res["conv_trace_requests"] = len(req)
    n_big = 10**6 if not quick else 10**5
    c2 = load_workload("azure-conv")
    plan = plan_two_pool(c2, 1000.0, 0.5, PROFILE, bstar_check=False)
    specs, _ = _pool_specs(plan)
    t = time.perf_counter()
    req = poisson_requests(c2, 1000.0, n_big, np.random.default_rng(1))
    idx, req2 = route_by_length(req, [s.ctx for s in specs], plan.gamma_star or 1.0,
                                plan.p_compress, np.random.default_rng(2))
    res["gen_1e6_s"] = time.perf_counter() - t
    for mode in ("fast", "detailed"):
        t, c = time.perf_counter(), time.process_time()
        simulate(req2, idx, specs, mode=mode)
        res[f"des_{mode}_big_s"] = time.perf_counter() - t
        res[f"des_{mode}_big_cpu_s"] = time.process_time() - c
    res["big_requests"] = n_big
    res["load_average_1min_at_end"] = os.getloadavg()[0]
    res["cpu_count"] = os.cpu_count()
    return res


def _write_csv(path, rows, fields=None):
    fields = fields or list(rows[0])
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.6))
    for mode, mk in (("fast", "o"), ("detailed", "^")):
        r = [x for x in rows if x["mode"] == mode]
        ax[0].scatter([x["util_sim"] for x in r], [x["util_analytic"] for x in r], marker=mk,
                      s=18, alpha=0.7, label=f"DES {mode}")
        ax[1].scatter([x["p99_ttft_sim_s"] for x in r], [x["p99_ttft_analytic_s"] for x in r],
                      marker=mk, s=18, alpha=0.7, label=f"DES {mode}")
    ax[0].plot([0, 1], [0, 1], "k--", lw=0.8)
    ax[0].set_xlabel("simulated slot utilisation")
    ax[0].set_ylabel("analytic slot utilisation")
    ax[0].set_title("utilisation")
    lim = max(max(x["p99_ttft_sim_s"] for x in rows), max(x["p99_ttft_analytic_s"] for x in rows))
    ax[1].plot([1e-3, lim], [1e-3, lim], "k--", lw=0.8)
    ax[1].set_xscale("log")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("simulated P99 TTFT (s)")
    ax[1].set_ylabel("analytic P99 TTFT (s)")
    ax[1].set_title("P99 TTFT (below the diagonal = optimistic)")
    for a in ax:
        a.legend()
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _stats(rows, key, absval=True):
    v = [abs(r[key]) if absval else r[key] for r in rows if math.isfinite(r[key])]
    if not v:
        return "-"
    return f"mean {statistics.mean(v):.2f}, max {max(v):.2f} (n={len(v)})"


def _one_decimal(v: float | None) -> str:
    """``v`` to one decimal, or a dash where the planner reports none (no feasible plan)."""
    return "–" if v is None else f"{v:.1f}"


def _summary(rows, probe, router, sp, plans, path):
    L = ["# Two-pool queueing model vs discrete-event simulation", "",
         "Generated by `benchmarks/validate_queueing.py` (A100_80GB fleet-sim profile, long "
         "context 65536, rho_max 0.85, load-aware iteration time). Workloads: Azure LLM "
         "inference traces 2023 (conv, code; CC-BY 4.0, Splitwise, Patel et al., ISCA 2024), "
         "fleet-sim's LMSYS and agent-heavy CDFs. Utilisation = mean busy KV slots / slots; "
         "errors are analytic minus simulated (negative P99 error = analytic optimistic).", "",
         "## Planned fleets (analytic)", "",
         "| workload | λ | SLO s | B* | γ* | units s/l | homogeneous units | savings % | "
         "C&R pts | B* (marginal-cost condition) | planner ms |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in plans:
        L.append(f"| {p['workload']} | {p['rate']:g} | {p['slo_ttft_s']:g} | "
                 f"{p['b_star'] if p['split'] else 'homog.'} | {p['gamma_star']} | "
                 f"{(p['short'] or {}).get('units', 0)}/{(p['long'] or {}).get('units', 0)} | "
                 f"{p['homogeneous']['units']} | {_one_decimal(p['savings_pct'])} | "
                 f"{_one_decimal(p['cr_gain_pts'])} | "
                 f"{'-' if p['b_star_condition'] is None else round(p['b_star_condition'])} | "
                 f"{p['planner_ms']:.1f} |")
    L += ["", "## Errors at the planned operating points", ""]
    L += ["| DES mode | utilisation abs error (pts) | utilisation rel error (%) | "
          "P99 TTFT rel error (%) | share of pools where analytic P99 < simulated |",
          "|---|---|---|---|---|"]
    for label, sel in (("steady-state rows", 1), ("all rows", None)):
        for mode in ("fast", "detailed"):
            r = [x for x in rows if x["mode"] == mode and (sel is None or x["steady"] == sel)]
            opt = sum(1 for x in r if x["p99_err_rel_pct"] < 0) / max(len(r), 1)
            L.append(f"| {mode}, {label} | {_stats(r, 'util_err_pts')} | "
                     f"{_stats(r, 'util_err_rel_pct')} | {_stats(r, 'p99_err_rel_pct')} | "
                     f"{100 * opt:.0f} % |")
    L += ["", "Steady state = simulated horizon >= 10 mean service times of the pool and >= 1000 "
          "measured requests. Rows below that (heavy-tailed pools whose requests run for "
          "minutes, or long pools that receive a few hundred requests) are dominated by "
          "ramp-up and sampling noise; they are in validation.csv with steady = 0.", ""]
    st_rows = [x for x in rows if x["steady"] == 1]
    within = sum(1 for x in st_rows if abs(x["util_err_rel_pct"]) <= 3.0)
    L.append(f"Steady rows with |utilisation error| <= 3 % (relative): {within} of "
             f"{len(st_rows)}.")
    L += ["", "Worst P99 TTFT under-predictions (analytic optimistic), all rows:", "",
          "| scenario | fleet | pool | mode | ρ | util a/s | P99 a/s (s) | err % | cv² | "
          "steady |", "|---|---|---|---|---|---|---|---|---|---|"]
    for x in sorted(rows + probe, key=lambda x: x["p99_err_rel_pct"])[:12]:
        L.append(f"| {x['scenario']} | {x['fleet']} | {x['pool']} | {x['mode']} | "
                 f"{x['rho_capacity']:.2f} | {x['util_analytic']:.3f}/{x['util_sim']:.3f} | "
                 f"{x['p99_ttft_analytic_s']:.3f}/{x['p99_ttft_sim_s']:.3f} | "
                 f"{x['p99_err_rel_pct']:.1f} | {x['cv2_service']:.2f} | {x['steady']} |")
    L += ["", "## High-load probe (pools at ρ 0.90-0.97, outside the sizing cap)", "",
          "| scenario | mode | util a/s | P99 a/s (s) | P99 err % |", "|---|---|---|---|---|"]
    for x in probe:
        L.append(f"| {x['scenario']} | {x['mode']} | {x['util_analytic']:.3f}/"
                 f"{x['util_sim']:.3f} | {x['p99_ttft_analytic_s']:.3f}/"
                 f"{x['p99_ttft_sim_s']:.3f} | {x['p99_err_rel_pct']:.1f} |")
    L += ["", "## Token-budget routing (synthetic bytes; detailed DES at 20x trace rate)", "",
          "Bytes per request are synthesised from the trace's prompt tokens (categories "
          "english/code/cjk/mixed with ratios 4.2/3.2/1.6/3.0 bytes per token, lognormal "
          "noise σ=0.15, seed 11): the traces carry no bytes.", "",
          "| workload | B | router | misroutes | unsafe (short, too long) | short-pool "
          "preemptions | P99 TTFT short (s) |", "|---|---|---|---|---|---|---|"]
    for x in router:
        L.append(f"| {x['workload']} | {x['boundary']} | {x['router']} | {x['misroutes']} | "
                 f"{x['unsafe_short']} | {x['preemptions_short']} | "
                 f"{x['p99_ttft_short_s']:.3f} |")
    L += ["", "## Speed", "", "See speed.md."]
    Path(path).write_text("\n".join(L) + "\n")


def _speed_md(sp, path):
    L = ["# Planner and simulator speed (single-threaded Python, shared machine)", "",
         "Wall times depend on the machine's load (other jobs shared these cores while "
         "this ran: see load_average_1min_at_end); *_cpu_s are process CPU seconds, "
         "a better guide to single-core speed.", "",
         "| measurement | value |", "|---|---|"]
    for k, v in sp.items():
        L.append(f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |")
    L += ["", "Planner: full (B, γ) sweep incl. calibration by quadrature (cold = caches "
          "cleared, median of 5; warm = same workload at another rate, calibrations cached). "
          "The B* marginal-cost check is timed separately. DES: fast = slot-level M/G/c "
          "(heap of slot-free times); detailed = continuous batching with KV blocks and "
          "preemption. Goals: conv trace < 2 s, 10^6 requests < 60 s."]
    Path(path).write_text("\n".join(L) + "\n")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (new or empty).")
@click.option("--quick", is_flag=True, help="Small grid (smoke run).")
def main(out: Path, quick: bool) -> None:
    """Analytic two-pool model vs the DES: validation.csv, summary.md, speed.md, plots."""
    outp = out
    try:
        prepare_out(outp, {"command": "validate_queueing", "quick": quick}, resume=False, resumable=False)
    except ResumeRefused as exc:
        raise BadInput(str(exc)) from None
    t0 = time.perf_counter()
    rows = run_validation(quick)
    probe = probe_high_load(quick)
    _write_csv(outp / "validation.csv", rows + probe, FIELDS)
    router = router_experiment(quick)
    _write_csv(outp / "router.csv", router)
    plans = []
    for w in ("azure-conv", "azure-code", "lmsys", "agent-heavy"):
        for rate in (20.0, 200.0, 1000.0):
            plans.append(plan_two_pool(load_workload(w), rate, 0.5, PROFILE).to_dict())
    sp = speed(quick)
    _plot(rows, outp / "validation.png")
    _summary(rows, probe, router, sp, plans, outp / "summary.md")
    _speed_md(sp, outp / "speed.md")
    click.echo(f"wrote {outp} in {time.perf_counter() - t0:.1f} s "
               f"({len(rows)} validation rows, {len(probe)} probe rows)")


if __name__ == "__main__":
    main()
