"""Output of a rolling run: ``windows.csv``, ``summary.md``, ``meta.json`` and the plots
``cost.png`` / ``gpus.png`` (matplotlib, Agg), and the tables of a sweep's ``runs.csv``."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hetserve.instances.jsonsafe import dumps

from .result import RollingResult

if TYPE_CHECKING:
    from hetserve.instances.demand import DemandTrace
    from hetserve.instances.model import Instance

SUMMARY_KEYS = ("total_cost", "operating_cost", "rental", "storage", "delay_penalty",
                "unmet_penalty", "switching_cost", "peak_window_cost", "window_cost_std",
                "mean_gpus", "peak_gpus", "starts", "stops", "windows_with_violations",
                "shed_share", "slo_attainment", "windows_slo_met", "slo_miss_sim",
                "windows_slo_met_sim", "windows_refused_by_limits", "windows_refused_budget",
                "windows_refused_availability", "windows_refused_budget+availability",
                "windows_admissible", "windows_slo_met_admissible",
                "windows_slo_met_sim_admissible", "windows_slo_met_sim_refused",
                "kept_previous", "solve_time_s", "wall_time_s",
                "planner_calls", "cache_hits", "hit_rate", "verify_added_capacity",
                "verify_failed", "verify_time_s", "judge_sim_runs", "judge_sim_hits",
                "judge_time_s")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return "inf"
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


LIMIT_NAMES = ("budget", "availability", "budget+availability")


def slo_headline(summary: dict[str, Any]) -> str:
    """One sentence: windows meeting the SLO (simulated when judged, else predicted), apart
    from the windows whose sized capacity the instance's limits refuse (docs/rolling.md)."""
    n = int(summary.get("windows", 0))
    sim = summary.get("windows_slo_met_sim", math.nan)
    judged = isinstance(sim, float) and math.isfinite(sim)
    key = "windows_slo_met_sim" if judged else "windows_slo_met"
    how = "in the detailed simulator" if judged else "as predicted by the queueing model"
    allw = summary.get(key, math.nan)
    if not (isinstance(allw, float) and math.isfinite(allw)) or n == 0:
        return "SLO: not judged (no queueing sizing)."
    text = (f"SLO {how}: met in {100 * allw:.1f} % of windows "
            f"({round(allw * n)} / {n})")
    refused = int(summary.get("windows_refused_by_limits", 0))
    if refused == 0:
        return text + "; no window's sized capacity was refused by the instance's limits."
    parts = ", ".join(f"{k} {summary[f'windows_refused_{k}']}" for k in LIMIT_NAMES
                      if summary.get(f"windows_refused_{k}"))
    adm = int(summary.get("windows_admissible", n - refused))
    adm_share = summary.get(f"{key}_admissible", math.nan)
    ref_share = summary.get("windows_slo_met_sim_refused", math.nan) if judged else math.nan
    text += (f"; {refused} windows are infeasible within limits ({parts}: the sized "
             f"capacity does not fit, less of it was planned")
    if isinstance(ref_share, float) and math.isfinite(ref_share):
        text += f", {round(ref_share * refused)} of them still meet the SLO"
    text += ")"
    if adm:
        text += (f"; among the {adm} admissible windows {100 * adm_share:.1f} % "
                 f"({round(adm_share * adm)} / {adm}) meet it")
    return text + "."


