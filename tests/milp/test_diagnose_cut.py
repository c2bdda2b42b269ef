"""The availability bottleneck named as a max-flow/min-cut (milp/diagnose.py)."""

from dataclasses import replace

import numpy as np

from hetserve.instances import Status, Tier
from hetserve.milp import solve
from hetserve.milp.diagnose import availability_cut
from tests.helpers import query, round_gpu, round_model, tiny_instance


def _two_speeds(fast_gpus: int):
    """`chat` (5 s SLO) runs only on the fast GPU; `batch` (1,000 s SLO) on both."""
    fast = round_gpu("FAST")
    slow = replace(round_gpu("SLOW"), bandwidth_gb_s=50.0, fp16_tflops=5.0)
    return tiny_instance(
        query_types=(query("chat", rate=40.0, delay=5.0), query("batch", rate=40.0, delay=1000.0)),
        models=(round_model(),), gpus=(fast, slow),
        tiers=(Tier("FAST", "fp16"), Tier("SLOW", "fp16")), tp_degrees=(1,),
        availability={"FAST": fast_gpus, "SLOW": 10_000})


def test_cut_names_the_types_and_gpus_of_the_bottleneck_only():
    inst = _two_speeds(fast_gpus=1)
    t = inst.routes
    assert t.usable[0].sum() == 1 and t.usable[1].sum() == 2  # the premise: chat is FAST-only
    text = availability_cut(inst)
    assert text is not None and "`chat`" in text and "`batch`" not in text
    assert "FAST: 1" in text and "SLOW" not in text
    # the figure is the fewest GPUs carrying chat's demand on FAST: λ g / (ρ μ)
    need = 40.0 * 1 / (inst.max_utilisation * t.capacity[0][t.usable[0]][0])
    assert f"{need:,.1f} GPUs" in text
    assert need > 1
    assert solve(inst).status is Status.INFEASIBLE
    assert any("max-flow/min-cut" in line for line in solve(inst).diagnosis)


def test_no_cut_when_availability_suffices():
    inst = _two_speeds(fast_gpus=10_000)
    assert availability_cut(inst) is None
    assert solve(inst).status is Status.OPTIMAL
    assert np.isfinite(solve(inst).objective)
