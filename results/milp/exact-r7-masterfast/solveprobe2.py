"""One closing master (100x40x40 s0, U = AGH's, as ``fixed_model_bound`` runs it, ``--time``
s), then its re-solves compared (issue 13, masterfast): the interior point method stopped
after k iterations (L at its iterate's duals: any sign-projected multipliers are valid),
IPM with crossover (a basis), and one generation round after it (covers separated and
priced routes added) re-solved by the warm dual simplex vs the IPM from scratch.

    PYTHONPATH=. python results/milp/exact-r7-masterfast/solveprobe2.py --time 150
"""

from __future__ import annotations

import sys
import time

import click

from benchmarks.milp_large_bound import emit_row


@click.command()
@click.option("--time", "seconds", type=float, default=150.0)
@click.option("--iters", default="20,40,60,80")
def main(seconds: float, iters: str) -> None:
    from solveprobe import run_closing  # this directory: the script's own sys.path[0]

    from hetserve.milp.colgen import _priced

    lb, wall, cpu = run_closing(seconds)
    emit_row(phase="closing", value=lb.value, wall_s=wall, cpu_s=cpu, rounds=lb.stats["cg_rounds"])
    m, lg = lb.master, lb.lagrangian
    assert m is not None and lg is not None
    h = m.h
    h.setOptionValue("time_limit", h.getRunTime() + 2000.0)
    m.status = lambda: "Optimal"  # type: ignore[method-assign]  # read any iterate's duals

    def once(name: str, **opts: object):  # type: ignore[no-untyped-def]
        for k, v in opts.items():
            h.setOptionValue(k, v)
        c, w = time.process_time(), time.perf_counter()
        out = m.solve(None)
        cpu, wall = time.process_time() - c, time.perf_counter() - w
        info = h.getInfo()
        lag = lg.evaluate(*out[1].multipliers)[0] if out else None
        emit_row(phase="solve", variant=name, cpu_s=cpu, wall_s=wall,
                 status=str(h.modelStatusToString(h.getModelStatus())),
                 ipm_iterations=int(info.ipm_iteration_count),
                 simplex_iterations=int(info.simplex_iteration_count),
                 master=out[0] if out else None, lagrangian=lag,
                 dual_valid=bool(h.getSolution().dual_valid),
                 cover_rows=m.covers.n if m.covers else 0, n_rows=m.n_rows, routes=m.n_routes)
        return out

    for k in [int(v) for v in iters.split(",")]:
        h.clearSolver()
        once(f"ipm-{k}it", ipm_iteration_limit=k)
    h.setOptionValue("ipm_iteration_limit", 2147483647)
    h.clearSolver()
    base = once("ipm")
    h.clearSolver()
    m.ipm = False  # solve() would switch the crossover off
    once("ipm+crossover", solver="ipm", run_crossover="on")
    # one generation round from here: covers at this point, priced routes at its duals
    h.setOptionValue("solver", "simplex")
    assert base is not None
    n_cov = m.add_covers(per_row=2)
    lg.evaluate(*base[1].multipliers)
    n_routes = m.add(_priced(lg, m.idx, m, base[1], 30))
    emit_row(phase="round", covers_added=n_cov, routes_added=n_routes)
    m._rows_added = True
    once("dual-simplex-warm")
    h.clearSolver()
    m.ipm = True
    h.setOptionValue("run_crossover", "off")
    once("ipm-after-round")
    sys.exit(0)


if __name__ == "__main__":
    main()
