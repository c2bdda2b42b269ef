"""Side-by-side benchmark: hetserve's two-pool planner against the FleetOpt authors' open
planner (``vllm-sr-sim``, package ``fleet_sim``), on the same GPU constants and requests.

Run in an environment that has both packages (the peer is not a hetserve dependency)::

    python -m benchmarks.queueing_side_by_side --out results/queueing

Grid: the peer's three bundled workload CDFs (azure, lmsys, agent_heavy) x rate
{5, 50, 500} req/s x P99 TTFT SLO {0.5, 2} s x gamma {fixed 1.0, searched 1.0..2.0}, plus
the Azure LLM 2023 code and conversation traces (their empirical CDFs) at 50 req/s.
One A100-80GB profile with the fleet simulator's constants for both planners
(W 8 ms, H 0.65 ms, chunk 512, 65,536 KV blocks of 16, 128 slots at 8K, $2.21/h),
rho_max 0.85, 64K long pool, p_c 0.75.

Per case:

* hetserve: :func:`hetserve.queueing.verify.plan_verified` (analytic sweep, then the
  detailed simulator with common random numbers adds capacity until the 95 % upper bound
  of the miss rate is <= 1 %), SLO = fleet-wide P99 TTFT <= target, requests that no GPU
  can serve within the target by prefill alone excluded and reported (policy
  ``exclude``);
* peer: its analytic sweep (``FleetOptimizer.sweep_analytical`` per CDF breakpoint B
  with 0.01 <= F(B) <= 0.999, as its ``threshold_pareto`` does, plus its homogeneous fleet
  at B = 64K), cheapest configuration its model calls SLO-met;
* both plans are then simulated on one fresh request stream (seed 1, not the
  verification seed) in hetserve's detailed simulator and in the peer's ``Fleet``.
  "meets" = at most 1 % of the requests (unservable ones excluded) have TTFT > target.

Writes ``cases.csv``, ``side_by_side.md`` and ``meta.json`` to ``--out``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import click
import numpy as np

from hetserve.cli.sweep import ResumeRefused, machine_meta, prepare_out

RATES = (5.0, 50.0, 500.0)
SLOS = (0.5, 2.0)
PEER_WORKLOADS = ("azure", "lmsys", "agent_heavy")
TRACES = ("azure-code", "azure-conv")
LONG_CTX = 65536
P_C = 0.75


def _peer():
    import fleet_sim

    return fleet_sim


PEER_CDF_NAMES = {"azure": "fleetsim-azure", "lmsys": "lmsys", "agent_heavy": "agent-heavy"}
"""hetserve's bundled copies of the peer's tabulated CDFs (same values; used by
``--no-peer`` runs, where the peer is not installed)."""


def _have_peer() -> bool:
    from importlib.util import find_spec

    return find_spec("fleet_sim") is not None


def _peer_cdf(name: str):
    if not _have_peer():
        from hetserve.instances.traces import workload_table

        return [(int(t), float(f)) for t, f in workload_table(PEER_CDF_NAMES[name])["cdf"]]
    fs = _peer()
    path = Path(fs.__file__).parent / "data" / f"{name}_cdf.json"
    raw = json.loads(path.read_text())
    return [(int(t), float(f)) for t, f in (raw["cdf"] if isinstance(raw, dict) else raw)]


def _hs_cdf(name: str):
    from hetserve.queueing.workload import cdf_from_json, load_workload

    if name in TRACES:
        return load_workload(name)
    return cdf_from_json([list(p) for p in _peer_cdf(name)], name=name)


def peer_plan(cdf_pairs, lam: float, slo: float, searched: bool) -> dict:
    """The peer's cheapest analytic plan over its breakpoints and gamma grid."""
    fs = _peer()
    from fleet_sim.optimizer import analytical
    from fleet_sim.optimizer.base import FleetOptimizer

    gammas = [round(1.0 + 0.1 * k, 1) for k in range(11)] if searched else [1.0]
    t0 = time.perf_counter()
    cands = [t for t, _ in cdf_pairs[:-1] if 0.01 <= analytical.cdf_eval(cdf_pairs, t) <= 0.999
             and t < LONG_CTX]
    best = None
    for B in [*cands, LONG_CTX]:
        opt = FleetOptimizer(gpu_short=fs.A100_80GB, gpu_long=fs.A100_80GB, B_short=B,
                             t_slo_ms=slo * 1e3, long_max_ctx=LONG_CTX, p_c=P_C)
        for sr in opt.sweep_analytical(cdf_pairs, lam, gammas=gammas if B < LONG_CTX else [1.0]):
            if not sr.slo_met:
                continue
            n_s, n_l = (0, sr.n_s + sr.n_l) if B >= LONG_CTX else (sr.n_s, sr.n_l)
            cost = sr.cost_per_hr
            if best is None or cost < best["cost"] - 1e-9:
                best = {"B": B, "gamma": sr.gamma if B < LONG_CTX else 1.0, "n_s": n_s,
                        "n_l": n_l, "cost": cost}
    ms = 1e3 * (time.perf_counter() - t0)
    if best is None:
        return {"feasible": False, "ms": ms}
    # a pool with no units is no pool
    if best["n_s"] == 0 or best["B"] >= LONG_CTX:
        best.update(B=LONG_CTX, gamma=1.0, n_s=0)
    if best["n_l"] == 0:
        best["n_l"] = 0
    return {"feasible": True, "ms": ms, **best}


