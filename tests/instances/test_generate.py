"""Generator: deterministic, in the paper's ranges, every query type servable."""

import numpy as np
import pytest

from hetserve.instances import InstanceError
from hetserve.instances.generate import generate, paper_base, parse_size


def test_same_seed_same_instance_other_seed_differs():
    assert generate((6, 6, 10), 4) == generate((6, 6, 10), 4)
    assert generate((6, 6, 10), 4) != generate((6, 6, 10), 5)


@pytest.mark.parametrize("scenario", ["base", "tight-budget", "high-penalty"])
def test_ranges_and_servability(scenario):
    inst = generate((12, 8, 10), 2, scenario)
    assert inst.size == (12, 8, 10)
    t = inst.routes
    for i, q in enumerate(inst.query_types):
        assert 1000 / 3600 <= q.rate_per_s <= 25000 / 3600
        assert q.delay_slo_s >= 1.5
        assert t.usable[i].any(), q.name
        assert (t.error[i][t.usable[i]] <= q.error_slo).any() or q.max_unmet > 0
    assert inst.budget is not None and inst.budget > 0
    assert inst.horizon_h == 24


def test_tight_budget_is_tighter_and_high_penalty_is_dearer():
    base, tight, high = (generate((8, 8, 10), 1, s) for s in ("base", "tight-budget", "high-penalty"))
    assert tight.budget < base.budget
    phi = np.array([q.unmet_penalty for q in base.query_types])
    assert np.allclose([q.unmet_penalty for q in high.query_types], 10 * phi)


def test_large_sizes_use_variants():
    inst = generate((5, 30, 40), 0)
    assert len(inst.models) == 30 and len(inst.tiers) == 40
    assert any("~ft" in m.name for m in inst.models)
    assert any(t.gpu.endswith("-spot") for t in inst.tiers)


def test_paper_base_shape():
    inst = paper_base()
    assert inst.size == (6, 6, 10)
    assert inst.tp_degrees == (1, 2, 4, 8) and inst.pp_degrees == (1, 2, 4)
    assert {t.gpu for t in inst.tiers} == {"RTX-A6000", "RTX-4090", "A100-40GB", "H100-SXM"}


def test_parse_size_errors():
    assert parse_size("20x20x20") == (20, 20, 20)
    with pytest.raises(InstanceError, match="size"):
        parse_size("20x20")


def test_default_edition_still_generates_the_bundled_instances():
    """Adding catalog rows and precisions must not move a (size, seed): the bundled
    gen-10x10x10 is generate((10, 10, 10), 1) re-read from its file."""
    from hetserve.instances import read_instance

    bundled = read_instance("gen-10x10x10")
    fresh = generate((10, 10, 10), 1, name=bundled.name)
    assert fresh.routes.configs == bundled.routes.configs
    assert [t.precision for t in fresh.tiers] == [t.precision for t in bundled.tiers]
    assert fresh.budget == bundled.budget
    assert {p.name for p in fresh.precisions} == {"fp16", "int8", "int4"}


def test_latest_edition_draws_2026_rows_and_fp8_fp4_tiers():
    a = generate((6, 10, 40), 3, edition="latest")
    assert a == generate((6, 10, 40), 3, edition="latest")  # seeded
    assert a.name == "gen-6x10x40-s3-base-e2026-12"
    assert {p.name for p in a.precisions} == {"fp16", "int8", "int4", "fp8", "fp4"}
    assert {"fp8", "fp4"} & {t.precision for t in a.tiers}
    from hetserve.instances import load_catalog

    old = load_catalog()
    assert any(g.name not in old.gpus for g in a.gpus) or any(
        m.name not in old.models for m in a.models)
    with pytest.raises(InstanceError, match="edition"):
        generate((6, 6, 10), 0, edition="2025-01")
