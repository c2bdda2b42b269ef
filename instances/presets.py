"""Query-type presets per task category.

``conversation`` and ``code`` are calibrated on the Azure LLM inference traces 2023
(Splitwise, Patel et al., ISCA 2024; CC-BY 4.0; bundled, :mod:`instances.traces`): mean
arrival rate, mean prompt and output tokens over the one-hour samples.
:func:`azure_trace_stats` recomputes them from the traces and a test checks the stored
numbers against it. The other categories have no public arrival trace in the repository;
their token shapes follow typical task inputs and outputs (stated per preset) and their
rates sit in the paper's 1,000–25,000 requests/h range.
"""

from __future__ import annotations

from dataclasses import dataclass

from hetserve.instances.traces import azure_trace


@dataclass(frozen=True)
class QueryPreset:
    category: str
    rate_per_s: float
    prompt_tokens: float
    output_tokens: float
    delay_slo_s: float
    rationale: str


PRESETS: dict[str, QueryPreset] = {
    p.category: p
    for p in (
        QueryPreset("conversation", 5.530, 1154.7, 211.1, 12.0,
                    "Azure conv trace 2023: 19,366 requests in 3,502 s; mean 1,155 in / 211 out"),
        QueryPreset("code", 2.567, 2047.8, 27.9, 2.0,
                    "Azure code trace 2023: 8,819 requests in 3,436 s; mean 2,048 in / 28 out"),
        QueryPreset("summarisation", 1.5, 2000.0, 200.0, 15.0,
                    "news/report summarisation: ~1.5k-word inputs, ~150-word abstracts"),
        QueryPreset("rag", 3.0, 3000.0, 150.0, 10.0,
                    "retrieval QA: question + ~5 retrieved passages of ~500 tokens, short answer"),
        QueryPreset("math", 1.0, 250.0, 500.0, 25.0,
                    "GSM8K/MATH-style word problems answered with chain-of-thought"),
        QueryPreset("translation", 2.0, 300.0, 330.0, 8.0,
                    "paragraph translation: output about 1.1x the input length"),
    )
}

@dataclass(frozen=True)
class TraceStats:
    requests: int
    duration_s: float
    rate_per_s: float
    mean_prompt: float
    mean_output: float


def azure_trace_stats(service: str) -> TraceStats:
    """Request count, span, mean rate and mean token counts of the ``code``/``conv`` trace."""
    trace = azure_trace(service)
    n = len(trace)
    return TraceStats(n, trace.duration_s, n / trace.duration_s,
                      float(trace.prompt_tokens.mean()), float(trace.output_tokens.mean()))