def _fleet_of(B, gamma, n_s, n_l):
    from hetserve.queueing.profiles import PRESETS
    from hetserve.simulator.des import PoolSpec
    from hetserve.simulator.runner import Fleet

    a100 = PRESETS["a100"]
    pools = []
    if n_s > 0 and B < LONG_CTX:
        pools.append(PoolSpec("short", a100, int(n_s), int(B)))
    if n_l > 0 or not pools:
        pools.append(PoolSpec("long", a100, max(1, int(n_l)), LONG_CTX))
    g = gamma if len(pools) == 2 else 1.0
    return Fleet(pools, g, P_C if g > 1 else 0.0)


def hs_simulate(fleet, req, slo_obj, seed):
    from hetserve.simulator.runner import run_fleet

    res, rep = run_fleet(fleet, req, seed=seed, mode="detailed", quantile=0.99, slo=slo_obj)
    fc = rep["constraints"][0]
    return {"p99": res.ttft["value"], "p99_lo": res.ttft["lo"], "p99_hi": res.ttft["hi"],
            "miss": fc["miss"]["rate"], "miss_ucb": fc["miss"]["ucb"],
            "meets": fc["miss"]["rate"] <= 0.01, "wall": res.wall_s,
            "pools_p99": "/".join(f"{p.p99_ttft_s:.3f}" for p in res.pools)}


def peer_simulate(fleet, req, slo_obj, seed, max_requests):
    """The same requests through the peer's Fleet (its LengthRouter or C&R router)."""
    fs = _peer()
    from hetserve.queueing.slo import prefill_alone_s

    n = min(len(req), max_requests)
    rng = random.Random(seed)
    arrivals = []
    for i in range(n):
        cat = "prose" if rng.random() < P_C else "code"
        r = fs.Request(req_id=i, arrival_time=float(req.arrival_s[i]),
                       l_in=int(req.prompt_tokens[i]), l_out=int(req.output_tokens[i]),
                       category=cat)
        arrivals.append((float(req.arrival_s[i]), r))
    pools = [fs.PoolConfig(p.name, fs.A100_80GB, p.units, p.ctx) for p in fleet.pools]
    if len(pools) == 2 and fleet.gamma > 1:
        cfg = fs.FleetConfig(pools=pools, router_type="CompressAndRouteRouter",
                             router_kwargs={"B_short": fleet.pools[0].ctx,
                                            "gamma": fleet.gamma, "p_compress": 1.0,
                                            "seed": seed})
    else:
        cfg = fs.FleetConfig(pools=pools, router_type="LengthRouter")
    t0 = time.perf_counter()
    out = fs.Fleet(cfg).run(arrivals)
    wall = time.perf_counter() - t0
    warm = int(0.2 * n)
    done = [r for r in out.completed if r.req_id >= warm and r.ttft is not None]
    ttft = np.array([r.ttft for r in done])
    l_in = np.array([getattr(r, "orig_l_in", None) or r.l_in for r in done], float)
    tokens = l_in + np.array([r.l_out for r in done], float)
    pmin = prefill_alone_s(l_in, [fleet.pools[-1].profile])
    con = slo_obj.constraints()[0]
    members = slo_obj.members(con, tokens, l_in, pmin)
    lost = (n - warm) - len(done)
    miss = float(((ttft > con.target_s) & members).sum() + max(lost, 0)) / max(
        int(members.sum()) + max(lost, 0), 1)
    return {"p99": float(np.quantile(ttft, 0.99)) if len(ttft) else math.nan, "miss": miss,
            "meets": miss <= 0.01, "wall": wall, "n": n}


