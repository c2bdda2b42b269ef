"""Solve the MILP with HiGHS and report an honest :class:`RunResult` (method ``"milp"``).

Status comes from HiGHS's own model status and primal solution status, never from
PuLP's label (PuLP maps a time-limited incumbent to "Optimal", aesthetics §3.1):

==========================================  ======================================
HiGHS model status                           :class:`Status`
==========================================  ======================================
``kOptimal``                                 OPTIMAL (gap ≤ ``mip_rel_gap``)
``kInfeasible``, ``kUnboundedOrInfeasible``  INFEASIBLE (+ :func:`milp.diagnose`)
any limit / interrupt, with an incumbent     FEASIBLE
any limit / interrupt, no incumbent          NO_SOLUTION
anything else (load/solve errors)            NO_SOLUTION (status string in stats)
==========================================  ======================================

(Every variable is bounded, so ``kUnboundedOrInfeasible`` can only mean infeasible.)
With the split (:mod:`milp.split`, ``MilpParams.split``) the status is OPTIMAL only when
every leaf of the split searched its tree to the end, FEASIBLE otherwise; the bound is the
smallest leaf bound. Where a run stopped before its own bound did (or with a weaker one),
the bound reported is the fixing's certified Lagrangian bound, capped at the start's and
the plan's cost (:func:`lift_bound`).

Extracting the plan: replicas are rounded to integers and shares clipped to [0, 1].
HiGHS accepts a point within its feasibility tolerances (1e-7 on rows, 1e-6 on
integrality), so after rounding a configuration may carry a load a hair above
ρ_max·r_c (e.g. r = 0.9999996 → 1 is harmless, but r = 4e-7 → 0 with a share 1e-7 on
it is not). :func:`extract` therefore scales the shares of any over-loaded configuration
down to its capacity and leaves the difference unmet; the change is ≤ 1e-6 of a share,
so the objective moves by less than the HiGHS tolerances. The evaluator then prices the
repaired plan, and ``RunResult.objective`` is always its number.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import pulp
import scipy.sparse as sp

from hetserve.instances.evaluate import evaluate_arrays
from hetserve.instances.model import Instance
from hetserve.instances.result import RunResult, Status
from hetserve.instances.solution import Solution
from hetserve.instances.solver_log import SolverLog, new_highs, silence_banner
from hetserve.instances.solver_log import configure as configure_log
from hetserve.milp import cutpool
from hetserve.milp.cutpool import CutRows, Restart, read_cut_pool
from hetserve.milp.diagnose import diagnose
from hetserve.milp.fixing import REL_EPS, Fixing, colgen_caps, reduced_cost_caps
from hetserve.milp.formulation import build, columns, solution_arrays
from hetserve.milp.highs_model import ArrayModel, build_arrays
from hetserve.milp.highs_run import (
    configure,
    run_array_model,
    run_checked,
    set_start,
    solve_relaxation,
    use_threads,
)
from hetserve.milp.index import ModelIndex, Tightening, make_index
from hetserve.milp.link_rows import LinkSelection, drop_rows, select_link_rows
from hetserve.milp.probing import Probing, probe_configurations
from hetserve.milp.reductions import Reductions, map_plan
from hetserve.milp.split import SplitResult, solve_split, split_position

BACKENDS = ("auto", "pulp", "highspy")
_LIMITS = {"kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt", "kHighsInterrupt",
           "kObjectiveBound", "kObjectiveTarget", "kMemoryLimit", "kUnknown"}


UNSOUND_HIGHS_OPTIONS: dict[str, Any] = {"mip_lifting_for_probing": -1}
"""HiGHS options ``MilpParams.highs_options`` may not move off these values: with
``mip_lifting_for_probing`` 1 HiGHS 1.16 proves 386.80 "optimal" on 12x12x12 s0 where
380.89 is feasible in the same model (ERGO-Code/HiGHS#3307; docs/milp.md "Root
settings"), and an exact solve must not report a wrong optimum."""


@dataclass(frozen=True)
class MilpParams:
    """Solver settings.

    backend
        ``highspy`` builds the model from numpy arrays (:mod:`milp.highs_model`) and
        passes it to HiGHS in one call; ``pulp`` builds the readable PuLP model and lets
        PuLP's HiGHS adapter load it (slow above ~10^5 columns); ``auto`` = ``highspy``
        (both give the same model: a test compares them coefficient by coefficient).
    tightening
        Valid inequalities added to the model (default: the measured set).
    reductions
        Optimum-preserving reductions of :mod:`milp.reductions` (default: all; the
        incumbent bound uses the cost of the ``warm_start`` plan when it is feasible).
    highs_options
        Extra ``(name, value)`` HiGHS options (e.g. ``(("mip_heuristic_effort", 0.1),)``).
    root_bound
        Record HiGHS's dual bound at the end of the root node (after its cuts) in
        ``stats["root_bound"]`` through a MIP callback.
    support_mip
        After the reduced-cost fixing, solve the MILP restricted to the configurations
        the fixing LP opens (``w_c > 0``) and the start's (:func:`support_mip`), when the
        start is more than :data:`SUPPORT_MIP_MIN_ROOM` above the fixing's bound; a
        cheaper plan becomes the start and tightens the fixing. Off also when the
        environment sets ``HETSERVE_MILP_SUPPORT_MIP=0`` (a benchmark toggle).
    probing
        After the support MIP, drop every configuration whose LP with ``w_c = 1``
        forced costs more than the start (:mod:`milp.probing`), on fixed models of at
        most :data:`PROBING_MAX_COLUMNS` columns, within :data:`PROBING_WORK` simplex
        iterations (and :data:`PROBING_TIME_SHARE` of the time limit as a safety net).
        Off also when the environment sets ``HETSERVE_MILP_PROBING=0`` (a benchmark
        toggle).
    cutpool
        Restart from HiGHS's root cuts (:mod:`milp.cutpool`, docs/milp.md §Reductions, 6):
        read its cut rows at the end of the root, interrupt, fix by reduced cost from the
        LP with those rows (room ``U − L_cut``), rebuild the model without what that
        drops, and let HiGHS finish on it with the cuts as rows. Only with a start, on
        fixed models of at least :data:`CUTPOOL_MIN_COLUMNS` columns, with enough time
        left (:data:`CUTPOOL_MIN_LEFT`). **Off by default**: measured side by side it
        did not pay (docs/milp.md §Reductions, 6). The environment's
        ``HETSERVE_MILP_CUTPOOL`` (``1`` on, ``0`` off) overrides it (a benchmark toggle).
    cutpool_probing
        With the restart: probe the collapsed model's configurations on its LP with the
        cut rows tight at the cut LP's optimum (:func:`milp.cutpool.probe_restart`,
        docs/milp.md §Reductions, 7), each probe stopped at
        :data:`CUTPOOL_PROBE_ITERATIONS` simplex iterations, and restart HiGHS on the
        model without what they drop. Implies ``cutpool``. **Off by default** (measured
        in docs/milp.md §Reductions, 7); :data:`CUTPOOL_PROBING` turns it on for a
        benchmark.
    wcover_rounds
        After the reduced-cost fixing and before the support MIP: this many rounds of our
        weighted-error-cover separation (:func:`milp.cuts.separation_rounds`, docs/milp.md
        "Weighted error cover"; rows valid for every plan), then the fixing of §4 again
        from the LP with those rows (room ``U − L_cov``) and the model rebuilt without
        what it drops (:func:`milp.cutpool.collapse`); the support MIP and probing then
        run on that LP's support and caps. 0 = off. The environment's
        ``HETSERVE_MILP_WCOVER`` (a number of rounds) overrides it (a benchmark toggle).
    link_on_demand
        Hand HiGHS only the facility-location link rows its root LP needs
        (:func:`milp.link_rows.select_link_rows`: same integer points, same root LP value;
        docs/milp.md "Link rows on demand"), on models of at least
        :data:`LINK_ON_DEMAND_MIN_ROWS` link rows, highspy backend, not with ``cutpool``.
        The environment's ``HETSERVE_MILP_LINK_ON_DEMAND`` (``1`` on, ``0`` off) overrides
        it (a benchmark toggle).
    split
        With two or more threads, a start and a fixed model of at least
        :data:`SPLIT_MIN_COLUMNS` columns (highspy backend, not with ``cutpool``): solve
        the model as its two branches on the open flag of the start's costliest
        configuration, ``threads`` subtrees at once, one HiGHS thread each, splitting a
        running subtree again while a thread is idle, up to :data:`SPLIT_DEPTH` flags
        deep, and there into a chain once it has searched :data:`SPLIT_CHAIN_AFTER_S`;
        from :data:`SPLIT_EAGER_MIN_COLUMNS` columns the branch without the start is
        split at once (:mod:`milp.split`; docs/milp.md "Split on one open flag"). The
        environment's ``HETSERVE_MILP_SPLIT`` (``1`` on, ``0`` off) overrides it (a
        benchmark toggle).
    msg, log_file
        HiGHS's log: to standard error (``msg``) and/or to a file; off by default, and
        never on standard output (:mod:`instances.solver_log`).
    """

    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4
    threads: int = 2
    msg: bool = False
    backend: str = "auto"
    tightening: Tightening = field(default_factory=Tightening)
    reductions: Reductions = field(default_factory=Reductions)
    root_bound: bool = True
    support_mip: bool = True
    probing: bool = True
    cutpool: bool = False
    cutpool_probing: bool = False
    wcover_rounds: int = 0
    link_on_demand: bool = True
    split: bool = True
    highs_options: tuple[tuple[str, Any], ...] = ()
    log_file: str | None = None

    def __post_init__(self) -> None:
        if not (self.time_limit_s > 0 and math.isfinite(self.time_limit_s)):
            raise ValueError(f"time_limit_s must be a positive finite number of seconds, "
                             f"got {self.time_limit_s!r}")
        if not 0 <= self.mip_rel_gap < 1:
            raise ValueError(f"mip_rel_gap must be in [0, 1), got {self.mip_rel_gap!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"threads must be a positive integer, got {self.threads!r}")
        for name, value in self.highs_options:
            if name in UNSOUND_HIGHS_OPTIONS and value != UNSOUND_HIGHS_OPTIONS[name]:
                raise ValueError(f"HiGHS option {name}={value!r} is refused: it returns "
                                 f"suboptimal plans labelled optimal (docs/milp.md "
                                 f"\"Root settings\")")
        if (isinstance(self.wcover_rounds, bool) or not isinstance(self.wcover_rounds, int)
                or self.wcover_rounds < 0):
            raise ValueError(f"wcover_rounds must be a non-negative integer, "
                             f"got {self.wcover_rounds!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r} not understood; expected one of "
                             f"{list(BACKENDS)}")


ROOT_SETTINGS: tuple[tuple[str, Any], ...] = (
    ("presolve", "off"), ("mip_heuristic_run_rins", False), ("mip_heuristic_run_rens", False))
"""HiGHS settings applied, when the solve has a MIP start, before
``MilpParams.highs_options`` (which override them). Without a start HiGHS needs its
presolve and sub-MIPs to find incumbents (6x6x10 s0 cold: not optimal in 120 s with them
off), so a cold solve keeps HiGHS's defaults. Measured side by side with an AGH start, 1 thread
(docs/milp.md "Root settings"): HiGHS's presolve spends 15–32 CPU s on 10x10x10 s0 without
closing the root, with it off the same solve is optimal in 2.8–3.6 CPU s; on paper-base 1.3
vs 2.6–3.4 CPU s. The model is already presolved by construction (usable routes only,
tight R̄, the reductions). Re-measured on the model after the reduced-cost fixing
(docs/milp.md "Root settings", round 2): presolve on is still no faster (12x12x12 s0 27.0
vs 21.1 CPU s) and weakens 20x20x20 s1's root bound; ``mip_lifting_for_probing`` returns
wrong "optimal" plans on 12x12x12 s0 and s3 (HiGHS#3307), so :class:`MilpParams` refuses it."""


FIXING_MAX_ROUTES = 0
"""Reduced-cost fixing (:mod:`milp.fixing`) takes its duals from the full root LP
(:func:`milp.fixing.reduced_cost_caps`) up to this many routes left after the reductions,
and from column generation of that LP above (:func:`milp.fixing.colgen_caps`). 0: column
generation at every size. It was 25,000 (the full LP did not finish in 24 CPU s at
20x20x20 s0); alternated side by side, the column-generation fixing (which also uses the
configuration Lagrangian's open bounds) was as fast or faster at every size measured:
paper-base 0.59 vs 0.78 CPU s median, 10x10x10 0.48 vs 0.69, 12x12x12 7.0 vs 10.4 (all
five seeds faster), 8x8x12 s1 6.6 vs 6.3 (docs/milp.md §4). The LP gets at most a quarter
of the time limit, the column generation half (at 20x20x20 HiGHS cannot finish the root
without the fixing); if either stops early, its duals are used as they are."""

COLGEN_FIXING = True
"""Above :data:`FIXING_MAX_ROUTES` the fixing takes its duals from column generation of the
LP (:func:`milp.fixing.colgen_caps`: 20x20x20 s0 reaches the full LP on 10.3k of its 48.8k
routes in ≈ 2 CPU s and drops 2,244 of 2,718 configurations, docs/milp.md §4); ``False``
skips the fixing there (kept so a benchmark can compare with no fixing above the
threshold, the former behaviour at 20x20x20)."""


SUPPORT_MIP_TIME_SHARE = 0.125
"""The support MIP (:func:`support_mip`) gets at most this share of the time limit."""

SUPPORT_MIP_MIN_ROOM = 0.05
"""Run the support MIP only when the start's cost U is more than this share above the
fixing's bound L: no plan is cheaper than L, so ``(U − L)/U`` caps what it can gain.
Measured (results/milp/exact-12-root/): paper-base (4.5 %, its start is the optimum) and
12x12x12 s1 (4.2 %) gain nothing and paper-base pays ≈ 0.03 CPU s (3 % of its solve);
12x12x12 s0, s2, s3 (14–17 %) gain 20–50 % of their CPU time."""


def support_mip(instance: Instance, params: MilpParams, seed: int, index: ModelIndex,
                fixing: Fixing, upper: float, warm: Solution
                ) -> tuple[Solution, float, dict[str, Any]]:
    """A cheaper plan than ``warm`` (cost ``upper``), if the MILP restricted to the
    configurations open in the fixing LP (``w_c > 0``) or in ``warm`` has one.

    Why: with a start above the optimum the time goes to finding the optimum, and the
    fixing, whose room is ``U − L``, drops fewer configurations (12x12x12 s3: the full
    AGH's plan is 8 % above the optimum; HiGHS took 32 CPU s from it and 12 from the
    optimum, docs/milp.md "Root settings"). The LP's support is a few dozen
    configurations, so this MIP is small (17 at s3, where it returns a plan 0.4 % above
    the optimum in ≈ 0.5 CPU s). It is a restriction of the model (the other
    configurations get no columns), so its plan is feasible in the complete one; the
    evaluator prices it. Returns ``(plan, cost, stats)``; the plan is ``warm`` when
    nothing cheaper was found."""
    t0 = time.perf_counter()
    if fixing.lp_w is None:
        return warm, upper, {"status": "no LP values"}
    r_all, x_all = warm.to_arrays(instance)
    if index.reduced is not None:
        r_all, x_all = map_plan(index.reduced, r_all, x_all)
    keep = (fixing.lp_w > 1e-6) | (r_all > 0)
    idx = make_index(instance, params.tightening, params.reductions, upper,
                     np.where(keep, fixing.caps, 0.0), reduced=index.reduced)
    am = build_arrays(instance, tightening=params.tightening, index=idx)
    h = new_highs()
    _configure(h, replace(params, msg=False, log_file=None,
                          time_limit_s=params.time_limit_s * SUPPORT_MIP_TIME_SHARE), seed, True)
    h.passModel(am.to_highs_lp())
    set_start(h, _start_vector(am, instance, warm))
    run_checked(h)
    stats: dict[str, Any] = {"configs": am.index.n_cfg, "columns": am.n_cols,
                             "status": h.modelStatusToString(h.getModelStatus())}
    plan, cost = warm, upper
    if h.getInfo().primal_solution_status == highspy.kSolutionStatusFeasible:
        r_int, x_fix, _ = extract(instance, *_plan_arrays(
            instance, am, np.asarray(h.getSolution().col_value)))
        found = Solution.from_arrays(instance, r_int, x_fix)
        ev = evaluate_arrays(instance, *found.to_arrays(instance))
        # cheaper by more than HiGHS's gap tolerance, or HiGHS would not tell them apart
        if ev.feasible and ev.objective < upper * (1 - params.mip_rel_gap):
            plan, cost = found, float(ev.objective)
    stats.update(objective=cost, improved=cost < upper, seconds=time.perf_counter() - t0)
    return plan, cost, stats


PROBING_TIME_SHARE = 0.1
"""Probing (:func:`milp.probing.probe_configurations`) gets at most this share of the
time limit (wall; a safety net, the budget is :data:`PROBING_WORK`)."""

PROBING_WORK = (2.0, 10_000)
"""Probing stops once its probes have spent ``max(2 × the root LP's simplex iterations,
10,000)``: all of paper-base's 38 candidates (1.2k iterations), 10x10x10 s0's 26 and
12x12x12 s1's 94 (5.5k), but not 12x12x12 s0's 395 (143k iterations, 15 CPU s, for 107
drops that save HiGHS ≈ 7 CPU s). With 10 × (≈ 3–4 CPU s of probes) 12x12x12 s0,
10x10x10 s1 and 20x20x20 s2 were 3.7–3.8 CPU s slower (docs/milp.md §Reductions, 5)."""

PROBING_MAX_COLUMNS = 2_000
"""No probing above this many columns of the fixed model (docs/milp.md §Reductions, 5,
measured side by side): it paid on the models up to 1.2k columns (paper-base 326,
10x10x10 s0 360, 12x12x12 s1 1,136: 0.29 vs 0.33, 0.22 vs 0.26, 1.1 vs 1.5 CPU s) and not
above 2.8k (10x10x10 s1 2.9k: 4.9 vs 4.3; 12x12x12 s0 5.0k: 25.5 vs 21.3; 20x20x20 s2 7.3k:
7.9 vs 6.6 and s0 9.4k: 49.5 vs 36.2), except 12x12x12 s3 (6.1k: 13.0 vs 15.3). At
20x20x20 s1 (19.5k) a probe costs 3–8 s under load and none of its LP-support
configurations can be dropped (their LPs with ``w_c = 1`` are 408–442, the optimum
456.47)."""


CUTPOOL_MIN_COLUMNS = 2_000
"""When on, the restart from HiGHS's root cuts (:mod:`milp.cutpool`) runs on fixed models
of at least this many columns (docs/milp.md §Reductions, 6)."""

CUTPOOL_MIN_LEFT = 1.0
"""...and only when the time left at the end of HiGHS's root is at least this many times
what the root took (the restart redoes an LP with the cuts and a second root; with less,
HiGHS goes on in the model it has: 20x20x20 under load, the root took 34 of 42 s left)."""


CUTPOOL_PROBING = False
"""Probing on the collapsed model with the tight cut rows (``MilpParams.cutpool_probing``)
for every solve: a benchmark toggle (benchmarks/milp_starts.py ``--fixing cutprobe``)."""

CUTPOOL_PROBE_ITERATIONS = 40
"""Simplex iterations per probe on the model with the tight cut rows (a stopped probe is
a weaker but still certified bound, :mod:`milp.probing`). Measured on 12x12x12 s3
(results/milp/exact-r5-cutprobe/probe_tight*.jsonl): 30 / 80 / 200 iterations drop 190 /
208 / 234 of 273 configurations for 6.6 / 11.4 / 22.2 CPU s."""

CUTPOOL_PROBE_WORK = (0.0, 20_000)
"""Those probes stop after 20,000 simplex iterations in all (12x12x12: every candidate
probed at 30 iterations each took 10.5–11.5k), a deterministic budget."""

CUTPOOL_PROBE_TIME_SHARE = 0.25
"""...and after this share of the time limit (and half of what is left; wall, a safety
net)."""

CUTPOOL_RESTART_ROWS = "none"
"""The cut rows the restarted model keeps after those probes: ``all``, ``tight``, ``none``.
Without them the restarted HiGHS was faster (12x12x12 s3: 5.4 vs 11.1 CPU s, s0: 27.0 vs
34.5 and not proven in 120 s wall; docs/milp.md §Reductions, 7)."""


WCOVER_ROUNDS = 0
"""Rounds of the weighted-error-cover fixing for every solve whose ``MilpParams`` leave it
off (a benchmark toggle: benchmarks/milp_starts.py ``--fixing wcover``)."""

WCOVER_PER_ROW = 2
"""Multipliers separated per error row and round (results/milp/exact-r5-cutsep/)."""

WCOVER_TIME_SHARE = 0.25
"""The separation rounds stop after this share of the time limit (wall; a safety net,
the budget is the number of rounds)."""

WCOVER_ROWS = "none"
"""The separated rows the model keeps after the wcover fixing: ``all`` or ``none``
(results/milp/exact-r5-wchook/)."""


def _wcover_rounds(params: MilpParams) -> int:
    env = os.environ.get("HETSERVE_MILP_WCOVER")
    if env is not None:
        return int(env)
    return params.wcover_rounds or WCOVER_ROUNDS


def _cutpool_probing_on(params: MilpParams) -> bool:
    return params.cutpool_probing or CUTPOOL_PROBING


def _cutpool_on(params: MilpParams, am: ArrayModel) -> bool:
    """Off by default (measured side by side, docs/milp.md §Reductions, 6: slower at
    12x12x12, no time for it at 20x20x20); ``HETSERVE_MILP_CUTPOOL`` = ``1`` / ``0``
    overrides ``params.cutpool`` (a benchmark toggle)."""
    env = os.environ.get("HETSERVE_MILP_CUTPOOL")
    on = (params.cutpool or _cutpool_probing_on(params)) if env is None else env != "0"
    return on and am.n_cols >= CUTPOOL_MIN_COLUMNS


LINK_ON_DEMAND_MIN_ROWS = 1_000
"""``MilpParams.link_on_demand`` applies to fixed models with at least this many link rows
(docs/milp.md "Link rows on demand"; below, HiGHS's LPs are cheap anyway)."""


LINK_ON_DEMAND_TIME_SHARE = 0.2
"""The selection's LP loop gets at most this share of the time left (12x12x12: 1–2 s of 60);
when it does not end in time HiGHS gets every row."""


def _link_on_demand(params: MilpParams, am: ArrayModel) -> bool:
    """``HETSERVE_MILP_LINK_ON_DEMAND`` = ``1`` (on at any size) / ``0`` overrides
    ``params.link_on_demand`` and the size threshold (a benchmark toggle)."""
    env = os.environ.get("HETSERVE_MILP_LINK_ON_DEMAND")
    if env is not None:
        return env != "0"
    block = am.row_blocks.get("link")
    n_link = 0 if block is None else block.stop - block.start
    return params.link_on_demand and n_link >= LINK_ON_DEMAND_MIN_ROWS


SPLIT_MIN_COLUMNS = 1_000
"""``MilpParams.split`` applies to fixed models with at least this many columns (below,
HiGHS's whole run takes about a second and a second root costs as much as it saves)."""


SPLIT_DEPTH = 2
"""How many flags deep the split may go: while one thread is idle, the other's subtree is
split again on the costliest open configuration not yet fixed in it of the best plan found
so far (else of the start), up to this many flags from the root (milp.split; docs/milp.md
"Split on one open flag")."""


SPLIT_CHAIN_AFTER_S = 10.0
"""At :data:`SPLIT_DEPTH`, a subtree whose search has run this long while a thread idles is
split into the chain over the configurations its LP opens but cannot afford
(:func:`milp.split.solve_split`; docs/milp.md "Split on one open flag"). Shorter searches
are left alone: the chain's roots cost more than they save there."""


SPLIT_EAGER_MIN_COLUMNS = 8_000
"""From this many columns of the fixed model the split queues the branch without the start
already split on the start's next configuration (two subtrees two flags deep), instead of
splitting it when a thread idles (:func:`milp.split.solve_split`'s ``eager``). An idle
thread comes when the start's branch ends, and the branch it interrupts then loses the
tree it searched meanwhile: 16 s of 20x20x20 s1's. Below, the start's branch ends within
seconds and the later split on the best plan's configuration is worth more (12x12x12 s0:
8.7 against 10.8 s; docs/milp.md "Split on one open flag", round 16)."""


SPLIT_SELECTS_LINKS = True
"""With the split, the link rows are selected on its second thread while the first searches
the start's branch with every row, instead of before both start (docs/milp.md "Split on
one open flag")."""


def _split_on(params: MilpParams, am: ArrayModel) -> bool:
    """``HETSERVE_MILP_SPLIT`` = ``1`` (on at any size) / ``0`` overrides
    ``params.split`` and the size threshold (a benchmark toggle); two threads at least."""
    if params.threads < 2 or _cutpool_on(params, am):
        return False
    env = os.environ.get("HETSERVE_MILP_SPLIT")
    if env is not None:
        return env != "0"
    return params.split and am.n_cols >= SPLIT_MIN_COLUMNS


def _probing_on(params: MilpParams) -> bool:
    return (params.probing and PROBING_TIME_SHARE > 0
            and os.environ.get("HETSERVE_MILP_PROBING", "1") != "0")


@dataclass(frozen=True, eq=False)
class FixedModel:
    """The model :func:`solve` hands HiGHS and how it got there: ``am`` after the
    reductions, the reduced-cost fixing, the support MIP and probing; ``upper`` the cost
    of ``warm_start`` (the support MIP's plan when it found a cheaper one)."""

    am: ArrayModel
    upper: float | None
    warm_start: Solution | None
    fixing: Fixing | None
    probing: Probing | None
    support_mip: dict[str, Any] | None
    wcover: dict[str, Any] | None = None


def fixed_model(instance: Instance, params: MilpParams, seed: int, upper: float | None,
                warm_start: Solution | None, t_start: float, *,
                fixing: Fixing | None = None) -> FixedModel:
    """The highspy model of :func:`solve` (``upper``: the cost of ``warm_start`` when it is
    feasible; ``t_start``: when the solve started, for the time shares; ``fixing``: caps
    computed by the caller, e.g. :func:`milp.fixing.closing_caps`: the model is built over
    them directly and no fixing is computed here)."""
    probing = None
    sub_stats = None
    given = None if fixing is None else fixing.caps
    index = make_index(instance, params.tightening, params.reductions, upper, given)
    am = build_arrays(instance, tightening=params.tightening, index=index)
    if given is None and upper is not None and params.reductions.reduced_cost:
        if index.n_routes <= FIXING_MAX_ROUTES:
            fixing = reduced_cost_caps(am, upper, threads=params.threads, seed=seed,
                                       time_limit_s=params.time_limit_s / 4)
        elif COLGEN_FIXING:
            fixing = colgen_caps(am, upper, seed=seed, time_limit_s=params.time_limit_s / 2)
        if fixing is not None and (fixing.dropped or fixing.lowered):
            am = build_arrays(instance, tightening=params.tightening, index=make_index(
                instance, params.tightening, params.reductions, upper, fixing.caps,
                reduced=index.reduced))
    cover: tuple[ArrayModel, sp.csr_matrix, np.ndarray, np.ndarray] | None = None
    wc_stats = None
    rounds = _wcover_rounds(params)
    plain = None
    if (rounds > 0 and given is None and fixing is not None and upper is not None
            and warm_start is not None):
        plain = fixing if fixing.d_w is not None and fixing.d_r is not None else None
        am, fixing, cover, wc_stats = _wcover_fixing(instance, params, seed, am, fixing,
                                                    upper, warm_start, rounds, t_start)
    if (fixing is not None and fixing.lp_w is not None and upper is not None
            and warm_start is not None and _support_mip_on(params)
            and upper - fixing.bound > SUPPORT_MIP_MIN_ROOM * abs(upper)):
        warm_start, better, sub_stats = support_mip(instance, params, seed, index, fixing,
                                                    upper, warm_start)
        if better < upper:  # a cheaper start: the same multipliers fix more
            upper, fixing = better, fixing.with_upper(better)
            if plain is not None:  # both multipliers' caps hold below U: keep the smaller
                fixing = replace(fixing, caps=np.minimum(fixing.caps,
                                                         plain.with_upper(better).caps))
            am = build_arrays(instance, tightening=params.tightening, index=make_index(
                instance, params.tightening, params.reductions, upper, fixing.caps,
                reduced=index.reduced))
    if (fixing is not None and upper is not None and warm_start is not None
            and _probing_on(params) and am.n_cols <= PROBING_MAX_COLUMNS):
        r_all, x_all = warm_start.to_arrays(instance)
        if index.reduced is not None:
            r_all, _ = map_plan(index.reduced, r_all, x_all)
        left = params.time_limit_s - (time.perf_counter() - t_start)
        probing = probe_configurations(
            am, upper, keep=r_all[am.index.cfg] > 0, seed=seed,
            order=None if fixing.d_w is None else fixing.d_w[am.index.cfg],
            time_limit_s=min(PROBING_TIME_SHARE * params.time_limit_s, 0.5 * left),
            work=PROBING_WORK)
        if probing.dropped + probing.dropped_rc:
            am = build_arrays(instance, tightening=params.tightening, index=make_index(
                instance, params.tightening, params.reductions, upper,
                np.minimum(fixing.caps, probing.caps), reduced=index.reduced))
    if cover is not None and WCOVER_ROWS == "all":
        am_sep, A, lo, hi = cover
        rows, _ = cutpool.map_cuts(am_sep, am, A)
        am = cutpool.with_cuts(am, rows, lo, hi)
    if wc_stats is not None:
        wc_stats.update(rows_kept=WCOVER_ROWS if cover is not None else "none",
                        cols_final=am.n_cols)
    return FixedModel(am, upper, warm_start, fixing, probing, sub_stats, wc_stats)


def _wcover_fixing(instance: Instance, params: MilpParams, seed: int, am: ArrayModel,
                   fixing: Fixing, upper: float, warm_start: Solution, rounds: int,
                   t_start: float
                   ) -> tuple[ArrayModel, Fixing,
                              tuple[ArrayModel, sp.csr_matrix, np.ndarray, np.ndarray] | None,
                              dict[str, Any]]:
    """``rounds`` rounds of the weighted error cover on the fixed model ``am``'s LP
    (docs/milp.md "Weighted error cover"), then the fixing of §4 from the LP with the rows
    and the model rebuilt over its caps (:func:`milp.cutpool.collapse`). The rows hold for
    every plan (not only those cheaper than ``upper``), so the start needs no care beyond
    what the fixing already gives it (its configurations are kept anyway). Returns the
    model (without the rows), the new fixing (its caps 0 outside ``am``), ``(am, A, lo,
    hi)`` for mapping the rows onto a later model (``None`` when nothing was separated)
    and stats."""
    from hetserve.milp.cuts import separation_rounds

    t0, c0 = time.perf_counter(), time.process_time()
    left = params.time_limit_s - (t0 - t_start)
    A, lo, hi, values = separation_rounds(
        am, rounds, per_row=WCOVER_PER_ROW,
        time_limit_s=max(0.1, min(WCOVER_TIME_SHARE * params.time_limit_s, 0.5 * left)))
    stats: dict[str, Any] = {"rounds": len(values) - 1, "rows": int(A.shape[0]),
                             "lp_plain": values[0], "lp_rows": values[-1],
                             "separation_s": time.perf_counter() - t0,
                             "separation_cpu_s": time.process_time() - c0,
                             "cols_before": am.n_cols}
    if A.shape[0] == 0:
        stats.update(dropped=0, lowered=0, cols_after=am.n_cols)
        return am, fixing, None, stats
    r_all, x_all = warm_start.to_arrays(instance)
    if am.index.reduced is not None:
        r_all, _ = map_plan(am.index.reduced, r_all, x_all)
    left = params.time_limit_s - (time.perf_counter() - t_start)
    rs = cutpool.collapse(am, CutRows(A, lo, hi, math.nan), upper, r_all[am.index.cfg],
                          tightening=params.tightening, reductions=params.reductions,
                          seed=seed, time_limit_s=max(0.1, 0.5 * left))
    stats.update({k: rs.stats.get(k) for k in ("L_cut", "lp_cut", "dropped", "lowered")},
                 cols_after=rs.stats.get("cols_after", am.n_cols),
                 seconds=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    if rs.fixing is None or rs.caps is None or rs.base is None:
        return am, fixing, (am, A, lo, hi), stats
    # the collapse's caps are 0 outside am (its Fixing's are inf there: no column)
    return rs.base, replace(rs.fixing, caps=rs.caps), (am, A, lo, hi), stats


@dataclass(frozen=True)
class _Outcome:
    """What the solve reads from HiGHS's run, or from the split's runs."""

    key: str
    status_name: str
    has_point: bool
    objective: float | None
    bound: float | None
    gap: float | None
    nodes: int
    values: np.ndarray | None
    """Column values of the plan (None: read them from the HiGHS object)."""


def _outcome(h: highspy.Highs) -> _Outcome:
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_point = info.primal_solution_status == highspy.kSolutionStatusFeasible
    return _Outcome(
        model_status.name if hasattr(model_status, "name") else str(model_status),
        h.modelStatusToString(model_status), has_point,
        float(info.objective_function_value) if has_point else None,
        float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None,
        float(info.mip_gap) if has_point else None, int(info.mip_node_count), None)


def _split_outcome(split: SplitResult, am: ArrayModel, start: np.ndarray | None) -> _Outcome:
    """The split's plan (the start when no leaf found a cheaper one), its bound, and
    ``kOptimal`` when every leaf ended, ``kTimeLimit`` otherwise (milp.split)."""
    assert start is not None  # the split runs from a start only
    values = split.values if split.values is not None else start
    objective = split.objective if split.objective is not None else float(am.cost @ start)
    bound = split.bound if math.isfinite(split.bound) else None
    gap = None if bound is None else (objective - bound) / max(abs(objective), 1e-9)
    key = "kOptimal" if split.proven else "kTimeLimit"
    name = ("Optimal (split)" if split.proven else "Time limit reached (split)")
    return _Outcome(key, name, True, objective, bound, gap, split.nodes, values)


def lift_bound(bound: float | None, fixing: Fixing | None, cap: float) -> float | None:
    """The larger of HiGHS's (or the split's) ``bound`` and the fixing's Lagrangian bound
    ``L`` (:mod:`milp.fixing`: certified for the model the fixing was computed on, which
    keeps an optimal plan whenever one is cheaper than the start), capped at ``cap``: the
    smaller of the start's cost and the returned plan's. Valid: if the optimum is below
    the start's cost, the model holds it and ``L`` is at most it; otherwise the start's
    cost is the optimum, and the cap is at most it. It matters where the search stopped
    before its own bound did (a leaf of the split still queued, a root not finished). An
    ``L`` of 0 or less (multipliers of a column generation stopped early) says nothing the
    costs' signs do not, and is not used."""
    if fixing is None or not math.isfinite(fixing.bound) or fixing.bound <= 0:
        return bound
    lagrangian = min(fixing.bound, cap)
    return lagrangian if bound is None or not math.isfinite(bound) else max(bound, lagrangian)


def _plan_arrays(instance: Instance, am: ArrayModel,
                 values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(r, x)`` over all configurations from column values of ``am``."""
    r = np.zeros(len(instance.routes))
    x = np.zeros((len(instance.query_types), len(instance.routes)))
    r[am.index.cfg] = values[am.cols["r"]]
    x[am.index.ri, am.index.route_cfg()] = values[am.cols["x"]]
    return r, x


def _support_mip_on(params: MilpParams) -> bool:
    return params.support_mip and os.environ.get("HETSERVE_MILP_SUPPORT_MIP", "1") != "0"


def _configure(h: highspy.Highs, params: MilpParams, seed: int, started: bool) -> None:
    configure(h, time_limit_s=params.time_limit_s, mip_rel_gap=params.mip_rel_gap,
              threads=params.threads, seed=seed,
              options=(ROOT_SETTINGS if started else ()) + tuple(params.highs_options),
              log=SolverLog(to_stderr=bool(params.msg), file=params.log_file))


def _start_vector(am: ArrayModel, instance: Instance, warm: Solution) -> np.ndarray:
    """Column values of a plan: r (clipped to R̄), w = [r > 0], o, u = 1 − Σx, x, z."""
    r_all, x_all = warm.to_arrays(instance)
    idx = am.index
    if idx.reduced is not None:
        r_all, x_all = map_plan(idx.reduced, r_all, x_all)
    v = np.zeros(am.n_cols)
    r = np.minimum(r_all[idx.cfg].astype(float), idx.rbar)
    v[am.cols["r"]] = r
    v[am.cols["w"]] = (r > 0).astype(float)
    o = np.zeros(len(idx.models))
    np.maximum.at(o, idx.cfg_model_pos, (r > 0).astype(float))
    v[am.cols["o"]] = o
    x = np.clip(x_all[idx.ri, idx.route_cfg()], 0.0, 1.0)
    v[am.cols["x"]] = x
    served = np.zeros(len(instance.query_types))
    np.add.at(served, idx.ri, x)
    zeta = np.array([q.max_unmet for q in instance.query_types])
    v[am.cols["u"]] = np.clip(1.0 - served, 0.0, zeta)
    if "z" in am.cols:
        v[am.cols["z"]] = (x > 0).astype(float)
    return v


def extract(instance: Instance, r: np.ndarray,
            x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Round replicas, clip shares, and scale any over-loaded configuration's shares down
    to its capacity (see the module docstring). Returns ``(r, x, largest scale-down)``."""
    t = instance.routes
    r = np.rint(np.asarray(r, dtype=float))
    r = np.maximum(r, 0.0)
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    x[x < 1e-10] = 0.0
    over = x.sum(axis=1)
    x = np.where(over[:, None] > 1.0, x / np.maximum(over, 1.0)[:, None], x)
    x, load = t.cap_to_capacity(x, instance.max_utilisation * r)
    worst = float(np.max(load - instance.max_utilisation * r, initial=0.0))
    return r.astype(np.int64), x, worst


def solve(instance: Instance, params: MilpParams | None = None, *, seed: int = 0,
          warm_start: Solution | None = None, fixing: Fixing | None = None) -> RunResult:
    """Solve the MILP of :mod:`milp.formulation` with HiGHS (see the module docstring).
    ``fixing``: caps already computed for ``warm_start``'s cost (e.g.
    :func:`milp.fixing.closing_caps`); the model is then built over them directly (the
    complete model is never built) and no fixing is computed here."""
    params = MilpParams() if params is None else params
    t_start = time.perf_counter()
    backend = "highspy" if params.backend == "auto" else params.backend
    upper = None
    if warm_start is not None and (params.reductions.incumbent or params.reductions.reduced_cost):
        warm_eval = evaluate_arrays(instance, *warm_start.to_arrays(instance))
        upper = warm_eval.objective if warm_eval.feasible else None
    given, probing = fixing, None
    upper_start, sub_stats, wc_stats = upper, None, None
    links: LinkSelection | None = None
    start_vec: np.ndarray | None = None
    split_at: int | None = None  # the configuration position to split on (milp.split)
    if backend == "highspy":
        prep = fixed_model(instance, params, seed, upper, warm_start, t_start, fixing=given)
        am, upper, warm_start = prep.am, prep.upper, prep.warm_start
        fixing, probing, sub_stats = prep.fixing, prep.probing, prep.support_mip
        wc_stats = prep.wcover
        # the cut-pool restart reads HiGHS's rows as am's, so it gets every row
        link_on = not _cutpool_on(params, am) and _link_on_demand(params, am)
        link_s = LINK_ON_DEMAND_TIME_SHARE * max(0.0, params.time_limit_s
                                                 - (time.perf_counter() - t_start))
        if warm_start is not None:
            start_vec = _start_vector(am, instance, warm_start)
            if upper is not None and _split_on(params, am):
                split_at = split_position(am, start_vec)
        split_selects = link_on and split_at is not None and SPLIT_SELECTS_LINKS
        if link_on and not split_selects:
            links = select_link_rows(am, seed, time_limit_s=link_s)
        build_s = time.perf_counter() - t_start
        h = new_highs()
        if split_at is None:
            _configure(h, replace(params, time_limit_s=max(0.1, params.time_limit_s - build_s)),
                       seed, warm_start is not None)
            h.passModel(am.to_highs_lp())
            drop_rows(h, links)
            if start_vec is not None:
                set_start(h, start_vec)
        n_vars, n_int = am.n_cols, am.n_int
        n_rows = am.n_rows - (0 if links is None else len(links.drop))
        index = am.index
    else:
        form = build(instance, tightening=params.tightening, reductions=params.reductions,
                     upper_bound=upper)
        use_threads(int(params.threads))
        silence_banner()
        solver = pulp.HiGHS(msg=False, timeLimit=params.time_limit_s,
                            gapRel=params.mip_rel_gap, threads=params.threads, random_seed=seed)
        solver.createAndConfigureSolver(form.problem)
        solver.buildSolverModel(form.problem)
        build_s = time.perf_counter() - t_start
        h = form.problem.solverModel
        configure_log(h, SolverLog(to_stderr=bool(params.msg), file=params.log_file))
        settings = ROOT_SETTINGS if warm_start is not None else ()
        for name, value in settings + tuple(params.highs_options):
            h.setOptionValue(name, value)
        if warm_start is not None:
            am_ = build_arrays(instance, tightening=params.tightening, index=form.index)
            start = dict(zip(am_.col_names(), _start_vector(am_, instance, warm_start)))
            vars_ = columns(form.problem)  # column j of HiGHS's model is vars_[j]
            h.setSolution(len(vars_), np.arange(len(vars_), dtype=np.int32),
                          np.array([start[v.name] for v in vars_]))
        n_vars = len(form.problem.variables())
        n_int = sum(1 for v in form.problem.variables() if v.cat == pulp.LpInteger)
        n_rows = form.problem.numConstraints()
        index = form.index

    root: dict[str, float] = {}
    pool: list[CutRows | None] = []
    stop: list[bool] = []  # decided once, when the cuts are read: interrupt or go on
    restart_on = (backend == "highspy" and warm_start is not None and upper is not None
                  and _cutpool_on(params, am))
    if (params.root_bound or restart_on) and split_at is None:
        def on_callback(kind: Any, _msg: str, out: Any, inp: Any, _data: Any) -> None:
            if kind == highspy.cb.HighsCallbackType.kCallbackMipGetCutPool:
                pool.append(read_cut_pool(out, am.n_cols))
                return
            if out.mip_node_count == 0 and math.isfinite(out.mip_dual_bound):
                root["bound"] = float(out.mip_dual_bound)
            if pool and pool[0] is not None and pool[0].n_cuts and not stop:
                # the root's cuts are out: restart (§6), if the rest of the limit can
                # hold the cut LP and a second root (at least the first root's time)
                spent = time.perf_counter() - t_solve
                left = params.time_limit_s - (time.perf_counter() - t_start)
                if left >= CUTPOOL_MIN_LEFT * spent:
                    inp.user_interrupt = True
                stop.append(left >= CUTPOOL_MIN_LEFT * spent)
            elif stop and stop[0]:
                inp.user_interrupt = True
        h.setCallback(on_callback, None)
        h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
        if restart_on:
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipGetCutPool)

    t_solve, cpu_solve = time.perf_counter(), time.process_time()
    split: SplitResult | None = None
    if split_at is not None and start_vec is not None:
        def configure_branch(hb: highspy.Highs, seconds: float) -> None:
            # one thread each; solve_split sizes the thread pool once, before both start
            configure(hb, time_limit_s=seconds, mip_rel_gap=params.mip_rel_gap, threads=1,
                      seed=seed, options=ROOT_SETTINGS + tuple(params.highs_options),
                      log=SolverLog(to_stderr=bool(params.msg), file=params.log_file),
                      reset_pool=False)

        selected: list[LinkSelection | None] = []

        def select_links() -> np.ndarray | None:
            # on the split's second thread, while the first searches the start's branch
            # with every row (milp.split; docs/milp.md "Split on one open flag")
            selected.append(select_link_rows(am, seed, time_limit_s=link_s, reset_pool=False))
            return None if selected[0] is None else selected[0].drop

        split = solve_split(am, start_vec, float(am.cost @ start_vec), split_at,
                            configure=configure_branch,
                            time_limit_s=max(0.1, params.time_limit_s - build_s),
                            mip_rel_gap=params.mip_rel_gap,
                            drop=None if links is None else links.drop,
                            prepare=select_links if split_selects else None,
                            depth=SPLIT_DEPTH, threads=params.threads,
                            eager=am.n_cols >= SPLIT_EAGER_MIN_COLUMNS,
                            chain_after_s=SPLIT_CHAIN_AFTER_S)
        links = selected[0] if selected else links
        n_rows = am.n_rows - (0 if links is None else len(links.drop))
    else:
        run_checked(h)
    restart: Restart | None = None
    cut_stats: dict[str, Any] | None = None
    if (pool and pool[0] is not None and pool[0].n_cuts and warm_start is not None
            and upper is not None and h.getModelStatus() == highspy.HighsModelStatus.kInterrupt):
        cut_stats = {"root_s": time.perf_counter() - t_solve,
                     "root_cpu_s": time.process_time() - cpu_solve}
        # HiGHS's cuts hold for plans cheaper than *its* incumbent, which its root
        # heuristics may have improved: restart from that plan and cost (§6)
        cuts = pool[0]
        info1 = h.getInfo()
        # (HiGHS's value of the start itself may differ from U in the last digits: a plan
        # within §4's relative slack of U is the start)
        if (info1.primal_solution_status == highspy.kSolutionStatusFeasible
                and info1.objective_function_value < upper * (1 - REL_EPS) - REL_EPS):
            found = Solution.from_arrays(instance, *extract(instance, *_plan_arrays(
                instance, am, np.asarray(h.getSolution().col_value)))[:2])
            ev = evaluate_arrays(instance, *found.to_arrays(instance))
            if ev.feasible and ev.objective < upper:
                warm_start, upper = found, float(ev.objective)
                cut_stats["root_plan"] = upper
            else:  # a plan we cannot hold: its cuts might exclude it, so use none
                cuts = cutpool.CutRows(sp.csr_matrix((0, am.n_cols)), np.zeros(0),
                                       np.zeros(0), cuts.root_bound)
        r_all, x_all = warm_start.to_arrays(instance)
        if am.index.reduced is not None:
            r_all, _ = map_plan(am.index.reduced, r_all, x_all)
        left = params.time_limit_s - (time.perf_counter() - t_start)
        restart = cutpool.collapse(am, cuts, upper, r_all[am.index.cfg],
                                   tightening=params.tightening, reductions=params.reductions,
                                   seed=seed, time_limit_s=max(0.1, 0.5 * left))
        if _cutpool_probing_on(params):
            left = params.time_limit_s - (time.perf_counter() - t_start)
            restart = cutpool.probe_restart(
                restart, upper, r_all, tightening=params.tightening,
                reductions=params.reductions, seed=seed,
                time_limit_s=max(0.1, min(CUTPOOL_PROBE_TIME_SHARE * params.time_limit_s,
                                          0.5 * left)),
                work=CUTPOOL_PROBE_WORK, iteration_limit=CUTPOOL_PROBE_ITERATIONS,
                rows=CUTPOOL_RESTART_ROWS)
        cut_stats.update(restart.stats)
        am = restart.am
        h = new_highs()
        t_rest, cpu_rest = time.perf_counter(), time.process_time()
        _configure(h, replace(params, time_limit_s=max(
            0.1, params.time_limit_s - (t_rest - t_start))), seed, True)
        h.passModel(am.to_highs_lp())
        set_start(h, _start_vector(am, instance, warm_start))
        run_checked(h)
        cut_stats.update(highs_s=time.perf_counter() - t_rest,
                         highs_cpu_s=time.process_time() - cpu_rest)
        n_vars, n_int, n_rows = am.n_cols, am.n_int, am.n_rows
    solve_s = time.perf_counter() - t_solve
    solve_cpu_s = time.process_time() - cpu_solve
    out = _outcome(h) if split is None else _split_outcome(split, am, start_vec)
    key, status_name, has_point = out.key, out.status_name, out.has_point
    stats: dict[str, Any] = {
        "backend": backend, "tightening": params.tightening.label(),
        "reductions": params.reductions.label(),
        "reduced": dict(index.reduced.counts) if index.reduced is not None else {},
        "upper_bound_start": upper_start,
        "support_mip": sub_stats,
        "probing": None if probing is None else probing.stats(),
        "cutpool": cut_stats,
        "wcover": wc_stats,
        "link_rows": None if links is None else links.stats(),
        "fixing": None if fixing is None else {
            "dropped": fixing.dropped, "lowered": fixing.lowered, "bound": fixing.bound,
            "lp_value": fixing.lp_value, "seconds": fixing.seconds, "method": fixing.method},
        "build_s": build_s, "solve_s": solve_s, "solve_cpu_s": solve_cpu_s,
        "n_vars": n_vars, "n_int": n_int,
        "n_rows": n_rows, "nodes": out.nodes,
        "highs_status": status_name,
        "objective_solver": out.objective if has_point else None,
        "root_bound": root.get("bound"),
        "mip_gap_highs": out.gap if has_point else None,
        "split": None if split is None else split.stats(),
    }
    bound = out.bound
    if has_point and out.objective is not None and upper is not None:
        lifted = lift_bound(bound, fixing, min(out.objective, upper))
        if lifted is not None and (bound is None or lifted > bound):
            stats["bound_from_fixing"] = True
        bound = lifted

    if key == "kOptimal":
        status = Status.OPTIMAL
    elif key in ("kInfeasible", "kUnboundedOrInfeasible"):
        status = Status.INFEASIBLE
    elif key in _LIMITS and has_point:
        status = Status.FEASIBLE
    else:
        status = Status.NO_SOLUTION
    if restart is not None and warm_start is not None and upper is not None:
        # The restarted model holds every plan cheaper than U (§6), not necessarily the
        # start itself (HiGHS's cuts may cut plans of cost ≥ U minus its tolerance). So:
        # no plan there, or none cheaper than U → the start is the plan; infeasible →
        # nothing beats the start, which is then optimal; the bound never exceeds U.
        own = stats["objective_solver"]
        if status is Status.INFEASIBLE:
            status, bound = Status.OPTIMAL, upper
        elif status is Status.OPTIMAL and own is not None and own >= upper:
            # proven within the MIP gap only: HiGHS's bound, not U, is what was proven
            bound = upper if bound is None else min(bound, upper)
        elif not has_point and key in _LIMITS:
            status = Status.FEASIBLE
        if status is not Status.NO_SOLUTION and (not has_point or own is None or own > upper):
            stats.update(objective_solver=upper, mip_gap_highs=None, plan="start")
            bound = upper if bound is None else min(max(bound, restart.stats["root_bound"]),
                                                    upper)
            evaluation = evaluate_arrays(instance, *warm_start.to_arrays(instance))
            return RunResult("milp", status, warm_start, evaluation,
                             time.perf_counter() - t_start, bound=bound, seed=seed, stats=stats)
        if bound is not None:
            bound = min(max(bound, restart.stats["root_bound"]), upper)
    if status is Status.INFEASIBLE:
        # with a cutoff (``objective_bound``, milp.bound's target-cost model) "infeasible"
        # means "no plan below it", not an infeasible instance: nothing to diagnose (the
        # diagnosis builds the whole instance's checks: 65 s, 3.8 GB at 100x40x40)
        cutoff = any(name == "objective_bound" for name, _ in params.highs_options)
        return RunResult("milp", status, None, None, time.perf_counter() - t_start, bound=None,
                         seed=seed, diagnosis=() if cutoff else tuple(diagnose(instance)),
                         stats=stats)
    if not has_point:
        return RunResult("milp", status, None, None, time.perf_counter() - t_start, bound=bound,
                         seed=seed, stats=stats)

    if split is not None and split.values is None and warm_start is not None:
        # no leaf of the split found a plan cheaper than the start: the start is the plan
        evaluation = evaluate_arrays(instance, *warm_start.to_arrays(instance))
        return RunResult("milp", status, warm_start, evaluation, time.perf_counter() - t_start,
                         bound=bound, seed=seed, stats=stats)
    if backend == "highspy":
        r, x = _plan_arrays(instance, am, out.values if out.values is not None
                            else np.asarray(h.getSolution().col_value))
    else:
        solver.findSolutionValues(form.problem)
        r, x = solution_arrays(form)
    r_int, x_fix, repaired = extract(instance, r, x)
    stats["capacity_repair"] = repaired
    solution = Solution.from_arrays(instance, r_int, x_fix)
    evaluation = evaluate_arrays(instance, *solution.to_arrays(instance))
    return RunResult("milp", status, solution, evaluation, time.perf_counter() - t_start,
                     bound=bound, seed=seed, stats=stats)


def lp_relaxation_bound(instance: Instance, *, tightening: Tightening | None = None) -> float:
    """Optimal value of the LP relaxation (a lower bound on the MILP optimum; ∞ if the LP
    is infeasible)."""
    status, value, _, _ = solve_relaxation(instance, tightening=tightening)
    return value if status == "Optimal" else math.inf


_run_array_model = run_array_model
"""Kept under its old private name for callers and tests of this module."""
