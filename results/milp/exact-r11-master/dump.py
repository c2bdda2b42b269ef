"""Round 11 probe: dump the closing's restricted master at 100x40x40 s0 (model + the basis
HiGHS re-solves from) before its warm simplex re-solves, so replay.py can re-solve the same
LP from the same basis under other HiGHS simplex settings, alternated.

    PYTHONPATH=. python results/milp/exact-r11-master/dump.py --out /tmp/r11/master
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from benchmarks.milp_large_bound import cached_agh_plan

HERE = Path(__file__).resolve().parent


@click.command()
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--solves", default="7,9,11", help="which master solves to dump (1-based)")
@click.option("--seconds", type=float, default=200.0)
@click.option("--tuning", default='{"skip_late": true, "simplex_after": 4}',
              help="MasterTuning fields (JSON) of the closing")
def main(out: Path, solves: str, seconds: float, tuning: str) -> None:
    import json

    from hetserve.instances.generate import generate
    from hetserve.milp import colgen
    from hetserve.milp.bound import fixed_model_bound
    from hetserve.milp.colgen import MasterTuning

    out.mkdir(parents=True, exist_ok=True)
    want = {int(s) for s in solves.split(",")}
    orig = colgen.RestrictedMaster.solve
    count = [0]

    def solve(self, time_limit_s=None):  # type: ignore[no-untyped-def]
        count[0] += 1
        if count[0] in want and not self.ipm and out.name != "none":
            h = self.h
            t = time.perf_counter()
            h.writeModel(str(out / f"master-{count[0]}.mps"))
            h.writeBasis(str(out / f"master-{count[0]}.bas"))
            print(f"dumped solve {count[0]} rows={h.getNumRow()} cols={h.getNumCol()} "
                  f"rows_added={self._rows_added} in {time.perf_counter() - t:.1f}s", flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        res = orig(self, time_limit_s)
        info = self.h.getInfo()
        print(f"solve {count[0]} ipm={self.ipm} wall={time.perf_counter() - t0:.2f} "
              f"cpu={time.process_time() - c0:.2f} it={info.simplex_iteration_count}",
              flush=True)
        if count[0] >= max(want):
            raise SystemExit(0)
        return res

    colgen.RestrictedMaster.solve = solve  # type: ignore[method-assign]
    inst = generate((100, 40, 40), 0)
    plan = cached_agh_plan(inst, "100x40x40", 0, [HERE.parent / "exact-r6-covclose",
                                                   HERE.parent / "exact-r8-bprime",
                                                   HERE.parent / "exact-r9-closetime"])
    fixed_model_bound(inst, plan, time_limit_s=seconds,
                      closing_tuning=MasterTuning(**json.loads(tuning)))


if __name__ == "__main__":
    main()
