"""The fluid LP of arXiv 2602.02987 (queueing/fluid.py): hand-solved instances, Prop. 3.2,
the SLI rows, the separate-pricing identity (paper eq. 42) and the sizing variant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hetserve.instances.errors import InstanceError
from hetserve.instances.iteration import (
    PAPER_QWEN8B_A100,
    IterationModel,
    mixed_solo_capacity,
)
from hetserve.queueing.fluid import (
    FluidProblem,
    RequestClass,
    ServiceLevels,
    paper_problem,
    size_fluid,
    solve_fluid,
)

# c = 0.02 s, a = 1e-4 s/token, b0 = 100: tau_mix(200) = 0.02 + 1e-4 * 100 = 0.03 s.
HAND = IterationModel(c=0.02, a=1e-4, b0=100)


def test_iteration_model_matches_the_papers_calibration() -> None:
    m = PAPER_QWEN8B_A100
    assert m.alpha == pytest.approx(0.0174)
    assert m.beta == pytest.approx(6.2e-5)
    assert m.gamma == pytest.approx(45.45)
    assert m.tau_mix(256) == pytest.approx(0.0174 + 6.2e-5 * 256)
    # gamma * tau = 1.51 >= 15/16: the paper's instance satisfies Prop. 3.2's condition
    assert m.decode_buffer_free(256, 16)
    with pytest.raises(InstanceError, match=r"iteration\.alpha"):
        IterationModel.from_mixed_fit(0.05, 1e-4, 45.45)  # intercept above 1/gamma


def test_prefill_bound_two_class_lp_solved_by_hand() -> None:
    """B so large that decode never binds: only sum x <= 1 does. Each unit of x_i earns
    w_i * mu_p,i = w_i C / (P_i tau): class B (w = 0.1*600 + 0.2*600 = 180, mu_p = 200/(600*0.03)
    = 11.11/s) earns 2000 per unit, class A (w = 50, mu_p = 22.2/s) 1111. Class B alone
    would need x = 20/11.11 = 1.8 > 1, so the optimum is x = (0, 1), revenue 2000, and the
    prefill capacity's shadow price is 2000."""
    prob = FluidProblem((RequestClass("A", 300, 100, 20.0, 1.0),
                         RequestClass("B", 600, 600, 20.0, 1.0)), HAND, 1000, 200, "bundled")
    plan = solve_fluid(prob)
    assert plan.optimal
    mu_b = 200 / (600 * 0.03)
    assert plan.x == pytest.approx((0.0, 1.0), abs=1e-9)
    assert plan.revenue == pytest.approx(180 * mu_b, rel=1e-9)
    assert plan.q_prefill == pytest.approx((20.0, 20.0 - mu_b), rel=1e-9)  # (λ - μ_p x)/θ
    assert plan.q_decode == pytest.approx((0.0, 0.0), abs=1e-9)
    # Σx <= 1 and Σy_s <= B(1 − Σx) are both tight at x = 1, y_s = 0 (degenerate), so
    # HiGHS may put the price on either; one more GPU share (both right-hand sides up by
    # 1 and B) is worth 2000 either way.
    prices = plan.shadow_prices
    assert prices["prefill_capacity"] + 1000 * prices["solo_decode_capacity"] == pytest.approx(
        180 * mu_b, rel=1e-6)
    assert plan.throughput == pytest.approx((0.0, mu_b), rel=1e-9)
    assert plan.mixed_gpus(10) == 10


def test_underloaded_lp_serves_everything() -> None:
    """No abandonment and spare capacity: x_i = λ_i P_i τ / C, revenue Σ w_i λ_i."""
    prob = FluidProblem((RequestClass("A", 300, 100, 0.5), RequestClass("B", 600, 200, 0.2)),
                        HAND, 16, 200, "bundled")
    plan = solve_fluid(prob)
    assert plan.optimal
    assert plan.x == pytest.approx((0.5 * 300 * 0.03 / 200, 0.2 * 600 * 0.03 / 200), rel=1e-9)
    assert plan.revenue == pytest.approx(0.5 * 50 + 0.2 * 100, rel=1e-9)
    assert plan.shadow_prices["prefill_capacity"] == pytest.approx(0.0, abs=1e-9)


def test_overloaded_without_abandonment_is_infeasible() -> None:
    prob = FluidProblem((RequestClass("A", 3000, 100, 100.0),), HAND, 16, 200, "bundled")
    assert solve_fluid(prob).status == "infeasible"


@pytest.mark.parametrize("seed", range(12))
def test_decode_buffer_eliminated_when_solo_is_more_efficient(seed: int) -> None:
    """Prop. 3.2: γτ >= (B−1)/B ⇒ an optimal plan with q_d = 0 (the one we return)."""
    rng = np.random.default_rng(seed)
    gamma = float(rng.uniform(20, 80))
    alpha = float(rng.uniform(0.3, 0.9)) / gamma
    it = IterationModel.from_mixed_fit(alpha, float(rng.uniform(2e-5, 2e-4)), gamma)
    batch, chunk = int(rng.integers(4, 64)), int(rng.choice([128, 256, 512]))
    classes = tuple(RequestClass(f"c{i}", float(rng.uniform(50, 4000)),
                                 float(rng.uniform(50, 2000)), float(rng.uniform(0.1, 3)),
                                 float(rng.uniform(0.01, 1))) for i in range(3))
    prob = FluidProblem(classes, it, batch, chunk, "bundled")
    assert it.decode_buffer_free(chunk, batch)
    plan = solve_fluid(prob)
    assert plan.optimal
    assert max(plan.q_decode) == pytest.approx(0.0, abs=1e-7)


