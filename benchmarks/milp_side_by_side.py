"""hetserve's exact solve vs generic solvers on hetserve's own exported model, side by side.

``python -m benchmarks.milp_side_by_side [--quick]`` writes ``results/milp/side_by_side.md``,
``side_by_side.csv`` and ``side_by_side_meta.json``.

For each instance the complete model is exported as MPS (``hetserve export``) and solved by
plain HiGHS (highspy reading the MPS), CBC (PuLP's bundled binary) and, with
``--scip-python PY`` (an interpreter of a separate virtualenv holding ``pyscipopt``; SCIP is
never a dependency of hetserve), SCIP reading the same MPS, and the instance by
``hetserve solve --method milp`` (reductions, AGH start) and ``milp-cold`` (reductions,
no start): same threads, same relative gap (1e-4), same time limit, same machine, the
order of the solvers rotated from one instance to the next. Each solve runs in its own
subprocess, which reports its peak RSS; its wall time runs from before the solver's
library is imported (so hetserve's includes importing numpy/scipy/PuLP and building the
instance, the generic solvers' reading the MPS); hetserve's rows also give its own
``runtime_s`` (start + model + HiGHS). ``--repeats N`` runs every solver N times, rotating
the order each time, and adds a table of medians with hetserve's ratio to the fastest
generic solver that proved optimality. AGH's gap is measured against the best proven
optimum of the row; for instances no solver closes, ``agh-bound`` gives AGH's plan with
the certified Lagrangian bound of ``milp/bound.py``.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

SOLVERS = ("hetserve", "hetserve-cold", "highs", "cbc")

SCIP_WORKER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from pyscipopt import Model
mps, time_limit = sys.argv[1], float(sys.argv[2])
m = Model()
m.hideOutput()
m.readProblem(mps)
m.setParam("limits/time", time_limit)
m.setParam("limits/gap", 1e-4)
m.optimize()
status = m.getStatus()
print(json.dumps({"status": status, "objective": m.getObjVal() if m.getNSols() else None,
                  "bound": m.getDualbound(), "n_vars": m.getNVars(),
                  "wall_s": time.perf_counter() - t0, "scip": m.version(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""
"""SCIP's worker, run by the ``--scip-python`` interpreter (pyscipopt only: no hetserve, no
click there). SCIP's ``optimize`` is sequential; its row says so (``threads`` 1)."""


def _instance(spec: str):  # type: ignore[no-untyped-def]
    """``paper-base``, ``SIZE-sSEED`` (e.g. ``10x10x10-s0``, generated) or a bundled name."""
    from hetserve.instances import read_instance
    from hetserve.instances.bundled import bundled_names, bundled_path
    from hetserve.instances.generate import generate, paper_base

    if spec == "paper-base":
        return paper_base(0)
    if spec in bundled_names():
        return read_instance(bundled_path(spec))
    size, sep, seed = spec.partition("-s")
    dims = size.split("x")
    if not (sep and seed.isdigit() and len(dims) == 3 and all(d.isdigit() for d in dims)):
        raise click.BadParameter(f"{spec!r}: expected paper-base, SIZE-sSEED (10x10x10-s0) "
                                 f"or one of {bundled_names()}", param_hint="--instances")
    return generate(tuple(int(v) for v in dims), int(seed))  # type: ignore[arg-type]


