"""AGH against a certified lower bound at sizes the MILP cannot close.

``python -m benchmarks.milp_large_bound --size 50x30x30 --time-limit 240 --out results/milp/large-bound``
runs, on ``generate(size, seed)``: GH, AGH (its default deterministic work budget), the
certified bound of ``milp/bound.py`` (LP column generation priced by the exact
Lagrangian, AGH's cost as the incumbent; ``--time-limit`` wall), optionally
price-and-branch (``--pnb-time``: the restricted master as a MIP over the generated
routes, AGH's plan as its start; a plan, evaluated by the one evaluator) and the MILP
with AGH's start (``--milp-time``: the proven optimum where it closes, for the gap of
the LP bound itself). One JSON row per run is appended to ``DIR/runs.jsonl`` (CPU and
wall seconds of each part, peak RSS of the process); ``--table DIR`` prints the
markdown table of ``DIR/runs.jsonl``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def emit_row(**row: object) -> None:
    """Print one JSON line with the 1-minute load and the process's peak RSS (GB) first:
    the row format of the bound probe scripts under results/milp/."""
    row = {"load": round(os.getloadavg()[0], 2), "rss_gb": round(_rss_gb(), 2), **row}
    print(json.dumps(row), flush=True)


AGH100_PLAN = Path(__file__).resolve().parent.parent / "results/milp/agh100-r4/plan-100x40x40-s0.npz"
"""AGH's 100x40x40 s0 plan, cached by results/milp/agh100-r4/ (the plan every bound run of
rounds 4-8 starts from)."""


def cached_agh_plan(inst, size: str, seed: int, dirs: list[Path]):  # type: ignore[no-untyped-def]
    """AGH's plan for ``generate(size, seed)``: read from the first ``plan-SIZE-sSEED.npz``
    in ``dirs`` (or :data:`AGH100_PLAN` at 100x40x40 s0), else computed once and saved in
    ``dirs[-1]``. The bound drivers of results/milp/exact-r6..r8 start from these plans."""
    from hetserve.heuristics import agh
    from hetserve.instances.solution import Solution

    name = f"plan-{size}-s{seed}.npz"
    found = [AGH100_PLAN] if (size, seed) == ("100x40x40", 0) else \
        [d / name for d in dirs if (d / name).exists()]
    if found:
        z = np.load(found[0])
        x = np.zeros((len(inst.query_types), len(inst.routes)))
        x[z["xi"], z["xc"]] = z["xv"]
        return Solution.from_arrays(inst, z["r"], x)
    a = agh(inst, seed=seed)
    assert a.solution is not None
    r, x = a.solution.to_arrays(inst)
    xi, xc = np.nonzero(x)
    np.savez_compressed(dirs[-1] / name, r=r, xi=xi, xc=xc, xv=x[xi, xc])
    return a.solution


def _option(text: str) -> tuple[str, object]:
    """``name=value`` as a HiGHS option (bool, int, float or string value)."""
    name, _, value = text.partition("=")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def _run(size: str, seed: int, time_limit: float, pnb_time: float, milp_time: float,
         fixed_time: float = 0.0, closing: bool = True,
         target_routes: int | None = None, highs_log: str | None = None,
         highs_option: tuple[str, ...] = (), target_cutoff: bool = True,
         wcover_rounds: int = 0, wcover_presolve: bool = False) -> dict:
    import hetserve.milp.bound as bound_mod
    from hetserve.heuristics import agh, gh
    from hetserve.instances.generate import generate
    from hetserve.milp import MilpParams, solve
    from hetserve.milp.bound import fixed_model_bound, lagrangian_bound, price_and_branch

    bound_mod.WCOVER_PRESOLVE = wcover_presolve

    inst = generate(tuple(int(v) for v in size.split("x")), seed)  # type: ignore[arg-type]
    row: dict = {"size": size, "seed": seed, "load_1min_start": os.getloadavg()[0]}
    row["gh"] = gh(inst).objective
    t0, c0 = time.perf_counter(), time.process_time()
    a = agh(inst, seed=0)
    row.update(agh=a.objective, agh_wall_s=time.perf_counter() - t0,
               agh_cpu_s=time.process_time() - c0, agh_work=a.stats.get("work_used"),
               agh_exhausted=a.stats.get("budget_exhausted"), rss_after_agh_gb=_rss_gb())
    assert a.solution is not None
    if fixed_time > 0:  # first, so its peak RSS is AGH's plus its own
        t0, c0 = time.perf_counter(), time.process_time()
        fb, run = fixed_model_bound(inst, a.solution, time_limit_s=fixed_time, closing=closing,
                                    target_routes=target_routes, highs_log=highs_log,
                                    highs_options=tuple(_option(o) for o in highs_option),
                                    target_cutoff=target_cutoff,
                                    wcover_rounds=wcover_rounds)
        row.update(fixed_closing=closing, fixed_target_routes=target_routes,
                   fixed_highs_options=list(highs_option), fixed_target_cutoff=target_cutoff,
                   fixed_wcover_rounds=wcover_rounds, fixed_wcover_presolve=wcover_presolve,
                   fixed_bound=fb.value, fixed_method=fb.method,
                   fixed_wall_s=time.perf_counter() - t0, fixed_cpu_s=time.process_time() - c0,
                   fixed_status=str(run.status), rss_after_fixed_gb=_rss_gb(),
                   **{f"fixed_{k}": v for k, v in fb.stats.items()})
        click.echo(json.dumps({k: v for k, v in row.items() if k.startswith("fixed")}),
                   err=True)
    if time_limit <= 0:  # the Lagrangian bound skipped
        row["peak_rss_gb"] = _rss_gb()
        row["load_1min_end"] = os.getloadavg()[0]
        return row
    t0, c0 = time.perf_counter(), time.process_time()
    ti, tc = np.nonzero(a.solution.to_arrays(inst)[1] > 0)  # AGH's routes start the master
    b = lagrangian_bound(inst, upper_bound=a.objective, iterations=100, time_limit_s=time_limit,
                         start_routes=(ti, tc))
    st = b.stats
    row.update(bound=b.value, bound_method=b.method, bound_wall_s=time.perf_counter() - t0,
               bound_cpu_s=time.process_time() - c0, agh_gap_to_bound=(a.objective - b.value)
               / a.objective, cg_rounds=st["cg_rounds"], cg_routes=st["cg_routes"],
               cg_converged=st["cg_converged"], master_lp=st["master_lp"],
               cg_bound=st["cg_bound"], full_cover=st["full_cover"], routes=st["routes"],
               configs=st["configs"], cg_s=st["lp_start_s"], polish_s=st["polish_s"],
               rss_after_bound_gb=_rss_gb(),
               history=[{k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()}
                        for h in st["cg_history"]])
    if pnb_time > 0:
        t0, c0 = time.perf_counter(), time.process_time()
        p = price_and_branch(inst, time_limit_s=pnb_time, start=a.solution)
        row.update(pnb=p.objective if p.feasible else None, pnb_bound=p.bound,
                   pnb_wall_s=time.perf_counter() - t0, pnb_cpu_s=time.process_time() - c0,
                   pnb_mip_status=p.stats.get("mip_status"), pnb_routes=p.stats.get("mip_routes"),
                   rss_after_pnb_gb=_rss_gb())
    if milp_time > 0:
        t0 = time.perf_counter()
        m = solve(inst, MilpParams(threads=1, time_limit_s=milp_time), warm_start=a.solution)
        row.update(milp=m.objective if m.feasible else None, milp_status=str(m.status),
                   milp_bound=m.bound, milp_wall_s=time.perf_counter() - t0)
    row["peak_rss_gb"] = _rss_gb()
    row["load_1min_end"] = os.getloadavg()[0]
    return row


def _meta(out: Path) -> None:
    import highspy
    import numpy

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    meta = {"script": "benchmarks/milp_large_bound.py", "git_commit": git("rev-parse", "HEAD"),
            "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "cpu": cpu, "cores": os.cpu_count(), "threads": 1,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "highspy": highspy.Highs().version() if hasattr(highspy.Highs, "version") else "",
            "note": "2 cores shared by five concurrent sessions: wall times are inflated "
                    "(load recorded per row); CPU seconds are given too"}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def _fixed_table(rows: list[dict]) -> str:
    lines = ["| size | seed | AGH $ | U' (support MIP) $ | fixing: dropped, capped, s | fixed model "
             "cols, rows | LP (fixing's L) $ | HiGHS bound on the fixed model $ (status, nodes) | "
             "certified bound $ (method) | AGH above | best plan $ above | bound wall s (CPU) | "
             "peak RSS GB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def num(v: object, fmt: str = ",.2f") -> str:
        return "—" if v is None else format(v, fmt)

    for r in rows:
        b = r["fixed_bound"]
        above = (lambda v: f"{100 * (v - b) / b:.1f} %") if b > 0 else (lambda v: "—")
        best = min(v for v in (r["agh"], r["fixed_upper"], r.get("fixed_plan")) if v is not None)
        lines.append(
            f"| {r['size']} | {r['seed']} | {r['agh']:.2f} | {r['fixed_upper']:.2f} | "
            f"{num(r['fixed_fixing_dropped'], ',')}, {num(r['fixed_fixing_lowered'], ',')}, "
            f"{num(r['fixed_fixing_s'], '.0f')} | {num(r['fixed_n_vars'], ',')}, "
            f"{num(r['fixed_n_rows'], ',')} | "
            f"{num(r['fixed_lagrangian'] if abs(r['fixed_lagrangian']) < 1e300 else None)} | "
            f"{num(r['fixed_highs_bound'])} ({r['fixed_highs_status']}, {num(r['fixed_nodes'], 'd')}) | "
            f"{b:.2f} ({r['fixed_method']}) | {above(r['agh'])} | "
            f"{best:.2f}, {above(best)} | {r['fixed_wall_s']:.0f} "
            f"({r['fixed_cpu_s']:.0f}) | {r['peak_rss_gb']:.2f} | "
            f"{r['load_1min_start']:.1f}–{r['load_1min_end']:.1f} |")
    return "\n".join(lines)


def _table(out: Path) -> str:
    rows = [json.loads(ln) for ln in (out / "runs.jsonl").read_text().splitlines() if ln]
    if rows and all("fixed_bound" in r and "bound" not in r for r in rows):
        return _fixed_table(rows)
    lines = ["| size | seed | routes | AGH $ | certified bound $ | AGH above bound | bound wall s "
             "(CPU) | CG rounds, routes, converged | master LP $ | price-and-branch $ | "
             "MILP $ (status) | peak RSS GB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pnb = f"{r['pnb']:.2f}" if r.get("pnb") is not None else "—"
        milp = (f"{r['milp']:.2f} ({r['milp_status']})" if r.get("milp") is not None
                else "—")
        lines.append(
            f"| {r['size']} | {r['seed']} | {r['routes']:,} | {r['agh']:.2f} | {r['bound']:.2f} | "
            f"{100 * (r['agh'] - r['bound']) / r['bound']:.1f} % | {r['bound_wall_s']:.0f} "
            f"({r['bound_cpu_s']:.0f}) | {r['cg_rounds']}, {r['cg_routes']:,}, "
            f"{'yes' if r['cg_converged'] else 'no'} | {r['master_lp']:.2f} | {pnb} | {milp} | "
            f"{r['peak_rss_gb']:.2f} | {r['load_1min_start']:.0f}–{r['load_1min_end']:.0f} |")
    return "\n".join(lines)


@click.command()
@click.option("--size", default="50x30x30", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--time-limit", type=float, default=240.0, show_default=True,
              help="Wall limit of the bound (column generation stops at 80 %).")
@click.option("--pnb-time", type=float, default=0.0, show_default=True,
              help="Wall limit of price-and-branch (0: skip).")
@click.option("--milp-time", type=float, default=0.0, show_default=True,
              help="Wall limit of the MILP with AGH's start (0: skip).")
@click.option("--fixed-time", type=float, default=0.0, show_default=True,
              help="Wall limit of the fixed-model bound (milp.bound.fixed_model_bound from "
                   "AGH's plan; 0: skip). --time-limit 0 skips the Lagrangian bound.")
@click.option("--closing/--no-closing", default=True, show_default=True,
              help="The fixed-model bound's caps from the closing column generation (no "
                   "complete model built) or from solve's fixing on the complete model.")
@click.option("--target-routes", type=int, default=None,
              help="Routes the fixed-model bound's target-cost model keeps (default: "
                   "milp.bound.FIXED_MODEL_TARGET_ROUTES).")
@click.option("--highs-log", default=None,
              help="Write HiGHS's log of the fixed model's solve to this file.")
@click.option("--highs-option", multiple=True,
              help="name=value: a HiGHS option for the fixed model's solve (repeatable).")
@click.option("--target-cutoff/--no-target-cutoff", default=True, show_default=True,
              help="HiGHS's objective_bound = the target cost V on the target model.")
@click.option("--wcover-rounds", type=int, default=0, show_default=True,
              help="fixed_model_bound's wcover_rounds: the fixed/target model's LP with "
                   "this many rounds of weighted error covers instead of HiGHS's MIP.")
@click.option("--wcover-presolve/--no-wcover-presolve", default=False, show_default=True,
              help="HiGHS's presolve on the first LP of the wcover rounds.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Append the JSON row to OUT/runs.jsonl and write OUT/meta.json.")
@click.option("--table", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Print the markdown table of TABLE/runs.jsonl and exit.")
def main(size: str, seed: int, time_limit: float, pnb_time: float, milp_time: float,
         fixed_time: float, closing: bool, target_routes: int | None, highs_log: str | None,
         highs_option: tuple[str, ...], target_cutoff: bool, wcover_rounds: int,
         wcover_presolve: bool, out: Path | None, table: Path | None) -> None:
    if table is not None:
        click.echo(_table(table))
        return
    row = _run(size, seed, time_limit, pnb_time, milp_time, fixed_time, closing, target_routes,
               highs_log, highs_option, target_cutoff, wcover_rounds, wcover_presolve)
    line = json.dumps(row)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "runs.jsonl", "a") as f:
            f.write(line + "\n")
        _meta(out)
    click.echo(line)


if __name__ == "__main__":
    main()
