"""``hetserve estimate``: what a serving engine shows for one configuration or a CSV of them.

Semantics (docs/performance.md, "Serving model"): a closed-loop benchmark of
``concurrency`` clients sending requests of exactly ``isl`` prompt and ``osl`` output
tokens, reporting mean TTFT and mean TPOT as aiperf or vLLM's ``benchmark_serving`` do in
concurrency mode, plus end-to-end latency, output tokens/s per GPU and the KV pool.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hetserve.cli.errors import BadInput
from hetserve.instances.errors import InstanceError
from hetserve.instances.profiles import AnalyticServing, read_profile
from hetserve.instances.serving import (
    ENGINES,
    FORMATS,
    KV_FORMATS,
    CaseEstimate,
    case_from_strings,
    engines_with,
    estimate_cases,
    read_cases,
)

_FLAGS = ("model", "gpu", "precision", "tp", "pp", "isl", "osl", "concurrency", "engine")


@click.command("estimate")
@click.option("--cases", "cases_file", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with columns model,gpu,precision,tp,pp,isl,osl,concurrency,engine"
                   "[,kv_precision]; one estimate per row")
@click.option("--model", help="catalog model name (latest edition, docs/catalog.md)")
@click.option("--gpu", help="catalog GPU name (latest edition, docs/catalog.md)")
@click.option("--precision", default="fp16", show_default=True,
              help=f"weight precision: {', '.join(FORMATS)}")
@click.option("--kv-precision", default="fp16", show_default=True,
              help=f"KV-cache precision: {', '.join(KV_FORMATS)}")
@click.option("--tp", default="1", show_default=True, help="tensor-parallel degree")
@click.option("--pp", default="1", show_default=True, help="pipeline-parallel degree")
@click.option("--isl", default="1024", show_default=True, help="prompt tokens per request")
@click.option("--osl", default="256", show_default=True, help="output tokens per request")
@click.option("--concurrency", default="16", show_default=True, help="closed-loop clients")
@click.option("--engine", default="vllm", show_default=True,
              help=f"serving engine profile: {', '.join(ENGINES)}")
@click.option("--max-num-seqs", type=click.IntRange(1, 1_000_000), default=None,
              help="engine setting: most sequences running at once (default: the engine's)")
@click.option("--token-budget", type=click.IntRange(1, 10_000_000), default=None,
              help="engine setting: most new tokens per step (vLLM max_num_batched_tokens, "
                   "TensorRT-LLM max_num_tokens, SGLang chunked_prefill_size)")
@click.option("--profile", "profile_file", type=click.Path(dir_okay=False, path_type=Path),
              help="measured runs that replace the model for the configurations they cover "
                   "(hetserve CSV, AIConfigurator silicon CSV or vLLM benchmark_serving JSON; "
                   "docs/performance.md)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON list, one object per case")
def estimate_command(cases_file: Path | None, model: str | None, gpu: str | None, precision: str,
                     kv_precision: str, tp: str, pp: str, isl: str, osl: str, concurrency: str,
                     engine: str, max_num_seqs: int | None, token_budget: int | None,
                     profile_file: Path | None, as_json: bool) -> None:
    """TTFT, TPOT, end-to-end latency, output tok/s per GPU and KV capacity.

    Semantics: a closed-loop benchmark of --concurrency clients sending requests of
    exactly --isl prompt and --osl output tokens; mean TTFT and mean TPOT as aiperf or
    vLLM's benchmark_serving report them in concurrency mode.

    Give either --cases FILE or --model and --gpu (with the other flags). A
    configuration that does not fit (memory, context window, TP beyond a node or not
    dividing the attention heads) gets null numbers and a reason; a bad row or flag
    exits with code 2. With --profile, measured runs replace the model for the
    configurations they cover, interpolated between measured points and refused
    (null + reason) outside them.
    """
    try:
        if cases_file is not None:
            if model or gpu:
                raise BadInput("--cases: give either --cases or --model/--gpu, not both")
            cases = read_cases(cases_file)
        else:
            if not model or not gpu:
                raise BadInput("--model and --gpu are required without --cases")
            values = dict(model=model, gpu=gpu, precision=precision, tp=tp, pp=pp, isl=isl,
                          osl=osl, concurrency=concurrency, engine=engine,
                          kv_precision=kv_precision)
            try:
                cases = [case_from_strings(values, "flags")]
            except InstanceError as exc:
                flag = exc.field.replace("flags column ", "--").replace("_", "-")
                raise BadInput(f"{flag}: {exc.reason}") from None
        analytic = AnalyticServing(engines_with(max_num_seqs=max_num_seqs, token_budget=token_budget))
        performance = read_profile(profile_file, analytic) if profile_file is not None else analytic
        results = estimate_cases(cases, performance)
    except InstanceError as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=1))
        return
    _print_table(results)


def _print_table(results: list[CaseEstimate]) -> None:
    head = (f"{'#':>3} {'model':<24} {'gpu':<10} {'prec':<5} {'kv':<4} {'tp':>2} {'pp':>2} "
            f"{'isl':>6} {'osl':>6} {'C':>5} {'engine':<7} {'TTFT ms':>9} {'TPOT ms':>8} "
            f"{'E2E s':>8} {'tok/s/GPU':>9} {'KV tokens':>10}")
    click.echo(head)
    for k, r in enumerate(results, start=1):
        c = r.case
        left = (f"{k:>3} {c.model[:24]:<24} {c.gpu[:10]:<10} {c.precision:<5} {c.kv_precision:<4} "
                f"{c.tp:>2} {c.pp:>2} {c.isl:>6} {c.osl:>6} {c.concurrency:>5} {c.engine:<7}")
        e = r.estimate
        if e is None:
            label = "no estimate" if r.source == "profile" else "does not fit"
            click.echo(f"{left} {label}: {r.reason}")
            continue
        note = "" if r.native_precision else f"  ({c.precision} weight-only: no {c.precision} cores)"
        note += "  (measured profile)" if r.source == "profile" else ""
        click.echo(f"{left} {e.ttft_s * 1e3:>9.1f} {e.tpot_s * 1e3:>8.2f} {e.e2e_s:>8.2f} "
                   f"{e.output_tok_s_per_gpu:>9.1f} {e.kv_capacity_tokens:>10,}{note}")
