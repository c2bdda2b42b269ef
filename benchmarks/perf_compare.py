"""Compare the roofline performance model with published vLLM / TensorRT-LLM figures.

Each :class:`Published` record holds one number a public benchmark reported: the
case (model, GPU, TP), the engine and its version, the precision, batch and lengths,
and where the number comes from. :func:`predict` computes the same quantity from
``instances.performance`` with the default :class:`~instances.PerfConstants`; the
only per-record override is an engine *setting* the benchmark fixed explicitly
(``gpu_memory_utilization``), never a model constant.

Run ``python -m benchmarks.perf_compare`` (from the repository root) to print the table and rewrite it in
``docs/performance.md`` between ``<!-- table -->`` and ``<!-- /table -->``;
``--check`` only reports whether the doc is up to date (exit 1 if not).
``tests/instances/test_perf_published.py`` imports :data:`RECORDS` and fails when a
ratio leaves its stated band.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from hetserve.instances import ModelSpec, PerfConstants, load_catalog
from hetserve.instances.catalog import TASK_CATEGORIES
from hetserve.instances.performance import decode_step_time, kv_capacity_bytes, prefill_time

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
BEGIN, END = "<!-- table -->", "<!-- /table -->"

DEFAULT_BAND = (0.5, 2.0)
"""Ratio ours/published a record must stay in unless it states a wider, explained band."""

# ----------------------------------------------------------------------------- models
# Llama-2 shapes are not in the catalog; the benchmarks below used them, so we build the
# specs from the published Hugging Face config.json files rather than substitute a
# Llama-3 model (Llama-2-7B has 32 KV heads, i.e. 4x the KV bytes of Llama-3.1-8B).
_NO_ERRORS = {c: 0.5 for c in TASK_CATEGORIES}  # accuracy is irrelevant here
EXTRA_MODELS: dict[str, ModelSpec] = {
    "Llama-2-7B": ModelSpec(
        name="Llama-2-7B", params_b=6.74, active_params_b=6.74, layers=32, hidden=4096,
        kv_heads=32, head_dim=128, max_context=4096, errors=_NO_ERRORS),
    "Llama-2-70B": ModelSpec(
        name="Llama-2-70B", params_b=68.98, active_params_b=68.98, layers=80, hidden=8192,
        kv_heads=8, head_dim=128, max_context=4096, errors=_NO_ERRORS),
}
"""meta-llama/Llama-2-7b-hf and Llama-2-70b-hf config.json (hidden, layers, heads,
num_key_value_heads, 4096 positions); 6.74B / 68.98B parameters from the model cards."""


# ---------------------------------------------------------------------------- records
METRICS = {
    "ttft_ms": "TTFT (ms), batch 1",
    "decode_tok_s": "decode tok/s, 1 stream",
    "static_batch_tok_s": "out tok/s, static batch",
    "kv_tokens": "KV capacity (tokens)",
}


@dataclass(frozen=True)
class Published:
    """One published measurement and the conditions needed to reproduce it in the model."""

    key: str
    model: str  # catalog name or a key of EXTRA_MODELS
    gpu: str  # catalog GPU used for the prediction
    precision: str  # catalog precision used for the prediction
    tp: int
    metric: str  # one of METRICS
    value: float  # the published number, in the metric's unit
    prompt: int = 0
    output: int = 0
    batch: int = 1
    engine: str = ""
    date: str = ""
    source: str = ""
    conditions: str = ""
    gpu_memory_utilization: float | None = None  # engine setting of the run, if not 0.90
    band: tuple[float, float] = DEFAULT_BAND
    note: str = ""  # why a band is wider, or what is approximated

    @property
    def case(self) -> str:
        return f"{self.model} · {self.gpu} · TP{self.tp}"


_TRT_DOC = ("NVIDIA/TensorRT-LLM docs/source/performance.md at commit 138f96d "
            "(https://github.com/NVIDIA/TensorRT-LLM/blob/"
            "138f96d45f90b9667426f7c47297d8c06bafac73/docs/source/performance.md): "
            "throughput rows updated for v0.6.1, first-token rows from v0.5")
_TRT_LAT = "TensorRT-LLM v0.5 (gptSessionBenchmark, 1 output token)"
_TRT_THR = "TensorRT-LLM v0.6.1 (gptSessionBenchmark, static batching)"
_FP8_NOTE = ("FP8 weights+activations on H100 modelled as our 'int8' precision (1 byte/weight, "
             "int8_tops = H100 dense FP8 peak 1,979 TFLOPS); our KV stays fp16.")

RECORDS: tuple[Published, ...] = (
    # --- Case 1: Llama-2-7B, A100 80GB, TP1, fp16, TensorRT-LLM --------------------------
    Published(
        key="trt-a100-7b-ttft128", model="Llama-2-7B", gpu="A100-80GB", precision="fp16", tp=1,
        metric="ttft_ms", value=16.0, prompt=128, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP16, batch 1, 128-token prompt",
        note="A100 variant unstated; 80 GB assumed (the batch-384 throughput row cannot "
        "fit in 40 GB)."),
    Published(
        key="trt-a100-7b-ttft2048", model="Llama-2-7B", gpu="A100-80GB", precision="fp16", tp=1,
        metric="ttft_ms", value=133.0, prompt=2048, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP16, batch 1, 2,048-token prompt"),
    Published(
        key="trt-a100-7b-b384-128-128", model="Llama-2-7B", gpu="A100-80GB", precision="fp16",
        tp=1, metric="static_batch_tok_s", value=5586.0, prompt=128, output=128, batch=384,
        engine=_TRT_THR, date="2023-12", source=_TRT_DOC,
        conditions="FP16, batch 384, 128 in / 128 out"),
    Published(
        key="trt-a100-7b-b60-128-2048", model="Llama-2-7B", gpu="A100-80GB", precision="fp16",
        tp=1, metric="static_batch_tok_s", value=1928.0, prompt=128, output=2048, batch=60,
        engine=_TRT_THR, date="2023-12", source=_TRT_DOC,
        conditions="FP16, batch 60, 128 in / 2,048 out"),
    Published(
        key="trt-a100-7b-b52-2048-128", model="Llama-2-7B", gpu="A100-80GB", precision="fp16",
        tp=1, metric="static_batch_tok_s", value=591.0, prompt=2048, output=128, batch=52,
        engine=_TRT_THR, date="2023-12", source=_TRT_DOC,
        conditions="FP16, batch 52, 2,048 in / 128 out"),
    # --- Case 2: Llama-2-70B, A100 80GB, TP4, fp16, TensorRT-LLM -------------------------
    Published(
        key="trt-a100-70b-tp4-ttft128", model="Llama-2-70B", gpu="A100-80GB", precision="fp16",
        tp=4, metric="ttft_ms", value=47.0, prompt=128, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP16, TP4, batch 1, 128-token prompt"),
    Published(
        key="trt-a100-70b-tp4-ttft2048", model="Llama-2-70B", gpu="A100-80GB", precision="fp16",
        tp=4, metric="ttft_ms", value=377.0, prompt=2048, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP16, TP4, batch 1, 2,048-token prompt"),
    # --- Case 3: Llama-2-7B / 70B, H100 SXM, FP8, TensorRT-LLM --------------------------
    Published(
        key="trt-h100-7b-ttft128", model="Llama-2-7B", gpu="H100-SXM", precision="int8", tp=1,
        metric="ttft_ms", value=7.0, prompt=128, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP8, batch 1, 128-token prompt", band=(0.2, 2.0),
        note=_FP8_NOTE + " Wide band: a 128-token prefill on H100 is bound by the weight read "
        "and fixed per-forward costs, which the prefill formula leaves out (see the doc)."),
    Published(
        key="trt-h100-7b-ttft2048", model="Llama-2-7B", gpu="H100-SXM", precision="int8", tp=1,
        metric="ttft_ms", value=36.0, prompt=2048, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP8, batch 1, 2,048-token prompt", note=_FP8_NOTE),
    Published(
        key="trt-h100-70b-tp4-ttft128", model="Llama-2-70B", gpu="H100-SXM", precision="int8",
        tp=4, metric="ttft_ms", value=26.0, prompt=128, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP8, TP4, batch 1, 128-token prompt", band=(0.2, 2.0),
        note=_FP8_NOTE + " Wide band for the same reason as the 7B 128-token row."),
    Published(
        key="trt-h100-70b-tp4-ttft2048", model="Llama-2-70B", gpu="H100-SXM", precision="int8",
        tp=4, metric="ttft_ms", value=109.0, prompt=2048, engine=_TRT_LAT, date="2023-10",
        source=_TRT_DOC, conditions="FP8, TP4, batch 1, 2,048-token prompt", note=_FP8_NOTE),
    # --- Case 4: Llama-3.1-8B, A100 40GB, TP1, bf16, vLLM ------------------------------
    Published(
        key="vllm-a100-40-8b-decode", model="Llama-3.1-8B-Instruct", gpu="A100-40GB",
        precision="fp16", tp=1, metric="decode_tok_s", value=75.0, prompt=1024, output=128,
        engine="vLLM 0.23.0 (as stated; `vllm bench serve`, default scheduling)",
        date="undated (stored copy)",
        source="J. Musgrave, 'vLLM throughput-latency sweep on NVIDIA A100', "
        "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on",
        conditions="BF16, concurrency 1, random 1,024 in / 128 out, --ignore-eos",
        note="'about 75 tokens/s' = decode rate at concurrency 1 (the post equates it to ~77 % "
        "of the bandwidth roofline, i.e. 1/TPOT, not end-to-end tokens/s)."),
    # --- Case 5: Llama-3.1-8B, 24 GB card, TP1, vLLM KV capacity --------------------------
    Published(
        key="vllm-24gb-8b-kv", model="Llama-3.1-8B-Instruct", gpu="RTX-4090", precision="fp16",
        tp=1, metric="kv_tokens", value=1952 * 16, engine="vLLM V0 engine (≈0.6.x log format)",
        date="2024-12-02",
        source="vllm-project/vllm issue #10517, comment of 2024-12-02 "
        "(https://github.com/vllm-project/vllm/issues/10517)",
        conditions="BF16, RTX 3090, util 0.90, max-model-len 20k: 1,952 blocks x 16 "
        "(1.56 seqs of 20k)",
        note="RTX 3090 is not in the catalog; the RTX-4090 entry stands in (same 24 GB; "
        "only memory matters for KV capacity)."),
    # --- Case 6: Qwen2.5-14B shape, 2x RTX 4090, TP2, vLLM KV capacity -------------------
    Published(
        key="vllm-2x4090-14b-tp2-kv", model="Qwen2.5-14B-Instruct", gpu="RTX-4090",
        precision="fp16", tp=2, metric="kv_tokens", value=81536,
        engine="vLLM V0 engine (0.7.x-era log format)", date="2025-02-11",
        source="vllm-project/vllm issue #13061 (https://github.com/vllm-project/vllm/issues/13061)",
        conditions="BF16 R1-Distill-Qwen-14B, util 0.98, max-model-len 131,072 "
        "(0.62 seqs of 131k)",
        gpu_memory_utilization=0.98,
        note="DeepSeek-R1-Distill-Qwen-14B has the Qwen2.5-14B architecture "
        "(48 layers, 8 KV heads x 128); the catalog's Qwen2.5-14B-Instruct stands in."),
)


# ------------------------------------------------------------------------- prediction


def _model(name: str) -> ModelSpec:
    return EXTRA_MODELS.get(name) or load_catalog().models[name]


def predict(rec: Published, c: PerfConstants | None = None) -> float:
    """Our model's value of ``rec.metric`` under ``rec``'s conditions."""
    c = c or PerfConstants()
    if rec.gpu_memory_utilization is not None:
        c = dataclasses.replace(c, gpu_memory_utilization=rec.gpu_memory_utilization)
    cat = load_catalog()
    model, gpu, prec = _model(rec.model), cat.gpus[rec.gpu], cat.precisions[rec.precision]
    if rec.metric == "ttft_ms":
        return float(prefill_time(model, gpu, prec, rec.tp, 1, rec.prompt, c)) * 1e3
    if rec.metric == "decode_tok_s":
        ctx = rec.prompt + rec.output / 2.0
        return 1.0 / float(decode_step_time(model, gpu, prec, rec.tp, 1, 1, ctx, c))
    if rec.metric == "static_batch_tok_s":
        # All `batch` prompts are prefilled, then `output` decode steps run at full batch
        # (gptSessionBenchmark's static batching); mean context prompt + output/2.
        t_pre = float(prefill_time(model, gpu, prec, rec.tp, 1, rec.prompt, c))
        t_dec = float(decode_step_time(model, gpu, prec, rec.tp, 1, rec.batch,
                                       rec.prompt + rec.output / 2.0, c))
        return rec.batch * rec.output / (rec.batch * t_pre + rec.output * t_dec)
    if rec.metric == "kv_tokens":
        return float(kv_capacity_bytes(model, gpu, prec, rec.tp, 1, c)) / model.kv_bytes_per_token
    raise ValueError(f"unknown metric {rec.metric!r}")


def ratio(rec: Published, c: PerfConstants | None = None) -> float:
    return predict(rec, c) / rec.value


# ------------------------------------------------------------------------------ table


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def markdown_table(c: PerfConstants | None = None) -> str:
    """The comparison table, one row per record (sources are listed in the doc)."""
    lines = [
        "| # | case (model · GPU · TP) | metric | conditions | published | ours "
        "| ours/published | band |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for k, rec in enumerate(RECORDS, 1):
        ours = predict(rec, c)
        lo, hi = rec.band
        lines.append(
            f"| {k} | {rec.case} | {METRICS[rec.metric]} | {rec.conditions} | "
            f"{_fmt(rec.value)} | {_fmt(ours)} | {ours / rec.value:.2f} | {lo:g}–{hi:g} |")
    return "\n".join(lines)


_SKELETON = f"""# Performance model vs published figures

(Intro and discussion to be written; the table is generated by `scripts/perf_compare.py`.)

{BEGIN}
{END}
"""


def render_doc(text: str, table: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} lacks the {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


@click.command()
@click.option("--check", is_flag=True,
              help="Only check that the doc holds the current table (exit 1 if not).")
@click.option("--doc", type=click.Path(dir_okay=False, path_type=Path), default=DOC,
              show_default=True, help="The document whose table is rewritten.")
def main(check: bool, doc: Path) -> None:
    """Ours vs published vLLM / TensorRT-LLM figures: print the table and rewrite it in DOC."""
    table = markdown_table()
    text = doc.read_text() if doc.exists() else _SKELETON
    new = render_doc(text, table)
    if check:
        if new != text:
            click.echo(f"{doc} is out of date; run python -m benchmarks.perf_compare", err=True)
            sys.exit(1)
        return
    click.echo(table)
    doc.write_text(new)


if __name__ == "__main__":
    main()