def test_separate_pricing_is_the_class_free_objective_of_eq_42() -> None:
    prob = paper_problem("separate")
    plan = solve_fluid(prob)
    tau, gamma = prob.tau, prob.iteration.gamma
    eq42 = (0.1 * 256 / tau * sum(plan.x) + 0.2 / tau * sum(plan.y_mixed)
            + 0.2 * gamma * sum(plan.y_solo))
    assert plan.revenue == pytest.approx(eq42, rel=1e-9)
    bundled = solve_fluid(paper_problem("bundled"))
    assert max(bundled.q_decode) == pytest.approx(0.0, abs=1e-9)


def test_tpot_row_binds_and_is_priced() -> None:
    base = solve_fluid(paper_problem("bundled"))
    floor = 1 / PAPER_QWEN8B_A100.gamma
    eta = floor + 0.5 * (base.average_tpot_s - floor)
    capped = solve_fluid(FluidProblem(**{**paper_problem("bundled").__dict__,
                                         "sli": ServiceLevels(tpot_s=eta)}))
    assert capped.optimal
    assert capped.average_tpot_s <= eta + 1e-9
    assert capped.average_tpot_s == pytest.approx(eta, rel=1e-6)  # binding
    assert capped.revenue < base.revenue
    assert capped.shadow_prices["tpot"] > 0


def test_fairness_rows() -> None:
    prob = paper_problem("bundled")
    plan = solve_fluid(FluidProblem(**{**prob.__dict__,
                                       "sli": ServiceLevels(prefill_fairness=0.0)}))
    assert plan.x[0] == pytest.approx(plan.x[1], abs=1e-9)
    free = solve_fluid(prob)
    assert plan.revenue < free.revenue
    dec = solve_fluid(FluidProblem(**{**prob.__dict__,
                                      "sli": ServiceLevels(decode_fairness=0.5)}))
    assert abs(dec.y_solo[0] - dec.y_solo[1]) <= 0.5 + 1e-9


@pytest.mark.parametrize("prompt,output,rate", [(300, 1000, 100.0), (3000, 400, 7.0),
                                                (8000, 50, 2.0)])
def test_sizing_matches_the_single_class_closed_form(prompt: int, output: int,
                                                     rate: float) -> None:
    cap = mixed_solo_capacity(PAPER_QWEN8B_A100, prompt, output, batch=16, chunk=256)
    size = size_fluid([RequestClass("one", prompt, output, rate)], PAPER_QWEN8B_A100,
                      batch=16, chunk=256)
    assert size.gpus_lp == pytest.approx(cap.gpus(rate), rel=1e-7)
    assert size.gpus == math.ceil(cap.gpus(rate) - 1e-9)
    assert cap.requests_per_gpu_s == pytest.approx(1 / cap.gpus_per_rps)


def test_sizing_with_a_tpot_cap_needs_more_gpus() -> None:
    cls = [RequestClass("a", 3000, 100, 20.0)]
    free = size_fluid(cls, PAPER_QWEN8B_A100, batch=16, chunk=256)
    share = sum(free.prefill_gpus) / free.gpus_lp
    tight = 1 / PAPER_QWEN8B_A100.gamma + 0.3 * (paper_problem().average_tpot(share)
                                                 - 1 / PAPER_QWEN8B_A100.gamma)
    capped = size_fluid(cls, PAPER_QWEN8B_A100, batch=16, chunk=256, tpot_s=tight)
    assert capped.gpus_lp > free.gpus_lp


def test_an_instance_becomes_classes_on_one_deployment() -> None:
    from hetserve.instances import read_instance
    from hetserve.queueing.fluid import problem_from_instance

    inst = read_instance("paper-base")
    total = problem_from_instance(inst, model="Llama-3.1-8B-Instruct", gpu="A100-40GB",
                                  gpus=None)
    assert [c.rate for c in total.classes] == [q.rate_per_s for q in inst.query_types]
    assert total.batch >= 2 and total.iteration.gamma > 0
    size = size_fluid(total.classes, total.iteration, batch=total.batch, chunk=total.chunk)
    # the fewest GPUs serve every class in full; one GPU fewer cannot (θ = 0 → infeasible)
    per_gpu = problem_from_instance(inst, model="Llama-3.1-8B-Instruct", gpu="A100-40GB",
                                    gpus=size.gpus)
    assert solve_fluid(per_gpu).optimal
    if size.gpus > 1:
        fewer = problem_from_instance(inst, model="Llama-3.1-8B-Instruct", gpu="A100-40GB",
                                      gpus=size.gpus - 1)
        assert solve_fluid(fewer).status == "infeasible"
    with pytest.raises(InstanceError, match="--model"):
        problem_from_instance(inst, model="nope", gpu="A100-40GB", gpus=4)


def test_fit_measured_recovers_a_piecewise_linear_iteration_time() -> None:
    from hetserve.instances.iteration import fit_measured

    truth = PAPER_QWEN8B_A100
    chunks = (128, 256, 512, 1024)
    fit = fit_measured(chunks, tuple(truth.tau_mix(c) for c in chunks), truth.c)
    assert fit.model.c == pytest.approx(truth.c)
    assert fit.model.a == pytest.approx(truth.a, rel=1e-9)
    assert fit.model.b0 == pytest.approx(truth.b0, rel=1e-9)
    assert fit.r_squared == pytest.approx(1.0)
    with pytest.raises(InstanceError, match="chunks"):
        fit_measured((256, 256), (0.03, 0.03), 0.02)
