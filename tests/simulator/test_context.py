import numpy as np

from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.workload import load_workload
from hetserve.simulator.des import PoolSpec, Requests, poisson_requests, route_by_length, simulate
from hetserve.simulator.runner import Fleet, parse_pools, run_simulation

A100 = PRESETS["a100"]


def test_requests_longer_than_every_pool_are_rejected_not_served():
    cdf = load_workload("lmsys")
    fleet = Fleet(parse_pools("a100:12288:2"))
    out = run_simulation(fleet=fleet, cdf=cdf, rate=5.0, requests=20000, seed=1, mode="fast")
    sim = out["sim"]
    req = poisson_requests(cdf, 5.0, 20000, np.random.default_rng(1))
    too_long = int((req.total_tokens > 12288).sum())
    assert too_long > 0
    assert sim["rejected_by_reason"]["longer_than_every_pool"] == too_long
    assert sim["rejected"] == too_long


def test_misrouted_request_is_rejected_for_its_pool_context():
    req = Requests(np.array([0.0, 1.0, 2.0]), np.array([100, 3000, 100]),
                   np.array([50, 2000, 50]))
    pools = [PoolSpec("short", A100, 1, 4096), PoolSpec("long", A100, 1, 65536)]
    idx = np.array([0, 0, 1])  # request 1 (5000 tokens) misrouted to the 4K pool
    for mode in ("fast", "detailed"):
        res = simulate(req, idx, pools, mode=mode, warmup_frac=0.0)
        assert res.rejected_by_reason["exceeds_pool_context"] == 1
        assert res.pools[0].rejected_by_reason["exceeds_pool_context"] == 1
        assert np.isnan(res.ttft_s[1]) and not np.isnan(res.ttft_s[[0, 2]]).any()
    idx2, _ = route_by_length(req, [4096, 65536])
    assert idx2.tolist() == [0, 1, 0]
    idx3, _ = route_by_length(req, [4096])
    assert idx3.tolist() == [0, -1, 0]


def test_tpot_and_e2e_quantiles_have_intervals():
    cdf = load_workload("azure-code")
    out = run_simulation(fleet=Fleet(parse_pools("a100:8192:3")), cdf=cdf, rate=20.0,
                         requests=4000, seed=2, mode="detailed", quantile=0.9)
    sim = out["sim"]
    for key in ("ttft", "tpot", "e2e"):
        d = sim[key]
        assert d["lo"] <= d["value"] <= d["hi"] and d["p50_s"] <= d["value"]
        assert sim["pools"][0][key]["value"] == d["value"]
    # TPOT is at least one empty-unit iteration
    assert sim["tpot"]["p50_s"] >= A100.W