def run_case(wl, lam, slo, searched, n_sim, n_verify, peer_cap):
    from hetserve.queueing.profiles import PRESETS
    from hetserve.queueing.slo import TTFTSLO
    from hetserve.queueing.verify import plan_verified
    from hetserve.simulator.runner import make_requests

    a100 = PRESETS["a100"]
    cdf = _hs_cdf(wl)
    slo_obj = TTFTSLO(slo, unservable="exclude")
    gammas = None if searched else (1.0,)
    t0 = time.perf_counter()
    hp = plan_verified(cdf, lam, slo_obj, a100, verify_requests=n_verify, seed=0,
                       gammas=gammas, bstar_check=False)
    hs_wall = time.perf_counter() - t0
    pairs = ([(int(t), float(f)) for t, f in zip(cdf.tokens, cdf.cum)] if wl in TRACES
             else _peer_cdf(wl))
    pp = peer_plan(pairs, lam, slo, searched)
    row = {"workload": wl, "rate": lam, "slo_s": slo, "gamma": "searched" if searched
           else "fixed", "unservable_pct": 100 * hp.unservable["share"],
           "hs_status": hp.slo_status, "hs_planner_ms": round(hp.planner_ms, 1),
           "hs_wall_s": round(hs_wall, 2)}
    ver = hp.verification or {}
    row["hs_analytic_cost"] = ver.get("analytic_cost_per_hour", hp.cost_per_hour)
    row["hs_cost"] = hp.cost_per_hour if hp.feasible else None
    row["hs_added_pct"] = ver.get("added_pct")
    row["hs_added_units"] = sum(ver.get("added_units") or [0])
    row["hs_holdout_added"] = bool(ver.get("holdout_added"))
    row["hs_plan"] = (" ".join(f"{p['ctx']}x{p['units']}" for p in hp.fleet["pools"])
                      + f" g{hp.fleet['routing']['gamma']:g}") if hp.feasible else "-"
    row["peer_cost"] = pp.get("cost")
    row["peer_plan"] = (f"{pp['B']}x{pp['n_s']} {LONG_CTX}x{pp['n_l']} g{pp['gamma']:g}"
                        if pp["feasible"] else "-")
    row["peer_planner_ms"] = round(pp["ms"], 1)
    # one fresh request stream (seed 1) for every simulation of this case
    n = n_sim
    if hp.feasible and hp.short:
        es = max((pool.mean_service_s for pool in (hp.short, hp.long) if pool is not None),
                 default=0.0)
        n = int(min(max(n_sim, 10 * lam * es), 6 * n_sim))
    req, _, _ = make_requests(cdf=cdf, rate=lam, n=n, seed=1)
    row["sim_requests"] = n
    for tag, fl in (("hs", _fleet_from_plan(hp) if hp.feasible else None),
                    ("peer", _fleet_of(pp["B"], pp["gamma"], pp["n_s"], pp["n_l"])
                     if pp["feasible"] else None)):
        if fl is None:
            continue
        h = hs_simulate(fl, req, slo_obj, seed=1)
        row[f"{tag}_p99_hs"] = round(h["p99"], 4)
        row[f"{tag}_p99_hs_ci"] = f"[{h['p99_lo']:.3f}, {h['p99_hi']:.3f}]"
        row[f"{tag}_miss_hs_pct"] = round(100 * h["miss"], 3)
        row[f"{tag}_meets_hs"] = h["meets"]
        gpus = sum(p.units for p in fl.pools)
        cap = int(max(2000, min(peer_cap, peer_cap * 60 / max(gpus, 1))))
        f = peer_simulate(fl, req, slo_obj, seed=1, max_requests=cap)
        row[f"{tag}_p99_peer"] = round(f["p99"], 4)
        row[f"{tag}_miss_peer_pct"] = round(100 * f["miss"], 3)
        row[f"{tag}_meets_peer"] = f["meets"]
        row[f"{tag}_peer_sim_requests"] = f["n"]
    return row


