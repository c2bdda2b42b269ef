import pytest

from hetserve.queueing.profiles import from_catalog

perf = pytest.importorskip("hetserve.instances.performance")


def test_from_catalog_builds_replica_profile():
    p = from_catalog("Llama-3.1-70B-Instruct", "A100-80GB", "fp16", tp=8)
    assert p.gpus_per_unit == 8 and p.W > 0 and p.H > 0
    assert p.slots(8192) >= 1 and p.slots(2048) > p.slots(8192)
    assert p.price_per_unit_hour == pytest.approx(8 * p.price_per_gpu_hour)


def test_from_catalog_rejects_unknown_and_unfit():
    with pytest.raises(ValueError, match="model"):
        from_catalog("no-such-model", "A100-80GB")
    with pytest.raises(ValueError, match="gpu"):
        from_catalog("Llama-3.1-405B-Instruct", "T4")