def _worker(solver: str, spec: str, mps: str, time_limit: float, threads: int) -> dict:
    t0 = time.perf_counter()
    out: dict = {"solver": solver, "instance": spec}
    if solver.startswith("hetserve") or solver.startswith("agh"):
        from hetserve.cli.methods import MethodSettings, run_method

        method = {"hetserve": "milp", "hetserve-cold": "milp-cold"}.get(solver, solver)
        res = run_method(method, _instance(spec), MethodSettings(
            seed=0, time_limit_s=time_limit, threads=threads))
        out.update(status=res.status.value, objective=res.objective if res.feasible else None,
                   bound=res.bound, n_vars=res.stats.get("n_vars"), runtime_s=res.runtime_s,
                   bound_s=res.stats.get("bound_s"))
    elif solver == "highs":
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(mps)
        h.setOptionValue("threads", threads)
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", 1e-4)
        h.setOptionValue("random_seed", 0)
        h.run()
        info = h.getInfo()
        status = h.modelStatusToString(h.getModelStatus())
        out.update(status="optimal" if status == "Optimal" else status,
                   objective=info.objective_function_value
                   if info.primal_solution_status == 2 else None,
                   bound=info.mip_dual_bound, n_vars=h.getNumCol())
    elif solver == "cbc":
        import pulp

        _, prob = pulp.LpProblem.fromMPS(mps)
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, threads=threads,
                                     gapRel=1e-4))
        status = pulp.LpStatus[prob.status]
        sol = getattr(prob, "sol_status", None)
        proven = status == "Optimal" and sol == 1
        has_plan = sol in (1, 2)  # 0: no solution (the value is then not a plan's cost)
        out.update(status="optimal" if proven else f"{status}/sol{sol}",
                   objective=pulp.value(prob.objective) if has_plan else None, bound=None,
                   n_vars=len(prob.variables()))
    out["wall_s"] = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["peak_rss_mb"] = max(own, kids) / 1024.0
    return out


def _run(solver: str, spec: str, mps: str, time_limit: float, threads: int,
         scip_python: str | None = None) -> dict:
    if solver == "scip":
        proc = subprocess.run([str(scip_python), "-c", SCIP_WORKER, mps, str(time_limit)],
                              capture_output=True, text=True, timeout=time_limit * 4 + 300)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith("{"):
                return {"solver": "scip", "instance": spec, "threads": 1, **json.loads(line)}
        return {"solver": "scip", "instance": spec, "status": "crashed",
                "error": proc.stderr[-300:]}
    cmd = [sys.executable, "-m", "benchmarks.milp_side_by_side", "worker", solver, spec, mps,
           str(time_limit), str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit * 4 + 300,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"solver": solver, "instance": spec, "status": "crashed",
            "error": proc.stderr[-300:]}


