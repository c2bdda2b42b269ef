"""``hetserve fluid``: the prefill–decode fluid LP of arXiv 2602.02987 (docs/fluid.md).

SOURCE is a JSON classes file (an object with a ``classes`` list; schema in docs/fluid.md)
or an instance (file or bundled name) whose query types become the classes on one
deployment (``--model``, ``--gpu``, ...). The LP gives per-GPU prefill shares, decode
occupancies, queues, revenue and shadow prices; ``--size`` instead finds the fewest GPUs
serving the fleet-total rates. Bad input exits 2 with one line naming the field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hetserve.cli.errors import EXIT_INFEASIBLE, BadInput
from hetserve.cli.params import Integer, Number, Text
from hetserve.instances.errors import InstanceError
from hetserve.instances.jsonsafe import dumps


def _classes_doc(source: str) -> Any | None:
    """The parsed JSON of ``source`` if it is a classes file, else None (an instance)."""
    path = Path(source)
    if not path.is_file():
        return None
    from hetserve.instances.io import read_json

    try:
        doc = read_json(path)
    except InstanceError as exc:
        raise BadInput(str(exc)) from None
    return doc if isinstance(doc, dict) and "classes" in doc else None


def _diagnosis(plan: Any) -> str:
    """Why the LP has no plan (only infeasibility is possible: its revenue is bounded)."""
    strict = [c.name for c in plan.problem.classes if c.abandonment == 0]
    if strict:
        return (f"classes without abandonment ({', '.join(strict)}) must be served in full "
                "and the GPUs cannot; give --abandonment, more --gpus, or use --size")
    return "the service-level rows cannot all hold; relax --tpot or the fairness caps"


def _print_plan(plan: Any, gpus: int | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    prob = plan.problem
    console = Console(width=None if sys.stdout.isatty() else 110)
    it = prob.iteration
    console.print(escape(
        f"fluid LP ({prob.pricing} pricing): B={prob.batch}, C={prob.chunk}, "
        f"tau_mix={prob.tau * 1e3:.2f} ms, gamma={it.gamma:.2f} tok/s "
        f"(alpha={it.alpha:.4g} s, beta={it.beta:.3g} s/token, b0={it.b0:.0f}); "
        f"status {plan.status}"))
    if not plan.optimal:
        console.print(escape(_diagnosis(plan)))
        return
    t = Table(title=f"revenue {plan.revenue:.4g} per GPU per second")
    for col in ("class", "P", "D", "λ/GPU", "x*", "y_m", "y_s", "q_p", "q_d", "done/s"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for c, x, ym, ys, qp, qd, th in zip(prob.classes, plan.x, plan.y_mixed, plan.y_solo,
                                        plan.q_prefill, plan.q_decode, plan.throughput,
                                        strict=True):
        t.add_row(escape(c.name), f"{c.prompt_tokens:g}", f"{c.output_tokens:g}",
                  f"{c.rate:.4g}", f"{x:.4f}", f"{ym:.3f}", f"{ys:.3f}", f"{qp:.3f}",
                  f"{qd:.3f}", f"{th:.4g}")
    console.print(t)
    mixed = f"; M = {plan.mixed_gpus(gpus)} of {gpus} GPUs mixed" if gpus else ""
    console.print(f"Σx* = {plan.prefill_share:.4f}{mixed}; average TPOT "
                  f"{plan.average_tpot_s * 1e3:.2f} ms; decode buffer eliminable (γτ ≥ "
                  f"(B−1)/B): {'yes' if plan.decode_buffer_free else 'no'}")
    s = Table(title="shadow prices (marginal revenue per unit of right-hand side)")
    s.add_column("row")
    s.add_column("price", justify="right")
    for name, v in plan.shadow_prices.items():
        s.add_row(escape(name), f"{v:.4g}")
    console.print(s)


@click.command("fluid")
@click.argument("source")
@click.option("--model", type=Text(200), help="Instance source: the model to deploy.")
@click.option("--gpu", type=Text(200), help="Instance source: the GPU type.")
@click.option("--precision", type=Text(20), default="fp16", show_default=True,
              help="Instance source: weight precision.")
@click.option("--tp", type=Integer(1, 64), default=1, show_default=True,
              help="Instance source: tensor-parallel degree (a 'GPU' of the model is then "
                   "a TP group).")
@click.option("--engine", type=Text(40), default="vllm", show_default=True,
              help="Instance source: engine profile (vllm, sglang, trtllm).")
@click.option("--gpus", type=Integer(1, 10**7), default=None,
              help="Instance source: fleet size that turns the instance's total rates into "
                   "per-GPU rates (not with --size).")
@click.option("--batch", type=Integer(2, 100_000), default=None,
              help="B, decode streams per GPU (default: the classes file's, or for an "
                   "instance the streams whose mean context fits the KV pool).")
@click.option("--chunk", type=Integer(1, 1_000_000), default=None,
              help="C, prompt tokens per mixed iteration (default: the file's, or 256).")
@click.option("--abandonment", type=Number(0, 1e6), default=None,
              help="θ for every class, 1/s (default: the file's, or 0 for an instance).")
@click.option("--pricing", type=click.Choice(["bundled", "separate"]), default=None,
              help="Revenue scheme (default: the file's, or bundled).")
@click.option("--prefill-price", type=Number(0, 1e12), default=None,
              help="c_p per prompt token (default 0.1).")
@click.option("--decode-price", type=Number(0, 1e12), default=None,
              help="c_d per output token (default 0.2).")
@click.option("--tpot", type=Number(0, 1e6, lo_open=True), default=None,
              help="Cap on the average time per output token, s (eq. 47).")
@click.option("--prefill-fairness", type=Number(0, 1), default=None,
              help="Cap on x_i − x_j over class pairs.")
@click.option("--decode-fairness", type=Number(0, 1e9), default=None,
              help="Cap on y_s,i − y_s,j over class pairs.")
@click.option("--size", "size", is_flag=True,
              help="Find the fewest GPUs for the fleet-total rates instead (no abandonment, "
                   "no decode buffer; --tpot applies).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def fluid_command(source: str, model: str | None, gpu: str | None, precision: str, tp: int,
                  engine: str, gpus: int | None, batch: int | None, chunk: int | None,
                  abandonment: float | None, pricing: str | None,
                  prefill_price: float | None, decode_price: float | None,
                  tpot: float | None, prefill_fairness: float | None,
                  decode_fairness: float | None, size: bool, as_json: bool) -> None:
    """Fluid LP of prefill–decode contention for SOURCE (classes JSON or an instance)."""
    from dataclasses import replace

    from hetserve.queueing.fluid import (
        ServiceLevels,
        problem_from_dict,
        problem_from_instance,
        size_fluid,
        solve_fluid,
    )

    if size and gpus is not None:
        raise BadInput("--gpus: not with --size (sizing finds the number of GPUs)")
    doc = _classes_doc(source)
    try:
        if doc is not None:
            if model or gpu:
                raise BadInput("--model/--gpu: only for an instance source, not a classes file")
            if gpus is not None:
                raise BadInput("--gpus: only for an instance source; a classes file gives "
                               "fleet-total rates with its own 'gpus' key")
            if size and doc.get("gpus") is not None:
                raise BadInput("gpus: a classes file for --size gives fleet-total rates; "
                               "drop its 'gpus' key")
            problem, gpus = problem_from_dict(doc)
        else:
            from hetserve.cli.main import load_instance

            instance = load_instance(source)  # a missing file is reported as such
            if not model or not gpu:
                raise BadInput(f"{source}: not a classes file; as an instance it needs "
                               "--model and --gpu")
            if not size and gpus is None:
                raise BadInput("--gpus: an instance source needs the fleet size (or --size)")
            problem = problem_from_instance(instance, model=model, gpu=gpu,
                                            gpus=None if size else gpus, precision=precision,
                                            tp=tp, engine=engine, batch=batch,
                                            chunk=chunk or 256,
                                            abandonment=abandonment or 0.0)
        changes: dict[str, Any] = {}
        if batch is not None:
            changes["batch"] = batch
        if chunk is not None:
            changes["chunk"] = chunk
        if pricing is not None:
            changes["pricing"] = pricing
        if prefill_price is not None:
            changes["prefill_price"] = prefill_price
        if decode_price is not None:
            changes["decode_price"] = decode_price
        if abandonment is not None:
            changes["classes"] = tuple(replace(c, abandonment=abandonment)
                                       for c in problem.classes)
        sli = problem.sli
        changes["sli"] = ServiceLevels(
            tpot if tpot is not None else sli.tpot_s,
            prefill_fairness if prefill_fairness is not None else sli.prefill_fairness,
            decode_fairness if decode_fairness is not None else sli.decode_fairness)
        problem = replace(problem, **changes)
        if size:
            result = size_fluid(problem.classes, problem.iteration, batch=problem.batch,
                                chunk=problem.chunk, tpot_s=problem.sli.tpot_s)
            if as_json:
                click.echo(dumps({"source": source, "iteration": problem.iteration.to_dict(),
                                  "batch": problem.batch, "chunk": problem.chunk,
                                  **result.to_dict()}, indent=1))
            else:
                click.echo(f"sizing ({result.status}): {result.gpus} GPUs "
                           f"(LP bound {result.gpus_lp:.3f}), {result.mixed_gpus} of them "
                           f"mixed; B={problem.batch}, C={problem.chunk}")
            sys.exit(0 if result.status == "optimal" else EXIT_INFEASIBLE)
        plan = solve_fluid(problem)
    except InstanceError as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        click.echo(dumps({"source": source, "gpus": gpus,
                          "mixed_gpus": plan.mixed_gpus(gpus) if gpus and plan.optimal
                          else None, **plan.to_dict(),
                          "diagnosis": None if plan.optimal else _diagnosis(plan)}, indent=1))
    else:
        _print_plan(plan, gpus)
    sys.exit(0 if plan.optimal else EXIT_INFEASIBLE)


__all__ = ["fluid_command"]