def _fleet_from_plan(plan):
    from hetserve.simulator.runner import fleet_from_plan

    return fleet_from_plan(plan.to_dict())[0]


def speed(out: Path, reps: int = 3, simulators: bool = True, peer_too: bool = True) -> dict:
    """Detailed simulator vs the peer's Fleet on the same fleets and requests (alternating),
    and the full (B, gamma) sweep cold vs warm vs the peer's sweep."""
    from hetserve.queueing.planner import clear_caches, plan_two_pool
    from hetserve.queueing.profiles import PRESETS
    from hetserve.simulator.runner import make_requests

    a100 = PRESETS["a100"]
    cdf = _hs_cdf("azure")
    res = {"sim": [], "sweep": {}}
    # the peer's Fleet scans every instance per event, so the big fleet gets few requests
    # through it (rates are per simulated request, so the counts need not match)
    for lam, n_req_hs, n_req_peer, n_rep in ((50.0, 20000, 20000, reps),
                                             (15000.0, 45000, 1500, 1)) if simulators else ():
        plan = plan_two_pool(cdf, lam, 0.5, a100, gammas=(1.0,), bstar_check=False)
        fl = _fleet_from_plan(plan)
        from hetserve.queueing.slo import TTFTSLO

        slo_obj = TTFTSLO(0.5)
        req, _, _ = make_requests(cdf=cdf, rate=lam, n=n_req_hs, seed=3)
        a, b = [], []
        for _ in range(n_rep):
            h = hs_simulate(fl, req, slo_obj, seed=3)
            a.append(n_req_hs / h["wall"])
            f = peer_simulate(fl, req, slo_obj, seed=3, max_requests=n_req_peer)
            b.append(f["n"] / f["wall"])
        res["sim"].append({"rate": lam, "gpus": sum(p.units for p in fl.pools),
                           "hetserve_req_per_s": statistics.median(a),
                           "peer_req_per_s": statistics.median(b),
                           "ratio": statistics.median(a) / statistics.median(b),
                           "hetserve_requests": n_req_hs, "peer_requests": n_req_peer})
    cold, warm, peer = [], [], []
    pairs = _peer_cdf("azure")
    for i in range(5):
        clear_caches()
        t0 = time.perf_counter()
        plan_two_pool(cdf, 200.0 + i, 0.5, a100, bstar_check=False)
        cold.append(1e3 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        plan_two_pool(cdf, 300.0 + i, 0.5, a100, bstar_check=False)
        warm.append(1e3 * (time.perf_counter() - t0))
        if peer_too:
            peer.append(peer_plan(pairs, 200.0 + i, 0.5, True)["ms"])
    res["sweep"] = {"cold_ms": statistics.median(cold), "warm_ms": statistics.median(warm),
                    "peer_ms": statistics.median(peer) if peer else math.nan, "rows": 5}
    return res


_HS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from hetserve.queueing.planner import plan_two_pool
from hetserve.queueing.profiles import PRESETS
from hetserve.queueing.workload import cdf_from_json
t1 = time.perf_counter()
cdf = cdf_from_json(json.loads(sys.argv[1]), name="azure")
t2, c2 = time.perf_counter(), time.process_time()
plan = plan_two_pool(cdf, 200.0, 0.5, PRESETS["a100"], bstar_check=False)
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({"import_ms": 1e3 * (t1 - t0), "sweep_ms": 1e3 * (t3 - t2),
                  "sweep_cpu_ms": 1e3 * (c3 - c2), "rows": len(plan.rows)}))
"""

_PEER_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from benchmarks.queueing_side_by_side import peer_plan
import fleet_sim.optimizer.analytical, fleet_sim.optimizer.base
t1 = time.perf_counter()
pairs = [tuple(p) for p in json.loads(sys.argv[1])]
c2 = time.process_time()
out = peer_plan(pairs, 200.0, 0.5, True)
c3 = time.process_time()
print(json.dumps({"import_ms": 1e3 * (t1 - t0), "sweep_ms": out["ms"],
                  "sweep_cpu_ms": 1e3 * (c3 - c2)}))
"""


