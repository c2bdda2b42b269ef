"""GPU use per configuration (RouteTable.gpu_use) and disaggregated prefill/decode configurations."""

import numpy as np

from hetserve.instances import Tier, evaluate
from hetserve.instances.bundled import bundled_path
from hetserve.instances.io import read_instance
from hetserve.instances.solution import Deployment, Solution
from tests.helpers import round_gpu, tiny_instance


def test_gpu_use_of_aggregated_configs_is_tp_times_pp_on_their_own_type():
    inst = read_instance(bundled_path("paper-base"))
    t = inst.routes
    for c, cfg in enumerate(t.configs):
        row = t.gpu_use[c]
        g = next(k for k, gpu in enumerate(inst.gpus) if gpu.name == cfg.gpu)
        assert row[g] == cfg.tp * cfg.pp
        assert row.sum() == cfg.tp * cfg.pp == t.gpus_per_replica[c]
    assert not t.gpu_use.flags.writeable


def test_evaluator_counts_gpus_by_type_from_gpu_use():
    inst = tiny_instance(gpus=(round_gpu("G100"), round_gpu("G200", price=2.0)),
                         tiers=(Tier("G100", "fp16"), Tier("G200", "fp16")),
                         availability={"G100": 3, "G200": 64})
    plan = Solution((Deployment("M10", "G100", "fp16", 2, 1, 2),
                     Deployment("M10", "G200", "fp16", 1, 1, 3)), ())
    ev = evaluate(inst, plan)
    assert ev.gpus_by_type == {"G100": 4, "G200": 3}
    assert [(v.kind, v.subject, v.amount) for v in ev.violations
            if v.kind == "availability"] == [("availability", "G100", 1)]
    assert np.array_equal(inst.routes.gpu_use.sum(axis=0) > 0, [True, True])
