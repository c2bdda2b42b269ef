"""Presets calibrated on the Azure 2023 traces match the trace files."""

import pytest

from hetserve.instances.presets import AZURE_DIR, PRESETS, azure_trace_stats

pytestmark = pytest.mark.skipif(not AZURE_DIR.exists(),
                                reason="Azure 2023 traces not found (set HETSERVE_AZURE_DIR)")


@pytest.mark.parametrize(("service", "category"), [("conv", "conversation"), ("code", "code")])
def test_preset_matches_trace(service, category):
    stats = azure_trace_stats(service)
    preset = PRESETS[category]
    assert preset.rate_per_s == pytest.approx(stats.rate_per_s, rel=1e-3)
    assert preset.prompt_tokens == pytest.approx(stats.mean_prompt, rel=1e-3)
    assert preset.output_tokens == pytest.approx(stats.mean_output, rel=1e-3)