PACKAGE_DIRS = {"instances": "instances", "milp": "milp", "heuristics": "heuristics",
                "queueing": "queueing", "simulator": "simulator", "rolling": "rolling",
                "cli": "scripts"}
"""pyproject's package-dir mapping (hetserve.<key> = <folder>), to import an old commit."""


def _export_commit(ref: str, dest: Path) -> Path:
    """``git archive`` of ``ref`` under ``dest/src`` and a ``dest/path/hetserve`` namespace
    of symlinks to its folders; returns the folder to put first on PYTHONPATH."""
    root = Path(__file__).resolve().parents[1]
    src = dest / "src"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], capture_output=True, check=True,
                             cwd=root).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    ns = dest / "path" / "hetserve"
    ns.mkdir(parents=True)
    for name, folder in PACKAGE_DIRS.items():
        if (src / folder).is_dir():
            (ns / name).symlink_to(src / folder)
    return dest / "path"


def sweep_cold(reps: int = 7, baseline: str | None = None, peer_too: bool = True) -> dict:
    """The full (B, gamma) sweep on the peer's azure CDF at 200 req/s, P99 TTFT 0.5 s, in a
    fresh process each time (cold: nothing cached; imports timed apart), hetserve and the
    peer alternating (and hetserve at commit ``baseline`` when given); medians of
    ``reps``."""
    import sys
    import tempfile

    pairs = json.dumps([list(p) for p in _peer_cdf("azure")])
    root = Path(__file__).resolve().parents[1]
    order = [("hetserve", _HS_CHILD, None)] + ([("peer", _PEER_CHILD, None)] if peer_too
                                               else [])
    tmp = None
    if baseline is not None:
        tmp = tempfile.TemporaryDirectory()
        path = _export_commit(baseline, Path(tmp.name))
        order.insert(0, ("baseline", _HS_CHILD, str(path)))
    runs: dict[str, list[dict]] = {tag: [] for tag, _, _ in order}
    try:
        for _ in range(reps):
            for tag, code, pythonpath in order:
                env = dict(os.environ)
                if pythonpath is not None:
                    env["PYTHONPATH"] = pythonpath
                out = subprocess.run([sys.executable, "-c", code, pairs], capture_output=True,
                                     text=True, check=True, cwd=tmp.name if pythonpath
                                     else root, env=env)
                runs[tag].append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        if tmp is not None:
            tmp.cleanup()
    med = {tag: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for tag, rs in runs.items()}
    res = {"reps": reps, "median": med, "runs": runs,
           "ratio_sweep_ms": (med["hetserve"]["sweep_ms"] / med["peer"]["sweep_ms"]
                              if "peer" in med else None)}
    if baseline is not None:
        res["baseline"] = baseline
        res["ratio_vs_baseline_cpu"] = (med["hetserve"]["sweep_cpu_ms"]
                                        / med["baseline"]["sweep_cpu_ms"])
    return res


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1]).stdout.strip() or None
    except OSError:
        return None


def _meta(out: Path, args: dict, wall: float, commit: str | None) -> dict:
    meta = machine_meta()
    meta["versions"]["vllm-sr-sim"] = _version("vllm-sr-sim")
    return {"script": "benchmarks/queueing_side_by_side.py", "args": args,
            "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **meta, "git_commit": commit or meta["git_commit"], "wall_s": round(wall, 1),
            "note": "measured on a shared 2-core machine with other jobs running; absolute "
                    "times are under load, ratios come from alternating runs"}


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="A new or empty folder (results/queueing holds the run the README quotes).")
@click.option("--requests", "n_sim", default=12000, show_default=True,
              help="Requests per simulation (raised to cover 10 mean service times).")
@click.option("--verify-requests", default=12000, show_default=True)
@click.option("--peer-requests", default=12000, show_default=True,
              help="Cap of requests through the peer's Fleet (scaled down for big fleets).")
@click.option("--quick", is_flag=True, help="Only rate 5 and 50 (smoke run).")
@click.option("--speed/--no-speed", "do_speed", default=True, show_default=True)
@click.option("--shard", default="0/1", show_default=True,
              help="K/N: run only the cases whose index is K mod N (merge with --merge).")
@click.option("--merge", "merge_dirs", multiple=True, type=click.Path(exists=True),
              help="Shard output folders to merge into --out (no cases are run).")
