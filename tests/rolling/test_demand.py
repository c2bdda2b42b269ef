"""Demand traces: synthetic determinism, Azure mapping, CSV loader errors, durations."""

from __future__ import annotations

import numpy as np
import pytest

from hetserve.instances.demand import (
    DemandError,
    azure_demand,
    csv_demand,
    diurnal_shape,
    parse_duration,
    synthetic_demand,
)


def test_synthetic_is_deterministic_per_seed(small):
    a = synthetic_demand(small, sigma=0.05, seed=3, horizon_s=3600)
    b = synthetic_demand(small, sigma=0.05, seed=3, horizon_s=3600)
    c = synthetic_demand(small, sigma=0.05, seed=4, horizon_s=3600)
    assert a.n_windows == 12
    np.testing.assert_array_equal(a.rates, b.rates)
    np.testing.assert_array_equal(a.prompt_mean, b.prompt_mean)
    for sa, sb in zip(a.samples, b.samples):
        for (oa, pa, qa), (ob, pb, qb) in zip(sa, sb):
            np.testing.assert_array_equal(pa, pb)
            np.testing.assert_array_equal(oa, ob)
    assert not np.array_equal(a.rates, c.rates)
    assert not a.rates.flags.writeable


def test_synthetic_sigma_zero_flat_is_the_instance(small):
    d = synthetic_demand(small, sigma=0.0, seed=1, horizon_s=1800, amplitude=0.0)
    base = np.array([q.rate_per_s for q in small.query_types])
    np.testing.assert_allclose(d.rates, np.tile(base, (6, 1)))


def test_synthetic_volatility_matches_sigma(small):
    d = synthetic_demand(small, sigma=0.1, seed=0, amplitude=0.0, samples_per_window=0)
    base = np.array([q.rate_per_s for q in small.query_types])
    rel = d.rates / base - 1
    assert abs(rel.std() - 0.1) < 0.01
    ar = synthetic_demand(small, sigma=0.1, seed=0, amplitude=0.0, ar=0.8, samples_per_window=0)
    x = ar.rates[:, 0] / base[0] - 1
    assert np.corrcoef(x[1:], x[:-1])[0, 1] > 0.6


def test_diurnal_shape_has_mean_one():
    t = np.arange(0, 86400, 60.0)
    s = diurnal_shape(t, 0.35, 15)
    assert abs(s.mean() - 1) < 1e-9
    assert np.argmax(s) == 15 * 60


def test_azure_keeps_real_burstiness(small):
    d = azure_demand(small, "code", horizon_s=7200)
    k = d.meta["trace_windows"]
    assert k == 11  # 3,436 s of trace: 11 full 5-minute windows
    flat = azure_demand(small, "code", horizon_s=7200, amplitude=0.0)
    base = small.query_types[0].rate_per_s
    bursts = flat.rates[:k, 0] / base
    assert abs(bursts.mean() - 1) < 1e-9
    assert bursts.min() < 0.1  # the code trace's near-empty 5-minute window
    np.testing.assert_allclose(bursts, d.meta["burst_factors"], atol=1e-4)
    np.testing.assert_allclose(flat.rates[k:2 * k, 0], base * bursts)  # the hour repeats
    # per-window token samples are real requests, scaled to the type's mean
    p, _o = flat.type_tokens(0)
    assert abs(p.mean() / small.query_types[0].prompt_tokens - 1) < 0.1


def test_csv_loader(tmp_path, small):
    f = tmp_path / "d.csv"
    f.write_text("timestamp,category,prompt_tokens,output_tokens\n"
                 "0,conversation,100,10\n1.5,code,200,20\n301,conversation,300,30\n")
    d = csv_demand(f, small, window_s=300)
    assert d.n_windows == 2
    assert d.rates[0, 0] == pytest.approx(1 / 300)
    assert d.rates[1, 0] == pytest.approx(1 / 300)
    assert d.prompt_mean[1, 0] == 300


@pytest.mark.parametrize(("row", "needle"), [
    ("0,conversation,abc,10", "line 3: column 'prompt_tokens' = 'abc' is not an integer in [1,"),
    ("0,conversation,100000000000000000000000000000,10", "line 3: column 'prompt_tokens'"),
    ("nan,conversation,100,10", "line 3: column 'timestamp'"),
    ("1e400,conversation,100,10", "line 3: column 'timestamp'"),
    ("0,conversation,100,0", "column 'output_tokens' = '0'"),
    ("yesterday,conversation,100,10", "line 3: column 'timestamp'"),
    ("0,poetry,100,10", "line 3: column 'category': 'poetry'"),
    ("0,conversation", "line 3: expected 4 columns"),
])
def test_csv_loader_rejects_bad_rows(tmp_path, small, row, needle):
    f = tmp_path / "bad.csv"
    f.write_text("timestamp,category,prompt_tokens,output_tokens\n0,code,1,1\n" + row + "\n")
    with pytest.raises(DemandError) as err:
        csv_demand(f, small)
    assert needle in str(err.value)
    assert "bad.csv" in str(err.value)


def test_csv_loader_accepts_a_byte_order_mark_and_honours_the_horizon(tmp_path, small):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbftimestamp,category,prompt_tokens,output_tokens\n"
                  b"0,conversation,100,10\n700,conversation,100,10\n")
    d = csv_demand(f, small, window_s=300)
    assert d.n_windows == 3 and d.meta["dropped_after_horizon"] == 0
    d = csv_demand(f, small, window_s=300, horizon_s=600)
    assert d.n_windows == 2 and d.meta["dropped_after_horizon"] == 1
    d = csv_demand(f, small, window_s=300, horizon_s=3600)
    assert d.n_windows == 12 and d.rates[3:].sum() == 0


def test_csv_loader_refuses_a_span_beyond_the_window_cap(tmp_path, small):
    f = tmp_path / "far.csv"
    f.write_text("timestamp,category,prompt_tokens,output_tokens\n0,conversation,100,10\n"
                 "10000000,conversation,100,10\n")
    with pytest.raises(DemandError, match="at most 20,000"):
        csv_demand(f, small, window_s=300)


def test_csv_loader_rejects_bad_header(tmp_path, small):
    f = tmp_path / "h.csv"
    f.write_text("time,cat,p,o\n0,code,1,1\n")
    with pytest.raises(DemandError, match="header lacks column"):
        csv_demand(f, small)


def test_parse_duration():
    assert parse_duration("5m") == 300
    assert parse_duration("24h") == 86400
    assert parse_duration("90") == 90
    for bad in ("5x", "", "-1m", "m"):
        with pytest.raises(DemandError):
            parse_duration(bad)
