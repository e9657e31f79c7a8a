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
* ``DRAW_COLUMNS`` — the columns of the customers' per-event draws
  (:class:`crmsim.streams.Column`) it reads beyond the core's (timing, churn, experience,
  spend): a run keeps, for every customer, only the columns up to the last one a policy that
  takes part reads (a row passed to a hook has at least those);
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
    a generator of SimPy events that the customer follows after a failure (complaint, desk,
    outcome), as ``yield from`` in a process would — but no process is active while it runs
    (``env.active_process`` is None), so it cannot use preemptive resources or interrupts;
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

and, after the run: ``counterfactual(twin)`` (below), ``kpis()``,
``customer_columns(customers)`` (columns of the customers table),
``period_columns(period_ends)`` (columns of the timeseries) and ``tables()`` (extra result
tables, name → builder).

**The counterfactual run.** A policy whose effect is measured against the model's own truth —
what the same customers would have done, with the same random numbers, without it — declares
``COUNTERFACTUAL = True``. When such a policy takes part, :func:`crmsim.simulate` runs the
scenario a second time *with every policy that declares a counterfactual switched off*
(:meth:`Policy.switched_off`: by default its first section's ``enabled`` set to false) and the
same seed, and hands that finished run (the *twin*: a market whose ``recorder``, ``customers``
and ``customer_records()`` can be read) to each of them through ``counterfactual(twin)``,
before KPIs and tables are built. Because every customer draws from its own streams, a customer
the policy never touched lives exactly the same life in both runs, and for a touched customer
the difference between the runs is the policy's effect on it for these draws — exact, not
estimated (common random numbers). A run in which no such policy takes part is not repeated
and is not changed at all.
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
    DRAW_COLUMNS: ClassVar[tuple[int, ...]] = ()
    #: whether churned customers may come back (their random draws are kept)
    REVIVES: ClassVar[bool] = False
    #: whether simulate() also runs the scenario without this policy (see the module docstring)
    COUNTERFACTUAL: ClassVar[bool] = False

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

    @classmethod
    def switched_off(cls, scenario):
        """``scenario`` with this policy off, for the counterfactual run (its first section's
        ``enabled`` switch set to false; override for a policy switched on otherwise)."""
        return scenario.with_overrides({f"{next(iter(cls.SECTIONS))}.enabled": False})

    def shock_times(self) -> list[float]:
        """Times of scheduled changes this policy makes (loyalty is read at the first one)."""
        return []

    # ------------------------------------------------------------------ results

    def counterfactual(self, twin) -> None:
        """Receive the finished counterfactual run (only a policy with ``COUNTERFACTUAL``)."""

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
