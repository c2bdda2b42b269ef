"""The ``hetserve`` command line: a thin click layer over pure functions.

Exit codes: 0 a plan was found (optimal or feasible); 2 bad input (one line naming the
field and the reason, no traceback); 3 the instance is infeasible (with a diagnosis);
4 no plan was found within the limits.
"""

from __future__ import annotations

import math
import platform
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from hetserve.cli.errors import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, BadInput
from hetserve.cli.methods import METHODS, MILP_STARTS, MethodSettings, run_method
from hetserve.cli.params import SEED, InputFile, Integer, Number, OneLineErrors, OutputFile, Text
from hetserve.cli.report import print_result, working
from hetserve.instances import Instance, InstanceError, Solution, evaluate, read_instance, write_instance
from hetserve.instances.bundled import bundled_names
from hetserve.instances.io import read_json
from hetserve.instances.jsonsafe import dumps
from hetserve.instances.result import RunResult, Status
from hetserve.instances.solver_log import SolverLog


def load_instance(path: str, perf_model: str | None = None, engine: str | None = None,
                  perf_profile: Path | None = None, kv_precision: str | None = None):
    """Read an instance file or a bundled instance name, with the performance model the
    ``--perf-model/--engine/--perf-profile/--kv-precision`` flags select
    (docs/performance.md#models);
    bad input becomes :class:`BadInput`."""
    from hetserve.instances.perf_model import with_selection

    try:
        inst = read_instance(path)
        perf = with_selection(inst.perf, model=perf_model, engine=engine,
                              profile=None if perf_profile is None else str(perf_profile),
                              kv_precision=kv_precision)
        if perf is not inst.perf:
            inst = replace(inst, perf=perf)
        if perf.model != "roofline":
            _ = inst.routes  # read the profile, build the routes now: errors exit 2
        return inst
    except InstanceError as exc:
        raise BadInput(str(exc)) from None


def perf_options(command):
    """The performance-model flags of solve and evaluate (docs/performance.md#models)."""
    for option in reversed([
        click.option("--perf-model", type=click.Choice(["roofline", "serving", "measured"]),
                     default=None, help="Performance model of the routes (default: the "
                                        "instance's perf.model, roofline if unset)."),
        click.option("--engine", type=click.Choice(["vllm", "sglang", "trtllm"]), default=None,
                     help="Serving engine the serving/measured model assumes (default: "
                          "perf.engine, vllm)."),
        click.option("--perf-profile", type=InputFile(), default=None,
                     help="Measured profile (CSV/JSON, docs/performance.md); implies "
                          "--perf-model measured."),
        click.option("--kv-precision", type=click.Choice(["fp16", "bf16", "fp8"]), default=None,
                     help="KV-cache format of the serving/measured model (default: "
                          "perf.kv_precision, fp16; fp8 halves the cache per token)."),
    ]):
        command = option(command)
    return command


def emit_json(obj: object) -> None:
    """One strictly valid JSON document on stdout (non-finite numbers as null)."""
    click.echo(dumps(obj, indent=1))


def parse_margins(text: str) -> dict[str, float]:
    """``delay=1.3,error=1.2,demand=1.1`` → factors (each ≥ 1); BadInput names the problem."""
    margins: dict[str, float] = {}
    for part in text.split(","):
        kind, _, value = part.partition("=")
        kind = kind.strip()
        if kind not in ("delay", "error", "demand") or kind in margins:
            raise BadInput(f"--robust: {part!r} not understood; expected KIND=FACTOR with KIND "
                           "one of delay, error, demand, each at most once")
        try:
            factor = float(value)
        except ValueError:
            raise BadInput(f"--robust: factor {value!r} of {kind} is not a number") from None
        if not (factor >= 1.0 and math.isfinite(factor)):
            raise BadInput(f"--robust: factor of {kind} must be >= 1, got {value}")
        margins[kind] = factor
    return margins


def robust_on_nominal(nominal: Instance, result: RunResult,
                      margins: dict[str, list[float]]) -> RunResult:
    """A plan made on the inflated instance, re-evaluated on the nominal one. Its status is
    the solver's for the robust problem; the robust problem's objective and bound move to
    ``stats`` (they are costs under inflated parameters)."""
    ev = evaluate(nominal, result.solution)
    stats = {**result.stats, "robust_margins": margins,
             "robust_objective": result.objective, "robust_bound": result.bound}
    return replace(result, evaluation=ev, bound=None, stats=stats,
                   diagnosis=(*result.diagnosis, f"robust plan ({result.status.value} for the "
                              "inflated instance); costs are on the nominal instance"))


def _exit_for(result: RunResult) -> int:
    if result.feasible:
        return 0
    if result.status is Status.NO_SOLUTION:
        return EXIT_NO_SOLUTION
    return EXIT_INFEASIBLE


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hetserve")
def main() -> None:
    """hetserve: plan LLM inference fleets on heterogeneous cloud GPUs.

    Pick models, GPU tiers, TP/PP degrees and routing so that delay, error, memory,
    budget, availability and storage limits hold at minimum cost; exactly (MILP, HiGHS)
    or with the GH/AGH heuristics of arXiv 2604.07472.
    """


