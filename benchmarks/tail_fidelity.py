"""How often verification adds capacity, and where the analytic P99 TTFT and the detailed
simulator disagree, per pool (hetserve only; docs/queueing.md §1b and §6).

From the repository root::

    nice -n 5 python -m benchmarks.tail_fidelity --out results/queueing/tail/after

The grid of ``benchmarks/queueing_side_by_side.py`` without the peer's planner and
simulator: its ``azure``, ``lmsys`` and ``agent_heavy`` CDFs (read from the peer's package
when installed, else hetserve's bundled, coarser copies) x rate {5, 50, 500}
req/s x P99 TTFT {0.5, 2} s x gamma fixed/searched, plus the Azure code and conversation
traces at 50 req/s; A100 preset, rho_max 0.85, 64K long pool, p_c 0.75, SLO fleet-wide
P99 TTFT with unservable requests excluded, ``plan_verified`` with 12,000 requests per
stream (primary seed 0 and holdout seed 7919), as the side-by-side calls it.

Per case (one JSON line in ``cases.jsonl``, written as each case ends): the analytic plan
(pools, units, cost, predicted P99 TTFT per pool), the detailed simulator's P99 TTFT per
pool of that analytic fleet on the primary stream (verification's first round), whether
verification added capacity (and on which stream), the verified cost, wall and CPU time.
``summary.md`` tabulates them.  Run it at another commit by putting an exported tree
first on ``PYTHONPATH`` (``--label`` names the run).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from hetserve.cli.sweep import machine_meta

RATES = (5.0, 50.0, 500.0)
SLOS = (0.5, 2.0)
WORKLOADS = {"azure": "fleetsim-azure", "lmsys": "lmsys", "agent_heavy": "agent-heavy"}
TRACES = ("azure-code", "azure-conv")


def grid() -> list[tuple[str, float, float, bool]]:
    """The side-by-side benchmark's 44 cases, in its order."""
    cases = [(w, lam, s, g) for w in WORKLOADS for lam in RATES for s in SLOS
             for g in (False, True)]
    cases += [(w, 50.0, s, g) for w in TRACES for s in SLOS for g in (False, True)]
    return cases


def _cdf(wl: str):
    """The side-by-side's CDF: the peer's own tabulated file when ``vllm-sr-sim`` is
    installed (as ``benchmarks/queueing_side_by_side.py`` reads it), else hetserve's
    bundled copy (coarser: ``fleetsim-azure`` has 9 of the peer's 18 breakpoints)."""
    from hetserve.queueing.workload import cdf_from_json, load_workload

    from .queueing_side_by_side import _have_peer, _peer_cdf

    if wl in TRACES or not _have_peer():
        return load_workload(WORKLOADS.get(wl, wl))
    return cdf_from_json([list(p) for p in _peer_cdf(wl)], name=wl)


def run_case(wl: str, lam: float, slo: float, searched: bool, n_verify: int,
             miss_scale: float = 1.0) -> dict:
    from hetserve.queueing.profiles import PRESETS
    from hetserve.queueing.slo import TTFTSLO
    from hetserve.queueing.verify import plan_verified
    a100 = PRESETS["a100"]
    cdf = _cdf(wl)
    slo_obj = TTFTSLO(slo, unservable="exclude")
    t0, c0 = time.perf_counter(), time.process_time()
    hp = plan_verified(cdf, lam, slo_obj, a100, verify_requests=n_verify, seed=0,
                       gammas=None if searched else (1.0,), bstar_check=False,
                       plan_miss_scale=miss_scale)
    row: dict = {"workload": wl, "rate": lam, "slo_s": slo,
                 "gamma": "searched" if searched else "fixed", "status": hp.slo_status,
                 "wall_s": round(time.perf_counter() - t0, 2),
                 "cpu_s": round(time.process_time() - c0, 2),
                 "planner_ms": round(hp.planner_ms, 1)}
    ver = hp.verification or {}
    cands = ver.get("candidates") or []
    first = cands[0] if cands else {}
    row["analytic_cost"] = ver.get("analytic_cost_per_hour", hp.cost_per_hour)
    row["verified_cost"] = hp.cost_per_hour if hp.feasible else None
    row["added_pct"] = ver.get("added_pct")
    row["first_added_units"] = ([u - s for u, s in zip(first.get("units", []),
                                                       first.get("analytic_units", []))]
                                if first else None)
    row["first_start_added"] = bool(first) and first.get("units") != first.get("analytic_units")
    row["holdout_added"] = bool(ver.get("holdout_added"))
    row["analytic_plan"] = (f"B{first.get('B')} g{first.get('gamma')} "
                            f"units {first.get('analytic_units')}" if first else "-")
    row["plan"] = (" ".join(f"{p['ctx']}x{p['units']}" for p in hp.fleet["pools"])
                   + f" g{hp.fleet['routing']['gamma']:g}") if hp.fleet else "-"
    pred = ver.get("predicted_p_quantile_ttft_s") or {}
    rounds = ver.get("rounds") or []
    r0 = next((r for r in rounds if r.get("stream") == "primary"), None)
    pools = []
    names = (["short"] if first.get("split") else []) + ["long"]
    for j, name in enumerate(names):
        p: dict = {"pool": name, "pred_p99": pred.get(name)}
        if r0 is not None and j < len(r0["pools_ttft"]):
            p["sim_p99"] = r0["pools_ttft"][j].get("value")
            p["sim_p99_ci"] = [r0["pools_ttft"][j].get("lo"), r0["pools_ttft"][j].get("hi")]
        a, b = p.get("pred_p99"), p.get("sim_p99")
        if a and b and a > 0:
            p["ratio"] = b / a
        pools.append(p)
    row["pools"] = pools
    if r0 is not None:
        row["first_round_miss"] = r0["constraints"][0]["miss"]
        row["first_round_miss_ucb"] = r0["constraints"][0]["miss_ucb"]
    return row


