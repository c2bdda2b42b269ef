"""Exact MILP of SPEC §3 (HiGHS): formulation, solver, export, diagnosis, baselines.

``build`` (PuLP model, pure), ``solve`` (HiGHS through highspy arrays or PuLP, honest
status), ``export`` (MPS/LP), ``diagnose`` (why an instance is infeasible),
``lp_relaxation_bound``; the LP/MILP baselines LPR and HF are in :mod:`milp.baselines`.
"""

from milp.diagnose import diagnose
from milp.export import export
from milp.formulation import Formulation, build
from milp.index import Tightening
from milp.solve import MilpParams, lp_relaxation_bound, solve

__all__ = ["Formulation", "MilpParams", "Tightening", "build", "diagnose", "export",
           "lp_relaxation_bound", "solve"]