@main.command()
@click.argument("instance")
@click.option("--method", type=click.Choice(sorted(METHODS)), default="milp", show_default=True,
              help="Solution method.")
@click.option("--time-limit", type=Number(1e-3, 7 * 86_400), default=60.0,
              show_default=True, help="Time limit in seconds (MILP and MILP-based baselines).")
@click.option("--mip-gap", type=Number(0, 1, hi_open=True), default=1e-4, show_default=True,
              help="Relative MIP gap at which HiGHS stops.")
@click.option("--threads", type=Integer(1, 256), default=2, show_default=True,
              help="HiGHS threads; with 2 or more, milp solves a large model as "
                   "subtrees on open flags, that many at once, one thread each "
                   "(docs/milp.md \"Split on one open flag\").")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed for HiGHS and the heuristics' random starts.")
@click.option("--warm-start", type=click.Choice(list(MILP_STARTS)), default="auto",
              show_default=True,
              help="MILP only: MIP start from a heuristic plan ('auto': chosen by size and threads, "
                   "docs/milp.md; 'none': cold).")
@click.option("--agh-budget", type=Integer(0, 10**12), default=None,
              help="AGH's work budget in candidate-move evaluations (default: "
                   "AghParams.work_budget). Work, not seconds: a seed gives one plan anywhere.")
@click.option("--robust", type=Text(200), default=None, metavar="KIND=FACTOR,...",
              help="Plan against an inflation margin, e.g. delay=1.3,error=1.2,demand=1.1 "
                   "(the exact robust counterpart for box uncertainty); costs are then shown "
                   "on the nominal instance.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--out", type=OutputFile(), help="Write the plan (solution JSON) here.")
@click.option("--verbose", is_flag=True,
              help="Show HiGHS's log of the MILP solves on standard error (off by default).")
@click.option("--log", "log_file", type=OutputFile(),
              help="Write HiGHS's log of the MILP solves to this file.")
@perf_options
def solve(instance: str, method: str, time_limit: float, mip_gap: float, threads: int,
          seed: int, warm_start: str, agh_budget: int | None, robust: str | None,
          as_json: bool, out: Path | None, verbose: bool, log_file: Path | None,
          perf_model: str | None, engine: str | None, perf_profile: Path | None,
          kv_precision: str | None) -> None:
    """Solve INSTANCE (a JSON file or a bundled name such as paper-base)."""
    inst = load_instance(instance, perf_model, engine, perf_profile, kv_precision)
    target = inst
    margins = None
    if robust is not None:
        from hetserve.instances.stress import effective_margins

        margins = effective_margins(inst, parse_margins(robust))
        target = inst.inflated(**margins)
    if warm_start != "auto" and method != "milp":
        raise BadInput("--warm-start: only the milp method takes a warm start")
    log = SolverLog(to_stderr=verbose, file=None if log_file is None else str(log_file))
    settings = MethodSettings(seed=seed, time_limit_s=time_limit, mip_gap=mip_gap,
                              threads=threads, solver_log=log, milp_start=warm_start,
                              agh_work_budget=agh_budget)
    # A spinner on a terminal's standard error (agh-bound at 100x40x40 runs for minutes),
    # not while HiGHS's log is written there (--verbose).
    status = Console(stderr=True, quiet=verbose)
    with working(status, f"{method} on {inst.name}"):
        result = run_method(method, target, settings)
    if margins is not None and result.solution is not None:
        result = robust_on_nominal(inst, result, margins)
    if out is not None and result.solution is not None:
        out.write_text(dumps(result.solution.to_dict(), indent=1) + "\n")
    if as_json:
        emit_json({"instance": inst.name, **result.to_dict()})
    else:
        print_result(Console(), inst, result)
    sys.exit(_exit_for(result))


@main.command("evaluate")
@click.argument("instance")
@click.argument("solution", type=InputFile())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@perf_options
def evaluate_command(instance: str, solution: Path, as_json: bool, perf_model: str | None,
                     engine: str | None, perf_profile: Path | None,
                     kv_precision: str | None) -> None:
    """Recompute the cost of SOLUTION on INSTANCE and check every constraint."""
    inst = load_instance(instance, perf_model, engine, perf_profile, kv_precision)
    try:
        doc = read_json(solution)  # its errors name the file already
    except InstanceError as exc:
        raise BadInput(str(exc)) from None
    try:
        sol = Solution.from_dict(doc)
        ev = evaluate(inst, sol)
    except InstanceError as exc:
        raise BadInput(f"{solution}: {exc}") from None
    result = RunResult(method="evaluate", status=Status.FEASIBLE if ev.feasible
                       else Status.INFEASIBLE, solution=sol, evaluation=ev, runtime_s=0.0)
    if as_json:
        emit_json({"instance": inst.name, **ev.to_dict()})
    else:
        print_result(Console(), inst, result)
    sys.exit(0 if ev.feasible else EXIT_INFEASIBLE)


@main.command()
@click.option("--size", type=Text(40), default="20x20x20", show_default=True,
              help="QUERYTYPESxMODELSxTIERS, e.g. 20x20x20.")
