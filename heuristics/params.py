"""Parameters of GH and AGH: frozen, validated dataclasses.

Both are safe to use as default arguments (``gh(instance, params=GhParams())``) because
they are immutable. Invalid values raise ``ValueError`` with a message that names the
field. The ablation switches ``use_m1``, ``use_m2`` and ``use_m3`` turn off one of the
paper's three mechanisms each; ``docs/heuristics.md`` §5 states what each switch does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ORDERS = ("rate-desc", "rate-asc", "error-slo-asc", "delay-slo-asc", "footprint-desc",
          "footprint-asc", "index")
"""Names of the deterministic query-type orders GH can process types in.

``rate-desc``/``rate-asc``: arrival rate λ_i; ``error-slo-asc``: tightest error SLO
first; ``delay-slo-asc``: tightest latency SLO first; ``footprint-desc``/``-asc``: size
(GB) of the smallest model that can serve the type alone (usable route with e ≤ ε);
``index``: the instance's order. Ties are broken by the instance's order."""

DEFAULT_OPERATORS = ("reduce_replicas", "relocate", "unmet_trade", "consolidate",
                     "tp_downgrade", "tp_upgrade", "reroute", "decrement", "drop", "add", "swap",
                     "redeploy")
"""The local-search operators AGH applies by default, in this order each pass."""


def _fail(name: str, msg: str) -> None:
    raise ValueError(f"{name}: {msg}")


@dataclass(frozen=True)
class GhParams:
    """Parameters of the greedy heuristic GH (one deterministic pass).

    Parameters
    ----------
    order
        Processing order of the query types, one of :data:`ORDERS`.
    preallocate
        Run the coverage pre-allocation phase (docs/semantics.md#open-choices): before the greedy
        pass, each type without an active deployment that can serve it opens the
        M2-best deployment with one replica.
    allow_unmet
        Let the M2 ranking choose to leave up to ζ_i of a type unserved when the unmet
        penalty per share is cheaper than every serving candidate (otherwise only the
        leftovers the greedy could not place become unmet).
    use_m1
        M1, TP-aware feasibility selection. ``False`` (ablation): a new deployment
        always uses its smallest (fewest GPUs) configuration and routes are not checked
        for memory or latency during construction.
    use_m2
        M2, cost-per-effective-coverage ranking. ``False`` (ablation): candidates are
        ranked by the raw hourly price of their configuration.
    use_m3
        M3, TP upgrade of active deployments as construction candidates.
    """

    order: str = "rate-desc"
    preallocate: bool = True
    allow_unmet: bool = True
    use_m1: bool = True
    use_m2: bool = True
    use_m3: bool = True

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            _fail("order", f"order {self.order!r} not understood; expected one of {list(ORDERS)}")


@dataclass(frozen=True)
class AghParams:
    """Parameters of the adaptive greedy heuristic AGH (multi-start GH + local search).

    Parameters
    ----------
    orders
        Deterministic GH orders, each one start (names from :data:`ORDERS`).
    random_starts
        Extra starts with seeded random orders (one ``numpy.random.Generator(seed)``).
    ls_starts
        Local search runs on this many of the best constructed starts.
    max_passes
        Pass budget of the local search per start (a pass tries every operator once).
    kicks
        Iterated local search after the starts: this many perturbations
        (:func:`heuristics.lp_moves.kick`) of the best plan, each followed by a local
        search; 0 (default) = off.
    work_budget
        Cap on the run's *work*: the number of trial moves (journaled checkpoints of the
        plan) the local search and the kicks may make, summed over all starts. Work, not
        seconds, so a seed gives one plan on any machine and under any load. The default
        is not reached up to 50x30x30 (docs/heuristics.md §4, §8); at 100x40x40 the last
        fleet-MIP round ends just above it (21.5 M; a larger budget changes nothing).
        ``stats["work_used"]`` and ``stats["budget_exhausted"]`` report it.
    fleet_mip_rounds
        Rounds of the fleet MIP (:mod:`heuristics.fleet_mip`) on the best plan, each
        followed by a local search, while they improve; 0 turns every fleet MIP off
        (the LP-guided rounds too).
    lp_guided_mip
        After those rounds, up to ``fleet_mip_rounds`` more on the support of the MIP's
        own LP relaxation (column generation; docs/heuristics.md §4).
    time_limit_s
        Optional extra cap on CPU seconds (``None``, the default, = none). Setting it
        makes the result depend on the machine's speed (``stats["timed_out"]``).
    pass_gain
        A pass of the ordinary operators that lowers the objective by less than this
        fraction counts as stuck and the escalation operators run (0: any gain counts, the
        rule before; docs/heuristics.md §4).
    granularities
        Shares of a route that ``relocate`` (and ``unmet_trade``) try to move.
    operators
        Local-search operators, names from :data:`heuristics.operators.OPERATORS`.
    preallocate, allow_unmet, use_m1, use_m2, use_m3
        As in :class:`GhParams`, for every start. ``use_m3=False`` also drops the
        ``tp_upgrade`` operator.
    """

    orders: tuple[str, ...] = ("rate-desc", "rate-asc", "error-slo-asc", "delay-slo-asc",
                               "footprint-desc")
    random_starts: int = 6
    ls_starts: int = 2
    max_passes: int = 30
    kicks: int = 0
    fleet_mip_rounds: int = 3
    lp_guided_mip: bool = True
    work_budget: int = 20_000_000
    time_limit_s: float | None = None
    pass_gain: float = 1e-4
    granularities: tuple[float, ...] = (1.0, 0.5, 0.25)
    operators: tuple[str, ...] = field(default=DEFAULT_OPERATORS)
    preallocate: bool = True
    allow_unmet: bool = True
    use_m1: bool = True
    use_m2: bool = True
    use_m3: bool = True

    def __post_init__(self) -> None:
        from hetserve.heuristics.operators import OPERATORS  # local: operators imports state only

        if not self.orders and self.random_starts == 0:
            _fail("orders", "at least one start is needed (orders or random_starts)")
        for o in self.orders:
            if o not in ORDERS:
                _fail("orders", f"order {o!r} not understood; expected one of {list(ORDERS)}")
        if self.random_starts < 0:
            _fail("random_starts", f"must be >= 0, got {self.random_starts!r}")
        if self.ls_starts < 0:
            _fail("ls_starts", f"must be >= 0, got {self.ls_starts!r}")
        if self.kicks < 0:
            _fail("kicks", f"must be >= 0, got {self.kicks!r}")
        if self.fleet_mip_rounds < 0:
            _fail("fleet_mip_rounds", f"must be >= 0, got {self.fleet_mip_rounds!r}")
        if self.max_passes < 0:
            _fail("max_passes", f"must be >= 0, got {self.max_passes!r}")
        if isinstance(self.work_budget, bool) or not isinstance(self.work_budget, int) \
                or self.work_budget < 0:
            _fail("work_budget", f"must be an integer >= 0, got {self.work_budget!r}")
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            _fail("time_limit_s", f"must be > 0 or None, got {self.time_limit_s!r}")
        if not 0 <= self.pass_gain < 1:
            _fail("pass_gain", f"must be in [0, 1), got {self.pass_gain!r}")
        if not self.granularities or any(not 0 < g <= 1 for g in self.granularities):
            _fail("granularities", f"need values in (0, 1], got {self.granularities!r}")
        for name in self.operators:
            if name not in OPERATORS:
                _fail("operators", f"operator {name!r} not understood; expected names from "
                      f"{sorted(OPERATORS)}")

    def gh_params(self, order: str = "index") -> GhParams:
        """The GH parameters of one start."""
        return GhParams(order=order, preallocate=self.preallocate, allow_unmet=self.allow_unmet,
                        use_m1=self.use_m1, use_m2=self.use_m2, use_m3=self.use_m3)

    @property
    def active_operators(self) -> tuple[str, ...]:
        """The operators actually run (``tp_upgrade`` is M3 and goes with ``use_m3``)."""
        return tuple(o for o in self.operators if self.use_m3 or o != "tp_upgrade")
