"""Fuzzed classes documents: the parser and the LP either answer or raise InstanceError
naming a field (which the CLI turns into exit 2), never another exception."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hetserve.instances.errors import InstanceError
from hetserve.queueing.fluid import problem_from_dict, solve_fluid

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
NUMBERS = st.one_of(st.floats(-1.0, 5000.0), st.integers(-2, 5000), SCALARS)


def rarely(bad: st.SearchStrategy, good: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` nine times in ten, ``bad`` otherwise (so whole documents are often valid)."""
    return st.integers(0, 9).flatmap(lambda k: bad if k == 9 else good)


def good_or(low: float, high: float) -> st.SearchStrategy:
    """Mostly a valid number in [low, high], sometimes anything."""
    return rarely(NUMBERS, st.floats(low, high))


def classes() -> st.SearchStrategy:
    one = st.fixed_dictionaries(
        {"prompt_tokens": good_or(1, 8000), "output_tokens": good_or(1, 4000),
         "rate": good_or(0, 5)},
        optional={"name": rarely(SCALARS, st.text(min_size=1, max_size=4)),
                  "abandonment": good_or(0, 2)})
    return rarely(SCALARS, st.lists(one, min_size=1, max_size=3,
                                    unique_by=lambda c: c.get("name")))


ITERATION = rarely(SCALARS, st.one_of(
    st.fixed_dictionaries({"alpha": good_or(1e-4, 0.02), "beta": good_or(1e-6, 1e-3),
                           "gamma": good_or(10, 50)}),
    st.fixed_dictionaries({"c": good_or(0.01, 0.1), "a": good_or(1e-6, 1e-3),
                           "b0": good_or(0, 500)})))

DOCS = st.fixed_dictionaries(
    {"classes": classes(), "iteration": ITERATION,
     "batch": rarely(NUMBERS, st.integers(2, 256)),
     "chunk": rarely(NUMBERS, st.integers(16, 4096))},
    optional={
        "gpus": rarely(NUMBERS, st.integers(1, 1000)),
        "pricing": rarely(SCALARS, st.sampled_from(["bundled", "separate"])),
        "prefill_price": good_or(0, 1), "decode_price": good_or(0, 1),
        "sli": rarely(SCALARS, st.dictionaries(
            st.sampled_from(["tpot_s", "prefill_fairness", "decode_fairness", "x"]),
            good_or(0, 0.1), max_size=2)),
    })


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS)
def test_fuzzed_documents_fail_only_with_a_named_field(doc: dict) -> None:
    doc = json.loads(json.dumps(doc))  # what a file could hold (NaN/inf as JSON extensions)
    try:
        problem, _ = problem_from_dict(doc)
    except InstanceError as exc:
        assert str(exc)
        return
    plan = solve_fluid(problem)
    assert plan.status in ("optimal", "infeasible")
    if plan.optimal:
        assert math.isfinite(plan.revenue) and plan.revenue >= -1e-9
        assert sum(plan.x) <= 1 + 1e-7
