"""Exact MILP of docs/semantics.md#exact-milp (HiGHS): formulation, solver, export, diagnosis, baselines.

``build`` (PuLP model, pure), ``solve`` (HiGHS through highspy arrays or PuLP, honest
status), ``export`` (MPS/LP), ``diagnose`` (why an instance is infeasible),
``lp_relaxation_bound``; the LP/MILP baselines LPR and HF are in :mod:`milp.baselines`.
"""

from hetserve.milp.diagnose import diagnose
from hetserve.milp.export import export
from hetserve.milp.formulation import Formulation, build
from hetserve.milp.index import Tightening
from hetserve.milp.solve import MilpParams, lp_relaxation_bound, solve

__all__ = ["Formulation", "MilpParams", "Tightening", "build", "diagnose", "export",
           "lp_relaxation_bound", "solve"]
