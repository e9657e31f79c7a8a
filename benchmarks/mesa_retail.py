"""The retail model written the way a Mesa 3 user would write it: a step per day.

Same work as crmsim's retail baseline (no acquisition): Gamma purchase rates, Beta drop-out
propensities, Gamma–Gamma spend, expectation-disconfirmation satisfaction, the logistic drop-out
decision with a satisfaction and a switching-cost term, lifecycle stages. Time is discrete (days),
as Mesa models are: each day every active customer buys with probability 1 − e^(−λ).
Benchmark-only: ``pip install "mesa>=3,<4"``.
"""

from __future__ import annotations

import math

import mesa


class Shopper(mesa.Agent):
    def __init__(self, model, rate, theta, nu, expectation):
        super().__init__(model)
        self.buy_probability = -math.expm1(-rate)
        self.logit = math.log(theta) - math.log1p(-theta)
        self.nu = nu
        self.expectation = expectation
        self.satisfaction = 0.0
        self.purchases = 0
        self.revenue = 0.0
        self.stage = "exploration"
        self.tenure = 0

    def step(self):
        model = self.model
        self.tenure += 1
        if self.random.random() >= self.buy_probability:
            return
        self.purchases += 1
        self.revenue += self.random.gammavariate(model.p, 1.0) / self.nu
        quality = model.quality + model.noise * self.random.gauss(0.0, 1.0)
        value = 0.5 * (quality - model.norm) + (quality - self.expectation)
        self.satisfaction += model.memory * (value - self.satisfaction)
        self.expectation += model.adaptation * (quality - self.expectation)
        repeats = self.purchases - 1
        if self.satisfaction < -0.08:
            self.stage = "decline"
        elif repeats >= 6:
            self.stage = "stability"
        elif repeats >= 2:
            self.stage = "formation"
        if repeats == 0:
            return
        switching = 0.1 + 0.4 * -math.expm1(-self.tenure / 180)
        x = self.logit - 4.0 * self.satisfaction - 1.0 * switching
        if self.random.random() < 1 / (1 + math.exp(-x)):
            model.churned += 1
            self.remove()


class RetailModel(mesa.Model):
    def __init__(self, customers: int, seed: int = 0):
        super().__init__(seed=seed)
        self.p, self.quality, self.noise, self.norm = 6.0, 0.70, 0.12, 0.70
        self.memory, self.adaptation = 0.35, 0.25
        self.churned = 0
        for _ in range(customers):
            Shopper(self, rate=self.random.gammavariate(1.2, 1 / 40),
                    theta=self.random.betavariate(1.2, 8.0),
                    nu=self.random.gammavariate(4.0, 1 / 30),
                    expectation=self.random.gauss(0.70, 0.05))

    def step(self):
        self.agents.shuffle_do("step")


def run(customers: int, days: int = 365, seed: int = 0) -> RetailModel:
    model = RetailModel(customers, seed)
    for _ in range(days):
        model.step()
    return model
