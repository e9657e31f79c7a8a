"""Formulas the course teaches, in one place, used by the model checks, notebooks and tests.

* :mod:`~crmsim.analysis.stats` — confidence intervals for means and proportions;
* :mod:`~crmsim.analysis.clv` — discounting and customer lifetime value;
* :mod:`~crmsim.analysis.survival` — the shifted-beta-geometric model and empirical survival;
* :mod:`~crmsim.analysis.bgnbd` — the BG/NBD model: expected purchases (unconditional and given
  a customer's history), P(alive), the posterior of a customer's rate and drop-out probability,
  and maximum likelihood;
* :mod:`~crmsim.analysis.gamma_gamma` — the Gamma–Gamma model of spend per purchase: maximum
  likelihood, posterior and conditional expected spend;
* :mod:`~crmsim.analysis.mle` — log-parameterised maximum likelihood from several starts, with
  standard errors from the Hessian;
* :mod:`~crmsim.analysis.rfm` — the recency/frequency/monetary summary and RFM scores of a
  transactions table;
* :mod:`~crmsim.analysis.abc` — ABC (Pareto) classes of customers by value;
* :mod:`~crmsim.analysis.bass` — the Bass diffusion model of adoption;
* :mod:`~crmsim.analysis.erlang` — Erlang B/C for staffing the service desk;
* :mod:`~crmsim.analysis.lifecycle` — the value of each lifecycle stage: revenue per
  customer-period and churn hazard per stage;
* :mod:`~crmsim.analysis.tenure` — profit per customer by year of tenure (Reichheld & Sasser);
* :mod:`~crmsim.analysis.uplift` — a campaign's incremental effect from a control group, and a
  two-model uplift table.
"""

from crmsim.analysis.abc import ABC_CLASSES, abc_classes, abc_table
from crmsim.analysis.bass import bass_adoption_rate, bass_cdf, bass_peak_time
from crmsim.analysis.bgnbd import (
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_posterior,
    bgnbd_probability_alive,
    bgnbd_total_log_likelihood,
    fit_bgnbd,
)
from crmsim.analysis.clv import (
    cac_payback,
    clv_constant_retention,
    clv_sbg,
    discount_factor,
    historical_clv,
)
from crmsim.analysis.erlang import agents_needed, erlang_b, erlang_c
from crmsim.analysis.gamma_gamma import (
    fit_gamma_gamma,
    gamma_gamma_expected_spend,
    gamma_gamma_log_likelihood,
    gamma_gamma_mean_spend,
    gamma_gamma_posterior,
    gamma_gamma_total_log_likelihood,
)
from crmsim.analysis.lifecycle import value_by_stage
from crmsim.analysis.rfm import quantile_scores, rfm_scores, rfm_summary
from crmsim.analysis.stats import mean_ci, proportion_ci
from crmsim.analysis.survival import (
    contract_renewals,
    empirical_survival,
    fit_sbg,
    sbg_log_likelihood,
    sbg_retention,
    sbg_survival,
)
from crmsim.analysis.tenure import profit_by_tenure
from crmsim.analysis.uplift import cell_uplift, incremental_estimate

__all__ = [
    "ABC_CLASSES",
    "abc_classes",
    "abc_table",
    "bass_adoption_rate",
    "bass_cdf",
    "bass_peak_time",
    "cac_payback",
    "clv_sbg",
    "historical_clv",
    "contract_renewals",
    "fit_sbg",
    "sbg_log_likelihood",
    "quantile_scores",
    "rfm_scores",
    "agents_needed",
    "erlang_b",
    "erlang_c",
    "bgnbd_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_conditional_expected_purchases",
    "bgnbd_posterior",
    "bgnbd_probability_alive",
    "bgnbd_total_log_likelihood",
    "fit_gamma_gamma",
    "gamma_gamma_expected_spend",
    "gamma_gamma_log_likelihood",
    "gamma_gamma_mean_spend",
    "gamma_gamma_posterior",
    "gamma_gamma_total_log_likelihood",
    "clv_constant_retention",
    "discount_factor",
    "empirical_survival",
    "fit_bgnbd",
    "mean_ci",
    "incremental_estimate",
    "cell_uplift",
    "proportion_ci",
    "rfm_summary",
    "sbg_retention",
    "sbg_survival",
    "profit_by_tenure",
    "value_by_stage",
]