def summary(rows: list[dict], label: str, meta: dict) -> str:
    ok = [r for r in rows if r["status"] == "verified"]
    added = [r for r in ok if (r.get("added_pct") or 0) > 0]
    ratios = [p["ratio"] for r in rows for p in r["pools"] if p.get("ratio")]
    names = ", ".join("{} {:g}/{:g}/{} +{:.0f} %".format(r["workload"], r["rate"], r["slo_s"],
                                                      r["gamma"], r["added_pct"])
                      for r in added) or "none"
    under = [x for x in ratios if x > 1]
    lines = [f"# Analytic vs simulated P99 TTFT per pool, and verification ({label})", "",
             f"Commit {meta.get('git_commit')}, {meta.get('date_utc')}, load average "
             f"{meta.get('load_average_1min')} at the end; `python -m benchmarks.tail_fidelity`.",
             "",
             f"- cases: {len(rows)}; verified: {len(ok)}",
             f"- verification added capacity: **{len(added)}** ({names})",
             f"- the analytic start itself grew (any candidate): "
             f"{sum(1 for r in ok if r.get('first_start_added'))}",
             f"- pools with a simulated P99 above the analytic one: {len(under)} of "
             f"{len(ratios)}; simulated/analytic median x{statistics.median(ratios):.2f}, "
             f"max x{max(ratios):.2f}, min x{min(ratios):.2f}" if ratios else "- no pools",
             f"- total verified cost ${sum(r['verified_cost'] or 0 for r in ok):,.2f}/h, "
             f"analytic ${sum(r['analytic_cost'] or 0 for r in ok):,.2f}/h",
             f"- wall {sum(r['wall_s'] for r in rows):.0f} s, CPU "
             f"{sum(r['cpu_s'] for r in rows):.0f} s", "",
             "| workload | λ | SLO s | γ | analytic plan | $/h analytic → verified | added % "
             "| pool: P99 analytic / simulated (ratio) |", "|---|---|---|---|---|---|---|---|"]

    def f(x, nd=3):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"

    for r in rows:
        pools = "; ".join(f"{p['pool']}: {f(p.get('pred_p99'))} / {f(p.get('sim_p99'))}"
                          + (f" (x{p['ratio']:.2f})" if p.get("ratio") else "")
                          for p in r["pools"])
        lines.append(f"| {r['workload']} | {r['rate']:g} | {r['slo_s']:g} | {r['gamma']} | "
                     f"{r['analytic_plan']} | {f(r['analytic_cost'], 2)} → "
                     f"{f(r['verified_cost'], 2)} | {f(r.get('added_pct'), 1)} | {pools} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--verify-requests", default=12000, show_default=True)
@click.option("--shard", default="0/1", show_default=True, help="K/N: cases i with i % N == K.")
@click.option("--label", default="run", show_default=True)
@click.option("--only", default=None, help="Comma-separated case indices (0-based).")
@click.option("--plan-miss-scale", default=1.0, show_default=True,
              help="Size the analytic start for this share of the miss budget "
                   "(plan_verified's plan_miss_scale).")
def main(out, verify_requests, shard, label, only, plan_miss_scale):
    """Run the grid (hetserve only) and write cases.jsonl, summary.md and meta.json."""
    import hetserve.queueing as hq

    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    k, n = (int(v) for v in shard.split("/"))
    keep = None if only is None else {int(v) for v in only.split(",")}
    t0 = time.perf_counter()
    from .queueing_side_by_side import _have_peer

    meta = {"script": "benchmarks/tail_fidelity.py", "label": label,
            "cdfs": "peer's files" if _have_peer() else "hetserve's bundled copies",
            "args": {"verify_requests": verify_requests, "shard": shard, "only": only,
                     "plan_miss_scale": plan_miss_scale},
            "queueing_module": str(Path(hq.__file__).parent), **machine_meta()}
    rows = []
    path = outp / "cases.jsonl"
    for i, case in enumerate(grid()):
        if i % n != k or (keep is not None and i not in keep):
            continue
        row = {"case": i, **run_case(*case, verify_requests, plan_miss_scale)}
        rows.append(row)
        with path.open("a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
        click.echo(f"[{i}] {case}: {row['analytic_cost']} -> {row['verified_cost']} "
                   f"({row['wall_s']} s)", err=True)
    meta.update(wall_s=round(time.perf_counter() - t0, 1),
                date_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                load_average_1min=round(os.getloadavg()[0], 2))
    (outp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    (outp / "summary.md").write_text(summary(rows, label, meta))
    click.echo((outp / "summary.md").read_text())


if __name__ == "__main__":
    main()