@click.group(invoke_without_command=True)
@click.option("--quick", is_flag=True, help="paper-base and one 10x10x10 only, 20 s limit.")
@click.option("--time-limit", type=float, default=60.0, show_default=True)
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results/milp"), show_default=True)
@click.option("--scip-python", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Python of a virtualenv with pyscipopt: adds SCIP on the same MPS.")
@click.option("--instances", "only", default=None,
              help="Comma-separated specs (paper-base, 10x10x10-s0, ...) instead of the set.")
@click.option("--repeats", type=int, default=1, show_default=True,
              help="Run every solver this many times per instance (rotated order each "
                   "time); the summary table gives medians.")
@click.pass_context
def main(ctx: click.Context, quick: bool, time_limit: float, threads: int, out: Path,
         scip_python: str | None, only: str | None, repeats: int) -> None:
    """Run the side-by-side comparison (see the module docstring)."""
    if ctx.invoked_subcommand is not None:
        return
    from hetserve.milp import export

    specs = ["paper-base", "10x10x10-s0"] if quick else [
        "paper-base", "10x10x10-s0", "12x12x12-s1", "20x20x20-s0"]
    if quick:
        time_limit = min(time_limit, 20.0)
    if only:
        specs = [v.strip() for v in only.split(",") if v.strip()]
        for spec in specs:
            _instance(spec)  # a bad spec stops here, before any solve
    solvers = (*SOLVERS, "scip") if scip_python else SOLVERS
    from hetserve.cli.sweep import machine_meta

    started = {"git_commit_at_start": machine_meta()["git_commit"]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, spec in enumerate(specs):
            mps = str(Path(tmp) / f"{spec}.mps")
            export(_instance(spec), mps)
            for rep in range(repeats):
                shift = (k + rep) % len(solvers)
                order = solvers[shift:] + solvers[:shift]
                for solver in (*order, "agh") if rep == 0 else order:
                    row = {**_run(solver, spec, mps, time_limit, threads, scip_python),
                           "repeat": rep}
                    click.echo(json.dumps(row), err=True)
                    rows.append(row)
                    _write(rows, out, time_limit, threads, quick, started=started,
                           scip=next((r.get("scip") for r in rows if r.get("scip")), None))
    _write(rows, out, time_limit, threads, quick,
           scip=next((r.get("scip") for r in rows if r.get("scip")), None), started=started)


@main.command("worker", hidden=True)
@click.argument("solver")
@click.argument("spec")
@click.argument("mps")
@click.argument("time_limit", type=float)
@click.argument("threads", type=int)
def worker(solver: str, spec: str, mps: str, time_limit: float, threads: int) -> None:
    click.echo(json.dumps(_worker(solver, spec, mps, time_limit, threads)))


def _write(rows: list[dict], out: Path, time_limit: float, threads: int, quick: bool,
           scip: float | None = None, started: dict | None = None) -> None:
    started = started or {}
    out.mkdir(parents=True, exist_ok=True)
    keys = ["instance", "solver", "repeat", "status", "objective", "bound", "wall_s",
            "runtime_s", "peak_rss_mb", "n_vars", "bound_s"]
    with open(out / "side_by_side.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    lines = ["# hetserve exact vs generic solvers on hetserve's exported MPS\n",
             f"{threads} threads (SCIP: 1, its sequential solve), gap 1e-4, time limit "
             f"{time_limit:g} s each, solvers alternated per instance; one subprocess per "
             f"solve (peak RSS). Load average at the end: {os.getloadavg()[0]:.1f} on "
             f"{os.cpu_count()} cores; where it exceeds the core count absolute times are "
             "inflated: compare the ratios within a row.\n",
             "| instance | solver | status | objective | bound | wall s | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        obj, bd = r.get("objective"), r.get("bound")
        bd = None if bd is None or not abs(bd) < 1e19 else bd  # SCIP reports "none" as ±1e20
        lines.append(f"| {r['instance']} | {r['solver']} | {r.get('status')} | "
                     f"{'' if obj is None else f'{obj:.4f}'} | "
                     f"{'' if bd is None else f'{bd:.4f}'} | {r.get('wall_s', 0):.1f} | "
                     f"{r.get('peak_rss_mb', 0):.0f} |")
    lines += _medians(rows)
    (out / "side_by_side.md").write_text("\n".join(lines) + "\n")
    from hetserve.cli.sweep import machine_meta

    meta = {**machine_meta(), **started,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "threads": threads,
            "time_limit_s": time_limit, "quick": quick, "scip": scip,
            "load_average_at_end": os.getloadavg(),
            "note": "shared machine: see load_average_at_end"}
    (out / "side_by_side_meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def _median_runtime(rs: list[dict]) -> str:
    import statistics

    vals = [r["runtime_s"] for r in rs if r.get("runtime_s") is not None]
    return f"{statistics.median(vals):.2f}" if vals else ""


def _medians(rows: list[dict]) -> list[str]:
    """Median wall and RSS per (instance, solver) over the repeats, and hetserve's ratio to
    the fastest generic solver that proved optimality in every repeat."""
    import statistics

    if max((r.get("repeat", 0) for r in rows), default=0) == 0:
        return []
    out = ["", "Medians over the repeats (ratio = hetserve's median wall / the fastest generic "
           "solver's that proved optimality every time):", "",
           "| instance | solver | runs | proven | median wall s | median RSS MB | ratio "
           "| hetserve's own runtime_s (median) |",
           "|---|---|---|---|---|---|---|---|"]
    for spec in dict.fromkeys(r["instance"] for r in rows):
        by: dict[str, list[dict]] = {}
        for r in rows:
            if r["instance"] == spec and "wall_s" in r:
                by.setdefault(r["solver"], []).append(r)
        med = {s: statistics.median(r["wall_s"] for r in rs) for s, rs in by.items()}
        proven = {s: sum(r.get("status") == "optimal" for r in rs) for s, rs in by.items()}
        generic = [med[s] for s in ("highs", "cbc", "scip")
                   if s in by and proven[s] == len(by[s])]
        best = min(generic) if generic else None
        for s, rs in by.items():
            ratio = (f"{med[s] / best:.2f}x" if best and s.startswith("hetserve")
                     and proven[s] == len(rs) else "")
            out.append(f"| {spec} | {s} | {len(rs)} | {proven[s]} | {med[s]:.2f} | "
                       f"{statistics.median(r.get('peak_rss_mb', 0) for r in rs):.0f} | "
                       f"{ratio} | {_median_runtime(rs)} |")
    return out


if __name__ == "__main__":
    main()
