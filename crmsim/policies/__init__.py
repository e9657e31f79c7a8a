"""Firm policies, one module each, and the registry that is the only list of them.

* :mod:`~crmsim.policies.acquisition` — paid and word-of-mouth acquisition (客户开发);
* :mod:`~crmsim.policies.service_desk` — service failures, the desk and complaint handling
  (投诉处理);
* :mod:`~crmsim.policies.rewards` — points, redemptions, expiry and tiers (积分 / 会员等级);
* :mod:`~crmsim.policies.competitor` — a rival's pull on price-sensitive customers (竞争对手);
* :mod:`~crmsim.policies.tiering` — value tiers 关键 / 普通 / 小客户 and what each gets (客户分级);
* :mod:`~crmsim.policies.early_warning` — churn warning scans and retention offers (流失预警);
* :mod:`~crmsim.policies.win_back` — approaching churned customers (客户赢回);
* :mod:`~crmsim.policies.birthday` — a yearly birthday coupon (生日关怀), the worked example of
  ``docs/adding_a_policy.md``.

Every policy implements the protocol of :mod:`crmsim.model.policy`. :data:`REGISTRY` is read by
the scenario schema (each policy's sections), the model (which hooks to call, in this order),
the results (each policy's KPIs, cost accounts, event kinds, columns and tables). Adding a
policy is one module plus one line here.
"""

from __future__ import annotations

# imported in registry order: each module registers its event kinds when imported, so the
# codes of event kinds follow the registry (checked below)
from crmsim.model.policy import Policy
from crmsim.policies.acquisition import AcquisitionPolicy
from crmsim.policies.service_desk import DeskPolicy
from crmsim.policies.rewards import RewardsProgramme
from crmsim.policies.competitor import CompetitorPull
from crmsim.policies.tiering import TieringPolicy
from crmsim.policies.early_warning import EarlyWarningPolicy
from crmsim.policies.win_back import WinBackPolicy
from crmsim.policies.birthday import BirthdayCoupon
from crmsim.results import CORE_COSTS, EVENT_KINDS, KPI_DESCRIPTIONS

#: every policy, in the order the model calls their hooks
REGISTRY: tuple[type[Policy], ...] = (
    AcquisitionPolicy,
    DeskPolicy,
    RewardsProgramme,
    CompetitorPull,
    TieringPolicy,
    EarlyWarningPolicy,
    WinBackPolicy,
    BirthdayCoupon,
)


def _register() -> None:
    """Check that sections, KPIs, event kinds and random streams are unique; publish the
    KPIs."""
    from crmsim.streams import Purpose

    sections: dict[str, str] = {}
    purposes: dict[int, str] = {int(p): f"the core ({p.name})" for p in Purpose}
    kpis = dict(KPI_DESCRIPTIONS)
    for policy in REGISTRY:
        name = policy.__name__
        for key in policy.SECTIONS:
            if key in sections:
                raise RuntimeError(f"{name}: section '{key}' already belongs to {sections[key]}")
            sections[key] = name
        for purpose in policy.PURPOSES:
            if purpose in purposes:
                raise RuntimeError(f"{name}: random stream purpose {purpose} already used by "
                                   f"{purposes[purpose]}")
            purposes[purpose] = name
        for kpi, meaning in {**policy.COSTS, **policy.KPIS}.items():
            if kpi in kpis:
                raise RuntimeError(f"{name}: KPI '{kpi}' is already defined")
            kpis[kpi] = meaning
    KPI_DESCRIPTIONS.update(kpis)
    core = EVENT_KINDS[: len(EVENT_KINDS) - sum(len(p.EVENTS) for p in REGISTRY)]
    expected = [*core, *(kind for policy in REGISTRY for kind in policy.EVENTS)]
    if EVENT_KINDS != expected:
        raise RuntimeError(f"event kinds {EVENT_KINDS} are not in registry order {expected}: "
                           "import the policy modules in registry order")


#: the order of the cost columns of tables (acquisition, then running the firm, then retention);
#: accounts not listed follow in registry order
LEDGER_ORDER = ("acquisition_cost", "fixed_cost", "quality_cost", "desk_cost", "program_cost",
                "serve_cost", "offer_cost", "win_back_cost")


def cost_accounts() -> tuple[str, ...]:
    """Every ledger account, the core's and each policy's, in :data:`LEDGER_ORDER`."""
    accounts = [*CORE_COSTS, *(a for policy in REGISTRY for a in policy.COSTS)]
    return tuple(sorted(accounts, key=lambda a: (LEDGER_ORDER.index(a) if a in LEDGER_ORDER
                                                 else len(LEDGER_ORDER) + accounts.index(a))))


_register()