@click.option("--speed-only", is_flag=True,
              help="Only the speed measurements (simulators, sweep cold in fresh processes): "
                   "speed.md and speed.json.")
@click.option("--sweep-only", is_flag=True,
              help="With --speed-only: only the sweep (no simulator runs).")
@click.option("--baseline", default=None,
              help="With --speed-only: also time the cold sweep of this git commit (exported "
                   "with git archive), alternating with today's code and the peer.")
@click.option("--reps", default=7, show_default=True,
              help="With --speed-only: fresh processes per sweep measurement.")
@click.option("--no-peer", is_flag=True,
              help="With --speed-only --sweep-only: hetserve only (the peer need not be "
                   "installed; its CDF comes from hetserve's bundled copy).")
def main(out, n_sim, verify_requests, peer_requests, quick, do_speed, shard, merge_dirs,
         speed_only, sweep_only, baseline, reps, no_peer):
    """Run the grid and write cases.csv, side_by_side.md and meta.json."""
    t_start = time.perf_counter()
    commit = _commit()  # the code that runs, read before any later checkout
    outp = Path(out)
    if merge_dirs:
        _merge([Path(d) for d in merge_dirs], outp)
        return
    try:
        k_shard, n_shard = (int(v) for v in shard.split("/"))
        if not 0 <= k_shard < n_shard:
            raise ValueError
    except ValueError:
        raise click.UsageError(f"--shard: expected K/N with 0 <= K < N, got {shard!r}") from None
    if speed_only:
        outp.mkdir(parents=True, exist_ok=True)
        if any(outp.iterdir()):
            raise click.UsageError(f"--out: {outp} is not empty; give a new folder")
        if no_peer and not sweep_only:
            raise click.UsageError("--no-peer: only with --speed-only --sweep-only")
        sp = speed(outp, simulators=not sweep_only, peer_too=not no_peer)
        sp["sweep_cold"] = sweep_cold(reps, baseline, peer_too=not no_peer)
        meta = _meta(outp, {"speed_only": True, "sweep_only": sweep_only,
                            "baseline": baseline, "reps": reps},
                     time.perf_counter() - t_start, commit)
        meta["load_average_1min"] = round(os.getloadavg()[0], 2)
        (outp / "speed.json").write_text(json.dumps({**meta, "speed": sp}, indent=2,
                                                    default=str))
        (outp / "speed.md").write_text(speed_markdown(sp, meta))
        click.echo(speed_markdown(sp, meta))
        return
    try:
        prepare_out(outp, {"command": "queueing_side_by_side", "quick": quick,
                           "requests": n_sim, "verify_requests": verify_requests,
                           "peer_requests": peer_requests, "speed": do_speed},
                    resume=False, resumable=False)
    except ResumeRefused as exc:
        raise click.UsageError(str(exc)) from None
    outp.mkdir(parents=True, exist_ok=True)
    cases = [(w, lam, s, g) for w in PEER_WORKLOADS for lam in (RATES[:2] if quick else RATES)
             for s in SLOS for g in (False, True)]
    cases += [(w, 50.0, s, g) for w in TRACES for s in SLOS for g in (False, True)]
    rows = []
    for i, (w, lam, s, g) in enumerate(cases):
        if i % n_shard != k_shard:
            continue
        t0 = time.perf_counter()
        row = run_case(w, lam, s, g, n_sim, verify_requests, peer_requests)
        row["case"] = i
        row["case_wall_s"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        click.echo(f"[{i + 1}/{len(cases)}] {w} λ={lam:g} slo={s:g} "
                   f"γ={'searched' if g else 'fixed'}: hs ${row['hs_cost']} "
                   f"({row['hs_status']}) vs peer ${row['peer_cost']} "
                   f"[{row['case_wall_s']} s]", err=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in rows[0], k))
    with open(outp / "cases.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    sp = speed(outp) if do_speed else None
    summary = summarise(rows, sp)
    (outp / "side_by_side.md").write_text(summary)
    meta = _meta(outp, {"requests": n_sim, "verify_requests": verify_requests,
                        "peer_requests": peer_requests, "quick": quick, "shard": shard},
                 time.perf_counter() - t_start, commit)
    meta["speed"] = sp
    meta["headline"] = _headline(rows)
    (outp / "meta.json").write_text(json.dumps(meta, indent=2, allow_nan=False, default=str))
    click.echo(summary)


def _merge(dirs: list[Path], outp: Path) -> None:
    """Merge shard runs (their cases.csv and meta.json) into one cases.csv, side_by_side.md
    and meta.json, cases in grid order."""
    rows = []
    metas = []
    for d in dirs:
        with open(d / "cases.csv", newline="") as fh:
            rows += [_typed(r) for r in csv.DictReader(fh)]
        metas.append(json.loads((d / "meta.json").read_text()))
    rows.sort(key=lambda r: r["case"])
    outp.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in rows[0], k))
    with open(outp / "cases.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    (outp / "side_by_side.md").write_text(summarise(rows, None))
    meta = {**metas[0], "shards": [{"shard": m["args"].get("shard"), "wall_s": m["wall_s"],
                                    "git_commit": m["git_commit"],
                                    "date_utc": m["date_utc"]} for m in metas],
            "headline": _headline(rows)}
    (outp / "meta.json").write_text(json.dumps(meta, indent=2, allow_nan=False, default=str))
    click.echo((outp / "side_by_side.md").read_text())


def _typed(r: dict) -> dict:
    """A cases.csv row with numbers, booleans and empty cells as Python values."""
    out: dict = {}
    for k, v in r.items():
        if v == "":
            out[k] = None
        elif v in ("True", "False"):
            out[k] = v == "True"
        else:
            try:
                f = float(v)
                out[k] = int(f) if k == "case" else f
            except ValueError:
                out[k] = v
    return out


def _headline(rows) -> dict:
    hs_feas = [r for r in rows if r["hs_status"] == "verified"]
    miss = [r for r in hs_feas if not r.get("hs_meets_hs")]
    both = [r for r in rows if r.get("peer_meets_hs") and r.get("peer_meets_peer")]
    dearer = [r for r in both if r["hs_cost"] is None or r["hs_cost"] > r["peer_cost"] + 1e-9]
    diffs = [100 * (r["hs_cost"] / r["peer_cost"] - 1) for r in rows
             if r["hs_cost"] and r["peer_cost"]]
    added = [r["hs_added_pct"] for r in hs_feas if r["hs_added_pct"] is not None]
    return {"cases": len(rows), "hetserve_verified": len(hs_feas),
            "hetserve_feasible_but_missing_in_hetserve_sim": len(miss),
            "peer_plans_meeting_in_both_sims": len(both),
            "hetserve_dearer_where_peer_meets_in_both": len(dearer),
            "peer_plans_missing_in_hetserve_sim": sum(1 for r in rows
                                                      if r.get("peer_meets_hs") is False),
            "median_cost_diff_pct": statistics.median(diffs) if diffs else None,
            "verification_added_capacity_cases": sum(1 for a in added if a > 0),
            "holdout_stream_added_capacity_cases": sum(1 for r in hs_feas
                                                       if r.get("hs_holdout_added")),
            "median_added_pct_when_added": statistics.median([a for a in added if a > 0])
            if any(a > 0 for a in added) else 0.0}


def summarise(rows, sp) -> str:
    h = _headline(rows)
    lines = ["# hetserve vs vllm-sr-sim (FleetOpt) side by side", "",
             "Generated by `python -m benchmarks.queueing_side_by_side`; A100-80GB fleet-sim "
             "constants, rho_max 0.85, 64K long pool, SLO = P99 TTFT over the fleet "
             "(requests no GPU can serve in time by prefill alone excluded, share shown). "
             "Simulated on one fresh request stream (seed 1) per case; hetserve verifies "
             "on seed 0 and an independent holdout stream (seed 7919). Machine shared "
             "with other jobs.", "",
             "## Headline", ""]
    lines += [f"- {k.replace('_', ' ')}: {v if not isinstance(v, float) else round(v, 1)}"
              for k, v in h.items()]
    lines += ["", "## Cases", "",
              "| workload | λ | SLO s | γ | unserv % | hetserve plan | $/h (analytic→verified) "
              "| P99 hs-sim [CI] | miss % hs/peer-sim | peer plan | peer $/h | peer P99 hs-sim "
              "| miss % hs/peer-sim |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(x, nd=2):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else (
            f"{x:.{nd}f}" if isinstance(x, float) else str(x))

    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['rate']:g} | {r['slo_s']:g} | {r['gamma']} | "
            f"{f(r['unservable_pct'])} | {r['hs_plan']} | {f(r['hs_analytic_cost'])}→"
            f"{f(r['hs_cost'])} ({r['hs_status']}) | {f(r.get('hs_p99_hs'), 3)} "
            f"{r.get('hs_p99_hs_ci', '')} | {f(r.get('hs_miss_hs_pct'))}/"
            f"{f(r.get('hs_miss_peer_pct'))} | {r['peer_plan']} | {f(r['peer_cost'])} | "
            f"{f(r.get('peer_p99_hs'), 3)} | {f(r.get('peer_miss_hs_pct'))}/"
            f"{f(r.get('peer_miss_peer_pct'))} |")
    if sp:
        lines += ["", "## Speed (medians of alternating runs, under load)", ""]
        lines += _simulator_table(sp["sim"])
        sw = sp["sweep"]
        lines += ["", f"Full (B, γ) sweep on azure: cold {sw['cold_ms']:.1f} ms, warm "
                      f"{sw['warm_ms']:.1f} ms, peer {sw['peer_ms']:.1f} ms (medians of 5)."]
    return "\n".join(lines) + "\n"