def summary_markdown(result: RollingResult, demand: DemandTrace, meta: dict[str, Any]) -> str:
    """The ``summary.md`` of one run (``meta`` gives the instance and solver names)."""
    s = result.summary()
    lines = [f"# Rolling run: {result.method}", "",
             f"Instance `{meta['instance']}`, demand `{demand.name}` ({demand.n_windows} windows "
             f"of {demand.window_s:g} s), solver `{meta['solver']}`, forecast "
             f"`{s.get('forecast')}`, queueing sizing "
             f"{'on' if s.get('queueing_sizing') else 'off'}.",
             "", slo_headline(s), "", "| metric | value |", "|---|---|"]
    for k in SUMMARY_KEYS:
        if k in s:
            lines.append(f"| {k} | {_fmt(s[k])} |")
    lines += ["", "Costs in $ over the horizon; `slo_attainment` = share of realised requests "
              "served with their type's predicted P99 TTFT within the SLO (queueing model); "
              "`windows_slo_met` = share of windows whose `slo_attainment` is >= 0.99; "
              "`slo_miss_sim` = share of requests over their TTFT SLO in the detailed "
              "simulator (unserved ones count); `windows_slo_met_sim` = share of windows where "
              "every type's simulated miss share is within 1 - q; `windows_refused_*` = "
              "windows whose sized capacity the instance's budget and/or GPU availability "
              "refuse (infeasible within limits; less of the capacity was "
              "planned), `*_admissible` = the same shares among the other windows "
              "(docs/rolling.md).",
              f"Demand data: {demand.meta.get('source', demand.name)}"
              + (f"; token lengths: {demand.meta['tokens']}" if demand.meta.get("tokens") else "")
              + "."]
    return "\n".join(lines) + "\n"


def plot_result(results: list[RollingResult], out: Path, instance: Instance) -> None:
    """``cost.png`` (cost per window of every result) and ``gpus.png`` (GPUs by type of the
    first, stacked, with the realised demand)."""
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


def write_outputs(result: RollingResult, demand: DemandTrace, instance: Instance, out: Path,
                  meta: dict[str, Any]) -> None:
    """Write ``windows.csv``, ``summary.md``, ``meta.json``, ``cost.png``, ``gpus.png``."""
    out.mkdir(parents=True, exist_ok=True)
    result.write_csv(out / "windows.csv", instance)
    (out / "summary.md").write_text(summary_markdown(result, demand, meta))
    full = {**meta, "summary": result.summary(), "demand": demand.summary()}
    (out / "meta.json").write_text(dumps(full, indent=1))
    plot_result([result], out, instance)


def sweep_tables(root: Path) -> str:
    """Tables of every ``root/rolling-*/runs.csv`` (rolling vs static per demand and σ) and
    of ``root/rolling-des/des_check.csv``."""
    parts = ["# Rolling-horizon results (generated by `python -m benchmarks.rolling_sweep "
             "summary`)", ""]
    for d in sorted(root.glob("rolling-*/runs.csv")):
        with d.open() as fh:
            rows = list(csv.DictReader(fh))
        if not rows:
            continue
        parts += [f"## {d.parent.name}", ""]
        prov = d.parent / "PROVENANCE.md"
        if prov.exists():  # which code measured the folder, when it predates today's
            parts += [prov.read_text().strip(), ""]
        parts += ["| demand | σ | A | q | windows | method | total $ | rental $ | delay pen. $ | "
                  "unmet pen. $ | switch $ | peak win $ | mean GPUs | shed | SLO att. | "
                  "vs static-peak AGH | vs static-peak MILP | wall s |",
                  "|" + "---|" * 18]
        groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for r in rows:
            groups.setdefault((r["demand"], r["sigma"], r["amplitude"], r["queueing"],
                               r["windows"]), []).append(r)
        for key, rs in groups.items():
            ref = {f"{r['mode']}-{r['solver']}": float(r["total_cost"]) for r in rs}

            def rel(v: float, k: str, ref: dict[str, float] = ref) -> str:
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
        with des.open() as fh:
            for r in csv.DictReader(fh):
                parts.append(f"| {r['type']} | {r['config']} | {r.get('rate', '')[:6]} | "
                             f"{r.get('B', '')} | {r.get('headroom', '')[:5]} | "
                             f"{r.get('units', '')} | {r.get('p99_ttft_pred_s', '')[:6]} | "
                             f"{r.get('p99_ttft_sim_s', '')[:6]} | {r.get('slo_s', '')} |")
    return "\n".join(parts) + "\n"
