"""The policy protocol: the one shape every firm policy has.

A *policy* is something the firm (or its market) does to customers beyond the core model of
buying, experiencing and leaving: a complaint desk, a points programme, a churn warning,
win-back, acquisition, a rival's pull. Each lives in one module of :mod:`crmsim.policies` and is
listed once in the registry (:data:`crmsim.policies.REGISTRY`). The model (:mod:`crmsim.model`)
knows this protocol and the registry, never a policy by name; a policy imports the model core
(churn rule, lifecycle, streams, event kinds), never the market module. Adding a policy is one
new module plus one registry line (see ``docs/adding_a_policy.md``).

A policy class declares, as class attributes:

* ``SECTIONS`` — its scenario sections (``warning:``, ``rewards:`` ...), each a pydantic model
  derived from :class:`crmsim.schema.Section`; the scenario schema is assembled from the
  registry, so ``crmsim scenarios schema``, the defaults and the did-you-mean errors cover the
  policy with nothing else to edit;
* ``KPIS`` — the KPIs it reports, name → meaning (they join :data:`crmsim.KPI_DESCRIPTIONS`),
  ``COSTS`` — the ledger accounts it books, name → meaning (each is a KPI and a column of the
  timeseries, and is part of ``costs`` and ``profit``), ``EVENTS`` — the event kinds it records;
* ``PURPOSES`` — the numbers of its own random streams, if it draws any (each unique in the
  registry; the core uses 0 and 1): ``market.streams.stream(purpose, owner)`` gives a stream
  that depends only on the run's seed, the purpose and the owner (a customer id, a scan number).

One instance is made per run, for every registered policy; ``enabled`` says whether it takes
part (default: its section's ``enabled`` switch). The model asks only enabled policies, and only
for the hooks a policy *defines*: the run builds, once, a list per hook of the policies that
override it (:func:`hook_lists`), so a hook no policy uses costs nothing on the hot path.

The hooks (all optional; the model calls them at these moments):

``start()``
    the run begins (start periodic processes: scans, classifications, acquisition);
``acquired(customers, traits)``
    customers were created (a batch; ``traits`` holds their uniforms by trait name), before
    their lives start;
``customer_started(customer)``
    a customer's life (first, or again after a win-back) has just started;
``price(customer, amount) -> amount``
    the price of a purchase or payment (discounts);
``paid(customer, amount)``
    a purchase or payment was recorded (points);
``rate_factor(customer) -> float``
    multiplies a non-contractual customer's purchase rate for the next gap;
``service_failure(customer, draws) -> float | None``
    does this experience fail? Returns the drop in perceived quality (None: no failure);
``recover(customer, complaint_u, recovery_u)``
    a generator run by the customer's process after a failure (complaint, desk, outcome);
``churn_terms(customer, terms)``
    add named pushes to the customer's *intention* to leave (the churn logit; a dict in the
    order of the registry): a rival's pull, a retention offer ...;
``barriers(customer, barriers)``
    add named switching barriers (β · b ≤ 0) that hold back a customer who wants to leave:
    points a member would forfeit ... (see :mod:`crmsim.model.churn`);
``churn_decided(customer, u, churned, terms, barriers)``
    a churn decision was taken with uniform ``u`` (score it, log the outcome);
``churned(customer)``
    a customer left;
``records(n) -> dict``
    columns of the firm's own records by customer id (e.g. complaints logged);
``snapshot(now, last, row)``
    the periodic report at ``now`` (book running costs since ``last``; add stock columns);

and, after the run: ``kpis()``, ``customer_columns(customers)`` (columns of the customers
table), ``period_columns(period_ends)`` (columns of the timeseries) and ``tables()`` (extra
result tables, name → builder).
"""

from __future__ import annotations

from typing import Any, ClassVar

HOOKS = ("start", "acquired", "customer_started", "price", "paid", "rate_factor",
         "service_failure", "recover", "churn_terms", "barriers", "churn_decided", "churned",
         "records",
         "snapshot")


class Policy:
    """Base class of every policy (see the module docstring)."""

    #: scenario sections the policy owns, key → pydantic model (the first is its own, ``cfg``)
    SECTIONS: ClassVar[dict[str, type]] = {}
    KPIS: ClassVar[dict[str, str]] = {}
    COSTS: ClassVar[dict[str, str]] = {}
    EVENTS: ClassVar[tuple[str, ...]] = ()
    PURPOSES: ClassVar[tuple[int, ...]] = ()
    #: whether churned customers may come back (their random draws are kept)
    REVIVES: ClassVar[bool] = False

    def __init__(self, market):
        self.market = market
        self.cfg = getattr(market.scenario, next(iter(self.SECTIONS)))

    @property
    def enabled(self) -> bool:
        """Whether the policy takes part in this run (its section's ``enabled`` switch)."""
        return bool(getattr(self.cfg, "enabled", True))

    @classmethod
    def check(cls, scenario) -> None:
        """Raise ValueError if the scenario combines this section with others wrongly."""

    def shock_times(self) -> list[float]:
        """Times of scheduled changes this policy makes (loyalty is read at the first one)."""
        return []

    # ------------------------------------------------------------------ results

    def kpis(self) -> dict[str, float]:
        return {}

    def customer_columns(self, customers) -> dict[str, Any]:
        return {}

    def period_columns(self, period_ends):
        return None

    def tables(self) -> dict[str, Any]:
        return {}


def overrides(policy: Policy, hook: str) -> bool:
    """Whether ``policy``'s class defines ``hook`` (the base class does not)."""
    return any(hook in vars(klass) for klass in type(policy).__mro__
               if klass is not Policy and klass is not object)


def hook_lists(policies: list[Policy]) -> dict[str, list]:
    """Bound hook methods by hook name, in registry order, of the enabled policies that
    define them."""
    return {hook: [getattr(p, hook) for p in policies if p.enabled and overrides(p, hook)]
            for hook in HOOKS}
