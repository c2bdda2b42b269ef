"""Round 11 probe: do aggregate integer columns (HiGHS branches on them) shorten the
12x12x12 s0/s3 proofs?  Builds the fixed model exactly as `milp.solve` does, then runs
HiGHS (1 thread, ROOT_SETTINGS, the start given) on variants alternated per repeat.

    python results/milp/exact-r11-agg/agg.py --specs 12x12x12-s0 --variants base,K --reps 2
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import highspy
import numpy as np

from hetserve.cli.methods import MethodSettings, _agh
from hetserve.instances.generate import generate
from hetserve.milp import MilpParams
from hetserve.milp.highs_run import configure, run_checked, set_start
from hetserve.milp.solve import ROOT_SETTINGS, _start_vector, fixed_model


def prepare(spec: str, plan: Path | None = None):
    size, _, seed = spec.partition("-s")
    inst = generate(tuple(int(v) for v in size.split("x")), int(seed), "base")
    if plan is None:
        sol = _agh(inst, MethodSettings(seed=0), fleet_mip=False).solution
    else:  # a given plan (e.g. the proven optimum) as the start
        from hetserve.instances import Solution
        sol = Solution.from_dict(json.loads(plan.read_text()))
    from hetserve.instances.evaluate import evaluate_arrays
    upper = evaluate_arrays(inst, *sol.to_arrays(inst)).objective
    prep = fixed_model(inst, MilpParams(threads=1, time_limit_s=120.0), 0, upper,
                       sol, time.perf_counter())
    return inst, prep


def aggregates(am, inst, kind: str):
    """Rows (coef over am columns) defining integer aggregate columns."""
    idx = am.index
    n = am.n_cols
    rows = []
    rsl, wsl = am.cols["r"], am.cols["w"]
    if "K" in kind:  # number of open configurations
        v = np.zeros(n)
        v[wsl] = 1.0
        rows.append(v)
    if "R" in kind:  # total replicas
        v = np.zeros(n)
        v[rsl] = 1.0
        rows.append(v)
    if "G" in kind:  # GPUs per type
        use = inst.routes.gpu_use[idx.cfg]  # (n_cfg, n_gpu)
        for g in range(use.shape[1]):
            if use[:, g].any():
                v = np.zeros(n)
                v[rsl] = use[:, g]
                rows.append(v)
    if "M" in kind:  # open configurations per model
        for p in range(len(idx.models)):
            m = idx.cfg_model_pos == p
            if m.sum() > 1:
                v = np.zeros(n)
                v[wsl.start + np.flatnonzero(m)] = 1.0
                rows.append(v)
    return rows


def run(inst, prep, kind: str, seed: int, limit: float, log: Path | None):
    am = prep.am
    h = highspy.Highs()
    configure(h, time_limit_s=limit, mip_rel_gap=1e-4, threads=1, seed=seed,
              options=ROOT_SETTINGS)
    if log is not None:
        h.setOptionValue("log_file", str(log))
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)
    h.passModel(am.to_highs_lp())
    start = _start_vector(am, inst, prep.warm_start)
    rows = aggregates(am, inst, kind)
    if rows:
        k = len(rows)
        base = am.n_cols
        up = [float(np.abs(r) @ np.concatenate([am.ub])) for r in rows]
        h.addVars(k, np.zeros(k), np.array(up))
        h.changeColsIntegrality(k, np.arange(base, base + k, dtype=np.int32),
                                np.array([highspy.HighsVarType.kInteger] * k))
        for t, r in enumerate(rows):
            nz = np.flatnonzero(r)
            h.addRow(0.0, 0.0, len(nz) + 1, np.append(nz, base + t).astype(np.int32),
                     np.append(r[nz], -1.0))
        start = np.concatenate([start, [float(r @ start) for r in rows]])
    set_start(h, start)
    t0, c0 = time.perf_counter(), time.process_time()
    run_checked(h)
    info = h.getInfo()
    return dict(status=h.modelStatusToString(h.getModelStatus()),
                objective=info.objective_function_value, bound=info.mip_dual_bound,
                nodes=info.mip_node_count, wall_s=time.perf_counter() - t0,
                cpu_s=time.process_time() - c0, n_agg=len(rows))


@click.command()
@click.option("--specs", default="12x12x12-s0,12x12x12-s3")
@click.option("--variants", default="base,K,KG,KRGM")
@click.option("--reps", type=int, default=1)
@click.option("--limit", type=float, default=120.0)
@click.option("--start-plan", type=click.Path(path_type=Path), default=None)
@click.option("--out", type=click.Path(path_type=Path), default=Path(__file__).parent / "runs.jsonl")
def main(specs, variants, reps, limit, start_plan, out):
    for spec in specs.split(","):
        inst, prep = prepare(spec, start_plan)
        print(spec, "upper", prep.upper, "cols", prep.am.n_cols, file=sys.stderr, flush=True)
        vs = [v for v in variants.split(",")]
        for rep in range(reps):
            order = vs if rep % 2 == 0 else vs[::-1]
            for v in order:
                kind = "" if v == "base" else v
                res = run(inst, prep, kind, 0, limit, out.parent / f"{spec}-{v}-{rep}.log")
                row = dict(spec=spec, variant=v, rep=rep, upper=prep.upper,
                           load=Path("/proc/loadavg").read_text().split()[0], **res)
                print(json.dumps(row), flush=True)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