@click.option("--seed", type=SEED, required=True, help="Generator seed.")
@click.option("--scenario", type=click.Choice(["base", "tight-budget", "high-penalty"]),
              default="base", show_default=True)
@click.option("--paper-base", is_flag=True, help="Build the paper-base setting (6x6x10) instead.")
@click.option("--edition", type=click.Choice(["2026-11", "2026-12", "latest"]), default="2026-11",
              show_default=True,
              help="Catalog edition to draw from: 2026-11 (every published result) or a later "
                   "one, which adds 2026 GPUs and models and fp8/fp4 tiers (docs/catalog.md).")
@click.option("--out", type=OutputFile(), required=True)
def generate(size: str, seed: int, scenario: str, paper_base: bool, edition: str,
             out: Path) -> None:
    """Generate a seeded instance in the paper's ranges and write it to OUT."""
    from hetserve.instances.generate import generate as make
    from hetserve.instances.generate import paper_base as make_paper
    from hetserve.instances.generate import parse_size

    try:
        if paper_base and edition != "2026-11":
            raise BadInput("--edition: the paper-base setting is defined on the 2026-11 "
                           "catalog; drop --edition or --paper-base")
        inst = (make_paper(seed, scenario) if paper_base
                else make(parse_size(size, edition), seed, scenario, edition=edition))
    except InstanceError as exc:
        raise BadInput(str(exc)) from None
    write_instance(inst, out)
    t = inst.routes
    click.echo(f"wrote {out}: {inst.name}, {len(t)} configurations, {int(t.usable.sum())} usable "
               f"routes, budget ${inst.budget:,.2f}")


@main.command()
@click.argument("instance")
@click.option("--mps", type=OutputFile(), help="Write MPS here.")
@click.option("--lp", type=OutputFile(), help="Write LP here.")
@click.option("--reduced", is_flag=True,
              help="Write the model after hetserve's optimum-preserving reductions "
                   "(docs/milp.md) instead of the complete model.")
def export(instance: str, mps: Path | None, lp: Path | None, reduced: bool) -> None:
    """Export the MILP of INSTANCE for other solvers (the complete model by default)."""
    from hetserve.milp import export as export_model
    from hetserve.milp.reductions import Reductions

    if mps is None and lp is None:
        raise BadInput("export: give --mps FILE and/or --lp FILE")
    inst = load_instance(instance)
    for path, fmt in ((mps, "mps"), (lp, "lp")):
        if path is not None:
            export_model(inst, path, fmt=fmt, reductions=Reductions() if reduced else None)
            click.echo(f"wrote {path}")


@main.command()
def info() -> None:
    """Versions, catalog sizes, bundled instances and bundled data."""
    from importlib.metadata import PackageNotFoundError, version

    from hetserve.instances import load_catalog
    from hetserve.instances.catalog import DEFAULT_EDITION, EDITIONS

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    cat = load_catalog()
    click.echo(f"hetserve {ver('hetserve')} on Python {platform.python_version()} "
               f"({platform.machine()}, {platform.system()})")
    for name in ("pulp", "highspy", "numpy", "scipy", "networkx", "click", "rich", "dask",
                 "distributed", "matplotlib"):
        click.echo(f"  {name:<12} {ver(name)}")
    latest = load_catalog("latest")
    for label, c in ((f"catalog {DEFAULT_EDITION} (default: generator, presets)", cat),
                     (f"catalog {EDITIONS[-1]} (latest: estimate, instance names)", latest)):
        click.echo(f"{label}: {len(c.gpus)} GPU types, {len(c.models)} models, "
                   f"{len(c.precisions)} precisions ({', '.join(c.precisions)})")
    click.echo(f"bundled instances: {', '.join(bundled_names())}")
    from hetserve.instances.traces import AZURE_ENV, bundled_data

    click.echo("bundled data (hetserve/instances/data/):")
    for item in bundled_data():
        click.echo(f"  {item['kind']:<12} {item['name']:<15} {item['file']} "
                   f"({item['bytes']:,} bytes): {item['source']}")
    import os

    if os.environ.get(AZURE_ENV):
        click.echo(f"  {AZURE_ENV}={os.environ[AZURE_ENV]} replaces the bundled Azure traces")


def _register_extensions() -> None:
    from hetserve.cli.bench import bench_command
    from hetserve.cli.queueing_cli import pools_command, simulate_command
    from hetserve.cli.rolling import rolling_command
    from hetserve.cli.stress import stress_command

    main.add_command(bench_command, "bench")
    main.add_command(stress_command, "stress")
    main.add_command(pools_command, "pools")
    main.add_command(simulate_command, "simulate")
    main.add_command(rolling_command, "rolling")
    main.add_command(__import__("hetserve.cli.estimate", fromlist=["_"]).estimate_command)
    main.add_command(__import__("hetserve.cli.fluid", fromlist=["_"]).fluid_command)


_register_extensions()

if __name__ == "__main__":
    main()


__all__ = ["EXIT_BAD_INPUT", "EXIT_INFEASIBLE", "EXIT_NO_SOLUTION", "BadInput", "main"]
