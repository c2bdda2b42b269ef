"""Rank HiGHS's root cuts by what they lift, and describe the top ones (docs/milp.md
"Tightenings", round 5).

``PYTHONPATH=. python results/milp/exact-r5-cutsep/rank.py SPECS [TOP]`` reads
/tmp/cutsep-SPEC.pkl (getcuts.py) and prints, per instance: the plain LP, the LP with all
cuts, each cut's dual and activity there, drop-one (all cuts but k) and add-one (plain +
k) LP values for the cuts with a nonzero dual, and the top TOP cuts term by term (column
name, coefficient, LP value), with the column kinds, types and configurations they touch.
"""
from __future__ import annotations

import pickle
import sys
from dataclasses import replace

import numpy as np

from hetserve.instances.solver_log import new_highs
from hetserve.milp.highs_run import configure, run_checked


def lp_solver(am):  # type: ignore[no-untyped-def]
    h = new_highs()
    configure(h, time_limit_s=600, mip_rel_gap=0.0, threads=1, seed=0,
              options=(("solver", "simplex"), ("presolve", "off")))
    h.passModel(replace(am, integer=np.zeros_like(am.integer)).to_highs_lp())
    return h


def add_rows(h, A, lo, hi):  # type: ignore[no-untyped-def]
    A = A.tocsr()
    h.addRows(A.shape[0], lo, hi, A.nnz, A.indptr[:-1].astype(np.int32),
              A.indices.astype(np.int32), A.data)


def value(h) -> float:  # type: ignore[no-untyped-def]
    run_checked(h)
    return float(h.getInfo().objective_function_value)


def describe(spec: str, top: int) -> None:
    with open(f"/tmp/cutsep-{spec}.pkl", "rb") as f:
        inst, am, _, U, _, rc, _ = pickle.load(f)
    names = np.array(am.col_names())
    kind = np.array([n.split("_")[0] for n in names])
    h = lp_solver(am)
    plain = value(h)
    xp = np.asarray(h.getSolution().col_value)
    add_rows(h, rc.A, rc.lo, rc.hi)
    full = value(h)
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    dual = np.asarray(sol.row_dual)[am.n_rows:]
    act = rc.A @ x
    print(f"== {spec}: U {U:.3f}, plain LP {plain:.3f}, all {rc.n_cuts} cuts {full:.3f}, "
          f"HiGHS root {rc.root_bound:.3f}; cut nnz {rc.A.nnz}")
    on = np.nonzero(np.abs(dual) > 1e-9)[0]
    print(f"cuts with nonzero dual: {len(on)}; sum dual*bound "
          f"{sum(dual[k] * (rc.lo[k] if dual[k] > 0 else rc.hi[k]) for k in on):.3f}")
    # the original model's row duals at the full LP, by block
    rd = np.asarray(sol.row_dual)[:am.n_rows]
    for b, s in am.row_blocks.items():
        d = rd[s]
        print(f"  row block {b:12s} rows {s.stop - s.start:6d} nonzero duals "
              f"{int((np.abs(d) > 1e-9).sum()):5d} sum|dual| {np.abs(d).sum():10.3f}")
    # drop-one: delete cut k, solve, re-add (warm)
    base = am.n_rows
    drop = {}
    addo = {}
    h2 = lp_solver(am)
    value(h2)
    for k in on:
        A1 = rc.A[[k]]
        add_rows(h2, A1, rc.lo[[k]], rc.hi[[k]])
        addo[k] = value(h2) - plain
        h2.deleteRows(1, np.array([base], dtype=np.int32))
    by_add = sorted(on, key=lambda k: -addo[k])
    for k in by_add[:30]:
        keep = np.setdiff1d(np.arange(rc.n_cuts), [k])
        h3 = lp_solver(am)
        add_rows(h3, rc.A[keep], rc.lo[keep], rc.hi[keep])
        drop[k] = full - value(h3)
    curve = []
    for n in (1, 2, 5, 10, 20, 40, 80, len(by_add)):
        sel = np.array(by_add[:n])
        h4 = lp_solver(am)
        add_rows(h4, rc.A[sel], rc.lo[sel], rc.hi[sel])
        curve.append((n, round(value(h4), 3)))
    print("LP with the top-n cuts by add-one:", curve)
    print("k  dual  lo  hi  act  add-one  drop-one  nnz  kinds")
    for k in sorted(on, key=lambda k: -addo[k]):
        r = rc.A[k]
        ks = kind[r.indices]
        kinds = {t: int((ks == t).sum()) for t in ("r", "w", "o", "u", "x") if (ks == t).any()}
        print(f"{k:4d} {dual[k]:9.3f} {rc.lo[k]:9.3f} {rc.hi[k]:9.3f} {act[k]:9.3f} "
              f"{addo[k]:8.3f} {drop.get(k, float('nan')):8.3f} {r.nnz:5d} {kinds}")
    ranked = sorted(on, key=lambda k: -max(addo[k], drop.get(k, 0.0)))[:top]
    cfgs = inst.routes.configs
    for k in ranked:
        r = rc.A[k]
        print(f"-- cut {k}: {rc.lo[k]:.4f} <= . <= {rc.hi[k]:.4f}, dual {dual[k]:.3f}, "
              f"add-one {addo[k]:.3f}, drop-one {drop.get(k, float('nan')):.3f}, "
              f"activity plain {float((r @ xp)[0]):.4f} full {act[k]:.4f}")
        o = np.argsort(-np.abs(r.data))
        for j, v in zip(r.indices[o], r.data[o]):
            nm = names[j]
            extra = ""
            parts = nm.split("_")
            c = int(parts[-1]) if parts[0] in ("r", "w", "x") else None
            if c is not None:
                cf = cfgs[c]
                extra = f"{cf.model}/{cf.gpu}/{cf.precision}/tp{cf.tp}pp{cf.pp}"
            print(f"   {nm:14s} {v:10.4f}  lp_full {x[j]:.4f} lp_plain {xp[j]:.4f}  "
                  f"lb {am.lb[j]:.0f} ub {am.ub[j]:.3g} {extra}")
    print(flush=True)
    with open(f"/tmp/cutsep-rank-{spec}.pkl", "wb") as f:
        pickle.dump({"plain": plain, "full": full, "dual": dual, "add": addo, "drop": drop,
                     "x": x, "xp": xp}, f)


if __name__ == "__main__":
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    for spec in sys.argv[1].split(","):
        describe(spec, top)
