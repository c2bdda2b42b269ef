"""The routing LP of two commits side by side, in one process (round 9).

``PYTHONPATH=. python results/milp/exact-r9-capped/routing_ab.py OLD NEW [--repeats 7]``
loads ``instances/routing.py`` as it was at git revisions OLD and NEW, and alternates them
(OLD, NEW, NEW, OLD, ...) under ``hetserve solve --method milp`` on paper-base (1 HiGHS
thread, the default capped-AGH start): AGH's routing LPs go through the chosen module
(``hetserve.heuristics.routing_lp._solve``). Prints the CPU seconds of the start and of
the whole solve per run, their medians and the ratio NEW/OLD, and checks that both give
the same start plan and optimum.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import click


def load_at(rev: str):
    src = subprocess.run(["git", "show", f"{rev}:instances/routing.py"], check=True,
                         capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), f"routing_{rev}.py")
    with open(path, "w") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location(f"routing_{rev}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--repeats", type=int, default=7, show_default=True)
@click.option("--instance", default="paper-base", show_default=True)
def main(old: str, new: str, repeats: int, instance: str) -> None:
    import hetserve.heuristics.routing_lp as rlp
    from hetserve.cli.main import load_instance
    from hetserve.cli.methods import MethodSettings, run_method

    mods = {old: load_at(old), new: load_at(new)}
    inst = load_instance(instance)
    runs: dict[str, list[tuple[float, float, float, float]]] = {old: [], new: []}
    for k in range(repeats):
        order = (old, new) if k % 2 == 0 else (new, old)
        for rev in order:
            rlp._solve = mods[rev].solve_routing
            c0 = time.process_time()
            res = run_method("milp", inst, MethodSettings(seed=0, threads=1))
            cpu = time.process_time() - c0
            runs[rev].append((res.stats["start_runtime_s"], cpu, res.stats["start_objective"],
                              res.objective))
            print(json.dumps({"rev": rev, "start_s": runs[rev][-1][0], "cpu_s": cpu,
                              "start_objective": runs[rev][-1][2], "objective": res.objective,
                              "load": os.getloadavg()[0]}), file=sys.stderr)
    med = {rev: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
           for rev, v in runs.items()}
    same = {(r[2], r[3]) for v in runs.values() for r in v}
    print(f"{instance}, {repeats} runs each, 1 thread: start CPU median {old} "
          f"{med[old][0]:.3f} s, {new} {med[new][0]:.3f} s (ratio {med[new][0] / med[old][0]:.2f}); "
          f"whole solve {med[old][1]:.3f} s vs {med[new][1]:.3f} s (ratio "
          f"{med[new][1] / med[old][1]:.2f}); start plan and optimum identical in every run: "
          f"{len(same) == 1}")


if __name__ == "__main__":
    main()