def _simulator_table(sims: list[dict]) -> list[str]:
    """The simulator speed rows (hetserve's detailed simulator vs the peer's ``Fleet``)."""
    lines = ["| fleet | GPUs | hetserve detailed req/s | peer Fleet req/s | ratio |",
             "|---|---|---|---|---|"]
    for s in sims:
        lines.append(f"| azure λ={s['rate']:g} | {s['gpus']} | {s['hetserve_req_per_s']:.0f} "
                     f"| {s['peer_req_per_s']:.0f} | {s['ratio']:.2f}x |")
    return lines


def speed_markdown(sp: dict, meta: dict) -> str:
    """speed.md of a ``--speed-only`` run."""
    lines = ["# Speed side by side with vllm-sr-sim (medians; machine shared, under load)", "",
             f"Commit {meta.get('git_commit')}, {meta.get('date_utc')}, CPU "
             f"{meta.get('cpu')}, load average at the end {meta.get('load_average_1min')}."]
    if sp["sim"]:
        lines += ["", "## Simulators (same fleets and requests, alternating)", ""]
        lines += _simulator_table(sp["sim"])
    sw, cold = sp["sweep"], sp["sweep_cold"]
    sc = cold["median"]
    base = "baseline" in sc
    head = (f"| measure | hetserve at {cold['baseline'][:7]} | hetserve | peer |" if base
            else "| measure | hetserve | peer |")

    def row(label: str, key: str, nd: int = 1) -> str:
        cells = ([sc["baseline"][key]] if base else []) + [
            sc["hetserve"][key], sc["peer"][key] if "peer" in sc else math.nan]
        return f"| {label} | " + " | ".join(f"{v:.{nd}f}" for v in cells) + " |"

    lines += ["", "## Full (B, γ) sweep, azure CDF, 200 req/s, P99 TTFT 0.5 s", "",
              head, "|---|---|---|" + ("---|" if base else ""),
              row(f"cold: fresh process, wall ms (median of {cold['reps']})", "sweep_ms"),
              row("cold: fresh process, CPU ms", "sweep_cpu_ms"),
              row("imports before the sweep, wall ms", "import_ms", 0),
              "| in one process, caches cleared, wall ms (median of 5) | "
              + ("- | " if base else "") + f"{sw['cold_ms']:.1f} | {sw['peer_ms']:.1f} |",
              "| warm (calibrations cached, other rate), wall ms | "
              + ("- | " if base else "") + f"{sw['warm_ms']:.1f} | - |",
              "", "Cold = a new Python process per measurement, the sweep timed after the "
              "imports (the peer's time is its own `sweep_analytical` loop over the same "
              "breakpoints and γ grid); "
              + (f"hetserve at commit {cold['baseline']} (exported with `git archive`), "
                 "today's hetserve and the peer alternate" if base else
                 "hetserve and the peer alternate")
              + ", so all see the same load. Wall times on a loaded machine stretch with the "
              "load; the CPU times less so."]
    if base:
        lines.append(f"Today's cold sweep takes {100 * cold['ratio_vs_baseline_cpu']:.0f} % "
                     f"of the CPU time of {cold['baseline'][:7]}'s.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
