"""Write the MILP as MPS or LP for other solvers (through PuLP's writers)."""

from __future__ import annotations

from pathlib import Path

from hetserve.instances.model import Instance
from hetserve.milp.formulation import build
from hetserve.milp.index import Tightening
from hetserve.milp.reductions import Reductions

FORMATS = ("mps", "lp")


def export(instance: Instance, path: str | Path, fmt: str = "mps", *,
           tightening: Tightening | None = None,
           reductions: Reductions | None = None) -> Path:
    """Write the model of :func:`milp.formulation.build` to ``path`` as ``fmt`` ("mps"/"lp").

    The complete model by default; ``reductions`` writes the reduced one
    (:mod:`milp.reductions`; the incumbent bound needs a plan, so it has no effect here).
    Column and row names are those of the PuLP model (``r_<c>``, ``x_<i>_<c>``,
    ``cap_<c>``, ...; see :mod:`milp.formulation`). Returns the path written."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} not understood; expected one of {list(FORMATS)}")
    path = Path(path)
    prob = build(instance, tightening=tightening, reductions=reductions).problem
    if fmt == "mps":
        prob.writeMPS(str(path))
    else:
        prob.writeLP(str(path))
    return path
