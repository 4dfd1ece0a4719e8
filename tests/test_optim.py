"""The shared LR schedule (warm-up + cosine, saved and resumed) and the clipped update."""

from __future__ import annotations

import math

import pytest
import torch

from pipeline.optim import WarmupCosine, clipped_step, warmup_cosine_scale


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=lr)


def test_schedule_shape() -> None:
    kw = {"warmup_steps": 10, "total_steps": 110, "final_scale": 0.1}
    assert warmup_cosine_scale(0, **kw) == pytest.approx(0.1)
    assert warmup_cosine_scale(9, **kw) == pytest.approx(1.0)
    assert warmup_cosine_scale(10, **kw) == pytest.approx(1.0)
    assert warmup_cosine_scale(60, **kw) == pytest.approx(0.55)
    assert warmup_cosine_scale(110, **kw) == pytest.approx(0.1)
    assert warmup_cosine_scale(500, **kw) == pytest.approx(0.1)
    constant = {"warmup_steps": 0, "total_steps": 50, "final_scale": 1.0}
    assert all(warmup_cosine_scale(s, **constant) == 1.0 for s in range(0, 60, 7))


def test_scheduler_sets_the_rate_of_each_step_and_resumes_exactly() -> None:
    def build(opt: torch.optim.Optimizer) -> WarmupCosine:
        return WarmupCosine(
            opt, lambda: 2e-3, warmup_steps=3, total_steps=lambda: 20, final_scale=0.0
        )

    opt = _optimizer()
    sched = build(opt)
    rates = []
    for _ in range(12):
        rates.append(opt.param_groups[0]["lr"])
        sched.step()
    expected = [
        2e-3 * warmup_cosine_scale(s, warmup_steps=3, total_steps=20, final_scale=0.0)
        for s in range(12)
    ]
    assert rates == pytest.approx(expected)
    saved = sched.state_dict()
    assert saved == {"last_step": 12}
    again = _optimizer()
    resumed = build(again)
    resumed.load_state_dict(saved)
    assert again.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    assert math.isfinite(again.param_groups[0]["lr"])


def test_clipped_step_limits_the_gradient_norm() -> None:
    weight = torch.nn.Linear(4, 1, bias=False)
    opt = torch.optim.SGD(weight.parameters(), lr=1.0)
    before = weight.weight.detach().clone()
    loss = 1000.0 * weight(torch.ones(1, 4)).sum()
    value = clipped_step(loss, weight, opt, max_norm=0.5)
    assert value == pytest.approx(float(loss.detach()))
    assert float((weight.weight.detach() - before).norm()) == pytest.approx(0.5, rel=1e-4)
