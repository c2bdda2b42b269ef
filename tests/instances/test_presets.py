"""Presets calibrated on the Azure 2023 traces match the traces; the bundled traces are the
unmodified published files (SHA-256 of the decompressed data)."""

import gzip
import hashlib
from importlib import resources

import pytest

from hetserve.instances.presets import PRESETS, azure_trace_stats
from hetserve.instances.traces import AZURE_SHA256


@pytest.mark.parametrize("service", sorted(AZURE_SHA256))
def test_bundled_trace_is_the_published_file(service):
    data = resources.files("hetserve.instances").joinpath(
        "data", "traces", f"AzureLLMInferenceTrace_{service}.csv.gz").read_bytes()
    assert hashlib.sha256(gzip.decompress(data)).hexdigest() == AZURE_SHA256[service]


@pytest.mark.parametrize(("service", "category", "rows"), [("conv", "conversation", 19366),
                                                           ("code", "code", 8819)])
def test_preset_matches_trace(service, category, rows, monkeypatch):
    monkeypatch.delenv("HETSERVE_AZURE_DIR", raising=False)
    stats = azure_trace_stats(service)
    assert stats.requests == rows
    preset = PRESETS[category]
    assert preset.rate_per_s == pytest.approx(stats.rate_per_s, rel=1e-3)
    assert preset.prompt_tokens == pytest.approx(stats.mean_prompt, rel=1e-3)
    assert preset.output_tokens == pytest.approx(stats.mean_output, rel=1e-3)
