r"""The exact MILP (docs/semantics.md#exact-milp), configuration-indexed, as a PuLP model.

:func:`build` is pure: it creates the model and never solves it. The same columns and
rows, in the same order and with the same names, are built from numpy arrays by
:func:`milp.highs_model.build_arrays` (fast, used by the solver); a test checks that the
two coincide coefficient by coefficient.

Sets
----
* :math:`I` query types; :math:`J` models; :math:`G` GPU types.
* :math:`C` active configurations :math:`c = (j, g, p, n, m)`: the weights fit in
  :math:`n m` GPUs, at least one route is usable, and :math:`\bar R_c \ge 1`.
* :math:`U \subseteq I \times C` usable routes: ``routes.usable`` (memory, context and
  the per-route delay rule :math:`D_{ic}(1) \le \Delta_i`; under ``average`` delay only
  memory). Under single placement a route must also meet :math:`e_{ic} \le \varepsilon_i`
  (and :math:`D_{ic} \le \Delta_i` with the average rule), since it serves its type alone.
* :math:`\mathcal D` deployments :math:`(j, g, p)`, each a set of configurations.
* :math:`C^\varepsilon_i = \{c : (i,c) \in U,\ e_{ic} \le \varepsilon_i\}`,
  :math:`C^\Delta_i = \{c : (i,c)\in U,\ D_{ic} \le \Delta_i\}`.

Parameters
----------
:math:`T` horizon (h); :math:`\pi_c` $/h of one replica (price · n · m);
:math:`p^s` $/GB-h and :math:`S_j` GB (``weight_gb_fp16``) storage; :math:`\lambda_i`
req/s; :math:`\mu_{ic}` req/s per replica at :math:`b^*`; :math:`a_{ic} = \lambda_i/\mu_{ic}`;
:math:`D_{ic}` = D(b*) s; :math:`e_{ic}` error; :math:`\varepsilon_i, \Delta_i, \zeta_i`
SLOs and max unmet share; :math:`\rho_i` $/(req·s), :math:`\varphi_i` $/req;
:math:`\rho^{max}`; :math:`N_g` GPUs; :math:`\delta` budget; :math:`C^s` GB;
:math:`\bar R_c = \min(\lceil \sum_{i:(i,c)\in U} a_{ic}/\rho^{max} \rceil,
\lfloor N_g/(nm) \rfloor, \lfloor \delta/(T\pi_c) \rfloor)`.

Variables
---------
:math:`r_c \in \mathbb Z_{\ge 0}` replicas; :math:`w_c \in \{0,1\}` config *c* is the
chosen (TP, PP) of its deployment; :math:`o_j \in \{0,1\}` model stored;
:math:`x_{ic} \in [0,1]` for :math:`(i,c)\in U` only; :math:`u_i \in [0, \zeta_i]`;
:math:`z_{ic} \in \{0,1\}` only under single placement.

Objective (equals ``instances.evaluate.cost_terms`` on every integer point)
--------------------------------------------------------------------------
.. math::
   \min\ T\sum_c \pi_c r_c + T p^s \sum_j S_j o_j
        + 3600\,T \sum_{(i,c)\in U} \rho_i \lambda_i D_{ic} x_{ic}
        + 3600\,T \sum_i \varphi_i \lambda_i u_i

Constraints (row names in brackets)
-----------------------------------
* [demand_i]   :math:`\sum_c x_{ic} + u_i = 1`
* [cap_c]      :math:`\sum_i a_{ic} x_{ic} \le \rho^{max} r_c`
* [err_i]      :math:`\sum_c (e_{ic} - \varepsilon_i) x_{ic} \le 0` (the mean error of the
  *served* share; written only if some usable route has :math:`e_{ic} > \varepsilon_i`)
* [avgdelay_i] :math:`\sum_c (D_{ic} - \Delta_i) x_{ic} \le 0` (``average``/``both``; only if
  some route has :math:`D_{ic} > \Delta_i`)
* [budget]     :math:`T\sum_c \pi_c r_c + T p^s \sum_j S_j o_j \le \delta`
* [avail_g]    :math:`\sum_c U_{cg} r_c \le N_g`, :math:`U_{cg}` = GPUs of type *g* in one
  replica of *c* (``routes.gpu_use``; :math:`n_c m_c` on the configuration's own type);
  only where it can bind
* [ub_c]       :math:`r_c \le \bar R_c w_c`
* [minrep_c]   :math:`r_c \ge w_c`
* [onepar_d]   :math:`\sum_{c\in d} w_c \le 1` (unless ``multi_parallelism``)
* [store_c]    :math:`w_c \le o_{j(c)}`;  [stored_j] :math:`o_j \le \sum_{c \text{ of } j} w_c`
  (so :math:`o_j = 1` iff model *j* has a replica, exactly the evaluator's storage term)
* [storage]    :math:`\sum_j S_j o_j \le C^s` (only if it can bind)
* [place_ic]   :math:`x_{ic} \le z_{ic}`; [single_i] :math:`\sum_c z_{ic} \le 1` (single
  placement only)

With [ub], [minrep], [stored], :math:`w_c = [r_c > 0]` and :math:`o_j = [\exists c\ \text{of}\
j: r_c > 0]` on every feasible integer point, so the MILP objective *is* the evaluator's.

Tightenings (valid inequalities, :class:`milp.index.Tightening`; measured in docs/milp.md)
-----------------------------------------------------------------------------------------
* [link_ic]  :math:`x_{ic} \le v_{ic} w_c`, :math:`v_{ic} = \min(1, \rho^{max}\mu_{ic}\bar
  R_c/\lambda_i)`: facility-location linking with the disaggregated variable upper bound.
  Valid because a route with traffic needs a replica of its configuration. Together with
  [minrep] it makes the LP pay a whole replica for an open configuration, which is the
  fixed charge the plain LP (replicas = fractional load ≈ 1 % of a replica) ignores.
* [cover_err_i] :math:`\sum_{c \in C^\varepsilon_i} w_c + u_i \ge 1`: a served mix with mean
  error ≤ ε_i contains a route whose own error is ≤ ε_i, and that route's configuration
  is open; so :math:`\sum_{C^\varepsilon_i} w_c \ge \sum_c x_{ic} = 1 - u_i`. The LP
  otherwise blends a cheap high-error route with a sliver of a good one; this row makes
  it open (a fractional) whole good configuration. [cover_delay_i] is the same for the
  average-delay form. Written only where :math:`C^\varepsilon_i` is a proper subset.
* [round_ic] (off by default) :math:`r_c \ge \lceil a\rceil w_c - \frac{a}{f}(w_c - x_{ic})`
  with :math:`a = a_{ic}/\rho^{max} > 1` non-integer, :math:`f = a - \lfloor a \rfloor`:
  the hull of :math:`\{r \ge a x,\ r \in \mathbb Z,\ 0 \le x \le w\}`.

Tried and not kept: the per-route error inequality
:math:`(e_{ic}-\varepsilon_i)x_{ic} \le \sum_{c'}(\varepsilon_i - e_{ic'})^+ x_{ic'}` is
[err_i] with terms dropped, so it cannot move the LP; symmetry breaking among the
configurations of a deployment is void here (they differ in price, μ and D, so no two
are interchangeable, and [onepar] already picks one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pulp

from hetserve.instances.model import Instance
from hetserve.milp.index import ModelIndex, Tightening, binding_storage_capacity, make_index
from hetserve.milp.reductions import Reductions


@dataclass(frozen=True, eq=False)
class Formulation:
    """The PuLP model and its variables, keyed by instance indices.

    ``r[c]``, ``w[c]`` by configuration index ``c`` (into ``instance.routes.configs``),
    ``o[j]`` by model index, ``u[i]`` by query-type index, ``x[i, c]`` and ``z[i, c]`` by
    route. ``index`` holds the shared index sets (:class:`milp.index.ModelIndex`).
    """

    problem: pulp.LpProblem
    r: dict[int, pulp.LpVariable]
    w: dict[int, pulp.LpVariable]
    o: dict[int, pulp.LpVariable]
    u: dict[int, pulp.LpVariable]
    x: dict[tuple[int, int], pulp.LpVariable]
    z: dict[tuple[int, int], pulp.LpVariable]
    index: ModelIndex

    @property
    def n_vars(self) -> int:
        return len(self.problem.variables())

    @property
    def n_rows(self) -> int:
        return self.problem.numConstraints()


def rounding_cut(a: float) -> tuple[float, float] | None:
    """``(⌈a⌉, a/f)`` of the integer-rounding cut for load ``a`` (None if a ≤ 1 or integral)."""
    f = a - math.floor(a)
    if a <= 1 or f < 1e-6 or f > 1 - 1e-6:
        return None
    return float(math.ceil(a)), a / f


def build(instance: Instance, *, lp_relaxation: bool = False,
          tightening: Tightening | None = None, reductions: Reductions | None = None,
          upper_bound: float | None = None) -> Formulation:
    """The MILP of the module docstring as a ``pulp.LpProblem`` (pure: nothing is solved).

    ``lp_relaxation`` makes every variable continuous; ``tightening`` selects the valid
    inequalities (default: the measured set, :class:`Tightening`); ``reductions``
    (default: none, the complete model) and ``upper_bound`` as in
    :func:`milp.index.make_index`."""
    idx = make_index(instance, tightening, reductions, upper_bound)
    tg = idx.tightening
    t = instance.routes
    q = instance.query_types
    T = instance.horizon_h
    rho = instance.max_utilisation
    int_cat = pulp.LpContinuous if lp_relaxation else pulp.LpInteger
    bin_cat = pulp.LpContinuous if lp_relaxation else pulp.LpBinary
    prob = pulp.LpProblem(f"hetserve_{_safe(instance.name)}", pulp.LpMinimize)

    cfg = [int(c) for c in idx.cfg]
    r = {c: prob.add_variable(f"r_{c}", 0, float(idx.rbar[k]), int_cat) for k, c in enumerate(cfg)}
    w = {c: prob.add_variable(f"w_{c}", 0, 1, bin_cat) for c in cfg}
    o = {int(j): prob.add_variable(f"o_{int(j)}", 0, 1, bin_cat) for j in idx.models}
    u = {i: prob.add_variable(f"u_{i}", 0, q[i].max_unmet) for i in range(len(q))}
    routes = [(int(i), cfg[k]) for i, k in zip(idx.ri, idx.rk)]
    x = {(i, c): prob.add_variable(f"x_{i}_{c}", 0, 1) for i, c in routes}
    z: dict[tuple[int, int], pulp.LpVariable] = {}
    if instance.single_placement:
        z = {(i, c): prob.add_variable(f"z_{i}_{c}", 0, 1, bin_cat) for i, c in routes}
    by_type: dict[int, list[int]] = {i: [] for i in range(len(q))}
    by_cfg: dict[int, list[int]] = {c: [] for c in cfg}
    for i, c in routes:
        by_type[i].append(c)
        by_cfg[c].append(i)
    sizes = {j: instance.models[j].weight_gb_fp16 for j in o}
    lam = [qt.rate_per_s for qt in q]
    secs = 3600.0 * T

    rental = [(r[c], T * float(t.price_per_replica_hour[c])) for c in cfg]
    storage = [(o[j], T * instance.storage_price_per_gb_h * sizes[j]) for j in o]
    prob.setObjective(affine(
        rental + storage
        + [(x[i, c], secs * q[i].delay_penalty * lam[i] * float(t.delay[i, c])) for i, c in routes]
        + [(u[i], secs * q[i].unmet_penalty * lam[i]) for i in u]))

    def add(expr: list[tuple[pulp.LpVariable, float]], sense: int, rhs: float, name: str) -> None:
        lhs = affine(expr)
        row = lhs <= rhs if sense == le else lhs >= rhs if sense == ge else lhs == rhs
        prob.addConstraint(row, name)

    le, ge, eq = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ
    for i in range(len(q)):
        add([(x[i, c], 1.0) for c in by_type[i]] + [(u[i], 1.0)], eq, 1.0, f"demand_{i}")
    for c in cfg:
        add([(x[i, c], float(t.load_per_share[i, c])) for i in by_cfg[c]] + [(r[c], -rho)],
            le, 0.0, f"cap_{c}")
    for i, qt in enumerate(q):
        if any(t.error[i, c] > qt.error_slo for c in by_type[i]):
            add([(x[i, c], float(t.error[i, c]) - qt.error_slo) for c in by_type[i]], le, 0.0,
                f"err_{i}")
    if instance.delay_constraint in ("average", "both"):
        for i, qt in enumerate(q):
            if any(t.delay[i, c] > qt.delay_slo_s for c in by_type[i]):
                add([(x[i, c], float(t.delay[i, c]) - qt.delay_slo_s) for c in by_type[i]], le,
                    0.0, f"avgdelay_{i}")
    if instance.budget is not None:
        add(rental + storage, le, instance.budget, "budget")
    gpu_pos = {g.name: n for n, g in enumerate(instance.gpus)}
    for name, limit, ks in idx.gpu_rows:
        add([(r[cfg[k]], float(t.gpu_use[cfg[k], gpu_pos[name]])) for k in ks], le,
            float(limit), f"avail_{gpu_pos[name]}")
    for k, c in enumerate(cfg):
        add([(r[c], 1.0), (w[c], -float(idx.rbar[k]))], le, 0.0, f"ub_{c}")
    if tg.min_replica:
        for c in cfg:
            add([(w[c], 1.0), (r[c], -1.0)], le, 0.0, f"minrep_{c}")
    for ks in idx.deployments:
        add([(w[cfg[k]], 1.0) for k in ks], le, 1.0, f"onepar_{cfg[ks[0]]}")
    for k, c in enumerate(cfg):
        add([(w[c], 1.0), (o[int(idx.models[idx.cfg_model_pos[k]])], -1.0)], le, 0.0,
            f"store_{c}")
    of_model: dict[int, list[int]] = {j: [] for j in o}
    for k, c in enumerate(cfg):
        of_model[int(idx.models[idx.cfg_model_pos[k]])].append(c)
    for j in o:
        add([(o[j], 1.0)] + [(w[c], -1.0) for c in of_model[j]], le, 0.0, f"stored_{j}")
    storage_cap = binding_storage_capacity(instance, idx)
    if storage_cap is not None:
        add([(o[j], sizes[j]) for j in o], le, storage_cap, "storage")
    if instance.single_placement:
        for i, c in routes:
            add([(x[i, c], 1.0), (z[i, c], -1.0)], le, 0.0, f"place_{i}_{c}")
        for i in range(len(q)):
            add([(z[i, c], 1.0) for c in by_type[i]], le, 1.0, f"single_{i}")
    if tg.link:
        for n, (i, c) in enumerate(routes):
            add([(x[i, c], 1.0), (w[c], -float(idx.link_coef[n]))], le, 0.0, f"link_{i}_{c}")
    if tg.rounding:
        for i, c in routes:
            cut = rounding_cut(float(t.load_per_share[i, c]) / rho)
            if cut is not None:
                ceil_a, slope = cut
                # r ≥ ⌈a⌉ w − slope (w − x)  ⇔  (⌈a⌉ − slope) w + slope x − r ≤ 0
                add([(w[c], ceil_a - slope), (x[i, c], slope), (r[c], -1.0)], le, 0.0,
                    f"round_{i}_{c}")
    if tg.cover:
        for i, qt in enumerate(q):
            good = [c for c in by_type[i] if t.error[i, c] <= qt.error_slo]
            if len(good) < len(by_type[i]):
                add([(w[c], 1.0) for c in good] + [(u[i], 1.0)], ge, 1.0, f"cover_err_{i}")
        if instance.delay_constraint in ("average", "both"):
            for i, qt in enumerate(q):
                good = [c for c in by_type[i] if t.delay[i, c] <= qt.delay_slo_s]
                if len(good) < len(by_type[i]):
                    add([(w[c], 1.0) for c in good] + [(u[i], 1.0)], ge, 1.0, f"cover_delay_{i}")
    return Formulation(prob, r, w, o, u, x, z, idx)


def affine(terms: list[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """``Σ coef·var`` built in one call on PuLP 3 (list constructor) and PuLP ≥ 4 (``from_list``:
    PuLP 4's expression wraps a Rust object and no longer takes a list)."""
    from_list = getattr(pulp.LpAffineExpression, "from_list", None)
    return from_list(terms) if from_list is not None else pulp.LpAffineExpression(terms)


def columns(problem: pulp.LpProblem) -> list[pulp.LpVariable]:
    """The problem's variables in the column order of PuLP's HiGHS model (PuLP ≥ 4:
    ``exported_variables()``; PuLP 3: ``variables()``)."""
    return getattr(problem, "exported_variables", problem.variables)()


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def solution_arrays(form: Formulation) -> tuple[np.ndarray, np.ndarray]:
    """``(r, x)`` over all configurations from the PuLP variables' values."""
    inst = form.index.instance
    r = np.zeros(len(inst.routes))
    x = np.zeros((len(inst.query_types), len(inst.routes)))
    for c, var in form.r.items():
        r[c] = var.varValue or 0.0
    for (i, c), var in form.x.items():
        x[i, c] = var.varValue or 0.0
    return r, x
