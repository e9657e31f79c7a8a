"""The market: a SimPy environment with customers, the firm's books and its policies.

:class:`Market` owns everything of one run: the environment, the run's random streams, the
recorder, the customers and one instance of every registered policy
(:data:`crmsim.policies.REGISTRY`). It creates customers (the initial base at t = 0; policies
such as acquisition add more), starts each customer's life (a chain of wake-ups on SimPy's
clock, :mod:`crmsim.model.customer`) and a reporting process that takes a snapshot every
``report_every``. The actions customers trigger — purchase, payment, experience, churn
decision, stage change — are methods here because they touch the firm's books; the rules
behind them live in their own modules (satisfaction, lifecycle, churn), and at each of these
moments the market calls the hooks of the policies that take part (:mod:`crmsim.model.policy`).
It never names a policy.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np
import simpy
from scipy import special

from crmsim.distributions import GammaGammaSpend, trait_quantile
from crmsim.model import churn as churn_rule
from crmsim.model import collector, lifecycle
from crmsim.model.clock import Clock
from crmsim.model.customer import ContractualLife, Customer, NoncontractualLife, Traits
from crmsim.model.policy import hook_lists
from crmsim.model.population import POPULATION_SOURCE, Population, read_population
from crmsim.model.satisfaction import experience_rule
from crmsim.policies import REGISTRY, cost_accounts
from crmsim.results import ACQUIRED, CHURN, PAID_KINDS, PAYMENT, PURCHASE, STAGE, Recorder
from crmsim.streams import ROW_BLOCKS, Column, DrawBlock, Purpose, RandomStreams, event_draws

_EXPERIENCE, _SPEND, _CHURN, _TIMING = Column.EXPERIENCE, Column.SPEND, Column.CHURN, Column.TIMING
_COMPLAINT, _RECOVERY = Column.COMPLAINT, Column.RECOVERY
#: the per-event draws the core model reads (policies may read more: Policy.DRAW_COLUMNS)
_CORE_COLUMNS = (_TIMING, _CHURN, _EXPERIENCE, _SPEND)
_DECLINE, _WON_BACK = lifecycle.DECLINE, lifecycle.WON_BACK

#: uniforms drawn for each customer's traits (columns of the trait block, fixed forever so that
#: adding a trait never shifts the others)
TRAIT_COLUMNS = (
    "segment", "purchase_rate", "churn_propensity", "spend_rate", "price_sensitivity",
    "complaint_propensity", "initial_expectation", "enrolment", "quality_fit",
    # customers of a population file: still active at t = 0? the gap to the next purchase
    "alive", "next_purchase",
)
#: the traits drawn for every customer (by name, for the ``acquired`` hook)
_TRAITS = TRAIT_COLUMNS[1:9]
_TRAIT_BLOCK = 16  # room for traits added later


@dataclass(frozen=True)
class SegmentParams:
    """A segment's resolved parameters (the base scenario with the segment's overrides)."""

    name: str
    share: float
    purchase_rate: object
    churn_base: object
    spend: object
    switching_cost: object
    fixed_switching_cost: float = field(init=False)  # procedural + financial
    #: the Gamma–Gamma shape p of the segment's spend (NaN: a constant spend)
    spend_shape: float = field(init=False)

    def __post_init__(self):
        fixed = self.switching_cost.procedural + self.switching_cost.financial
        object.__setattr__(self, "fixed_switching_cost", fixed)
        shape = float(self.spend.p) if isinstance(self.spend, GammaGammaSpend) else math.nan
        object.__setattr__(self, "spend_shape", shape)


def resolve_segments(scenario) -> list[SegmentParams]:
    base = dict(
        purchase_rate=scenario.purchase.rate,
        churn_base=scenario.churn.base,
        spend=scenario.purchase.spend,
        switching_cost=scenario.switching_cost,
    )
    if not scenario.customers.segments:
        return [SegmentParams("all", 1.0, **base)]
    segments = []
    for name, seg in scenario.customers.segments.items():
        params = {k: (getattr(seg, k) if getattr(seg, k) is not None else v)
                  for k, v in base.items()}
        if seg.switching_cost is not None:  # the keys the segment sets, over the base's
            own = seg.switching_cost
            params["switching_cost"] = scenario.switching_cost.model_copy(
                update={k: getattr(own, k) for k in own.model_fields_set})
        segments.append(SegmentParams(name, seg.share, **params))
    return segments


#: from this many initial customers a run has its memory collapsed into huge pages at each
#: report, the first once the customers exist (collector.use_huge_pages): a large run's events
#: are spread over a gigabyte, and with 4 KB pages nearly every one of its memory fetches also
#: misses the address-translation cache (benchmarks/RESULTS.md: 6–12% of a million-customer
#: run). Measured at a million; below half a million the collapse (about a second a
#: gigabyte) is not shown to pay.
HUGE_PAGES_FROM = 500_000

#: windows of the run's clock: the heap holds about 1/_WINDOWS of the pending events
_WINDOWS = 512
_SMALLEST_WINDOW = 2.0 ** -1074  # the smallest positive float (a horizon below 2.5e-321)

#: SimPy priority of the reporter's wake-ups: after every NORMAL (0 URGENT, 1 NORMAL) event at
#: the same time, so a snapshot at t sees everything that happened at t
_LATE = 2


def _late_timeout(env: simpy.Environment, delay: float) -> simpy.Event:
    event = simpy.Event(env)
    event._ok, event._value = True, None  # a triggered event, as Timeout builds it
    env.schedule(event, _LATE, delay)
    return event


def loyalty_type(satisfaction: float, repeat_purchases: int, threshold: int) -> str:
    """Dick & Basu (1994): relative attitude (satisfaction ≥ 0) × repeat patronage."""
    attitude, behaviour = satisfaction >= 0, repeat_purchases >= threshold
    if attitude and behaviour:
        return "true"
    if attitude:
        return "latent"
    return "spurious" if behaviour else "none"


class Market:
    """One run of the model. Use :func:`crmsim.simulate` rather than this class directly."""

    def __init__(self, scenario, seed_sequence: np.random.SeedSequence):
        self.scenario = scenario
        #: SimPy's environment, keeping only the next ~1/512 of the run in its heap (clock)
        self.env = Clock(window=max(scenario.horizon / _WINDOWS, _SMALLEST_WINDOW))
        self.streams = RandomStreams(seed_sequence)
        self.recorder = Recorder(scenario.economics.discount_rate, cost_accounts())
        self.segments = resolve_segments(scenario)
        self._segment_edges = np.cumsum([s.share for s in self.segments])[:-1]
        # the Gamma–Gamma shape p of each segment (NaN: constant spend); one shared float each
        self._segment_shapes = [s.spend_shape for s in self.segments]
        self.customers: list[Customer] = []
        self.traits = Traits()  # the customers' latent traits, one column each
        #: the population file the initial customers came from (None: new customers)
        self.history: Population | None = None
        self.contractual = scenario.market.setting == "contractual"
        # hot-path settings as plain attributes
        self.contract_period = scenario.contract.period
        self.contract_price = scenario.contract.price
        self.decline_recency = scenario.lifecycle.decline_recency
        coefficients = scenario.churn.coefficients
        self.beta_satisfaction = coefficients.satisfaction
        self.beta_switching = coefficients.switching_cost
        self.satisfaction_cfg = scenario.satisfaction
        self.lifecycle_cfg = scenario.lifecycle
        quality = scenario.satisfaction.service_quality
        #: the cost of the service level per active customer per time unit (convex in it)
        self.quality_cost_rate = scenario.satisfaction.quality_cost * quality / (1.0 - quality)
        economics = scenario.economics
        #: how much more a mature customer pays (buying more + price premium)
        self.tenure_uplift = economics.spend_growth + economics.price_premium
        self.price_index = economics.price_index
        #: the price's push on the intention to leave, per unit of price sensitivity
        self.price_push = coefficients.price * math.log(economics.price_index)
        self._upkeep = any(s.switching_cost.upkeep for s in self.segments)
        #: per customer (by id), for the running costs that depend on each one's lifetime:
        #: active or not, its segment, when its current lifetime began and when it was acquired
        #: (kept only when switching-cost upkeep or a serving cost that declines is booked)
        self._lifetimes = self._upkeep or bool(economics.cost_to_serve
                                               and economics.serve_cost_decline)
        self._is_active, self._segment_of = array("b"), array("h")
        self._life_began, self._acquired_at = array("d"), array("d")
        # running aggregates for the timeseries
        self.stage_counts = dict.fromkeys(lifecycle.ACTIVE_STAGES, 0)
        self.active = 0
        self.satisfaction_sum = 0.0
        self._active_time = 0.0  # ∫ active customers dt up to _active_since
        self._active_since = 0.0
        self._active_time_reported = 0.0
        # every registered policy; the hooks of those that take part, per moment
        self.policies = [policy(self) for policy in REGISTRY]
        self.hooks = hook_lists(self.policies)
        recover = self.hooks["recover"]
        if len(recover) > 1:
            raise RuntimeError("two policies handle complaints: "
                               + ", ".join(type(h.__self__).__name__ for h in recover))
        self.recover = recover[0] if recover else None
        self._keep_draws = any(p.enabled and p.REVIVES for p in self.policies)
        #: the columns of per-event draws kept for each customer (up to the last one read)
        self.draw_width = 1 + max(_CORE_COLUMNS + tuple(
            column for p in self.policies if p.enabled for column in p.DRAW_COLUMNS))
        # the rules and hook lists every event goes through, looked up once
        self._experience = experience_rule(self.satisfaction_cfg)
        self._stage_after = lifecycle.stage_rule(self.lifecycle_cfg)
        self._price_hooks, self._paid_hooks = self.hooks["price"], self.hooks["paid"]
        self._failure_hooks = self.hooks["service_failure"]
        self._term_hooks, self._barrier_hooks = self.hooks["churn_terms"], self.hooks["barriers"]
        self._decided_hooks = self.hooks["churn_decided"]
        self._huge_pages = False  # (set when the initial customers exist: _run)
        #: no policy adds to or watches churn decisions: decide without building the terms
        self._plain_decisions = not (self._term_hooks or self._barrier_hooks
                                     or self._decided_hooks)
        #: the customers' lives (:mod:`crmsim.model.customer`): one object for all of them
        self.life = (ContractualLife if self.contractual else NoncontractualLife)(self)

    def policy(self, section: str):
        """The policy of this run that owns scenario section ``section`` (e.g. "warning")."""
        for p in self.policies:
            if section in p.SECTIONS:
                return p
        raise KeyError(f"no policy owns section {section!r}")

    # ------------------------------------------------------------------ running

    def run(self):
        with collector.paused():  # millions of objects, no cycles to find: see collector
            return self._run()

    def _run(self):
        sc = self.scenario
        if sc.customers.population is None:
            self.add_customers(0, sc.customers.initial, at=0.0)
        else:
            population = read_population(sc.customers.population)
            self.add_customers(0, population.size, at=0.0, population=population)
        # a large run: its memory collapsed into huge pages at each report (the first, at
        # t = 0, once the initial customers exist; later ones take what the run allocated
        # since: blocks of draws, new arenas) — see collector.use_huge_pages
        self._huge_pages = len(self.customers) >= HUGE_PAGES_FROM
        for start in self.hooks["start"]:
            start()
        self.env.process(self._reporter(sc.report_every))
        self.env.process(self._loyalty_reference(self.loyalty_reference_time))
        self.env.run(until=sc.horizon)
        if not self.recorder.snapshots or self.recorder.snapshots[-1]["time"] < sc.horizon:
            self._snapshot(sc.horizon)
        self._release_running_state()
        return self

    def _release_running_state(self) -> None:
        """The run is over: let go of what only a running market needs, before the tables are
        built and for as long as a result is kept.

        A market runs once (``env.run(until=horizon)``); afterwards its pending events (every
        active customer's next wake-up, the processes of the desk and of the policies) and the
        customers' blocks of draws are never used again. ``env.now`` and everything the tables
        and KPIs read stay; the recorder is sealed (its columns become numpy arrays, once) and
        the memory freed is given back to the operating system before the tables are built.
        """
        self.env.drop_pending()
        for c in self.customers:
            c.draws = c.handling = None
        self.recorder.seal()
        collector.give_back_free_memory()

    @property
    def loyalty_reference_time(self) -> float:
        """When loyalty types are read for the churn-by-type KPIs: the first switching-cost
        shock or competitor change if there is one, else half-way through the run."""
        times = [shock.at for seg in self.segments for shock in seg.switching_cost.shocks]
        times += [t for p in self.policies if p.enabled for t in p.shock_times()]
        return min(times) if times else self.scenario.horizon / 2

    def _loyalty_reference(self, at: float):
        yield self.env.timeout(at)
        threshold = self.lifecycle_cfg.formation_after
        for c in self.customers:
            if c.active:
                c.loyalty_at_reference = loyalty_type(c.satisfaction, c.purchases - 1, threshold)

    def _reporter(self, every: float):
        """Snapshots at 0, every, 2·every, ... each after all other events at that time."""
        env = self.env
        while True:
            self._snapshot(env.now)
            yield _late_timeout(env, every)

    def _snapshot(self, now: float) -> None:
        if self._huge_pages:
            collector.use_huge_pages()
        last = self.recorder.snapshots[-1]["time"] if self.recorder.snapshots else now
        fixed = self.scenario.economics.fixed_cost
        if fixed:
            self.recorder.book(now, "fixed_cost", fixed * (now - last))
        row = {"time": now, "active": self.active}
        row.update({f"active_{s}": n for s, n in self.stage_counts.items()})
        for snapshot in self.hooks["snapshot"]:  # running costs, stocks by tier ...
            snapshot(now, last, row)
        economics = self.scenario.economics
        active_time = self.customer_time(now)
        customer_time = active_time - self._active_time_reported
        if economics.cost_to_serve:
            cost = customer_time
            if economics.serve_cost_decline:  # mature customers cost less to serve
                cost -= economics.serve_cost_decline * self._grown_tenure_since(last, now)
            self.recorder.book(now, "serve_cost", economics.cost_to_serve * cost)
        if self.quality_cost_rate:
            self.recorder.book(now, "quality_cost", self.quality_cost_rate * customer_time)
        if self._upkeep:  # switching costs kept up for every active customer since the last report
            self.recorder.book(now, "barrier_cost", self._barrier_upkeep_since(last, now))
        self._active_time_reported = active_time
        row["mean_satisfaction"] = self.satisfaction_sum / self.active if self.active else math.nan
        self.recorder.snapshot(row)

    def customer_time(self, now: float) -> float:
        """∫₀ⁿᵒʷ active customers dt: the customer-time so far (for costs per customer)."""
        return self._active_time + self.active * (now - self._active_since)

    @staticmethod
    def _life_start(c: Customer) -> float:
        """When the customer's current lifetime began (acquisition, or its win-back)."""
        back = c.won_back_at
        return c.acquired_at if back != back else back  # NaN: never won back

    def _active_lifetimes(self, last: float) -> tuple[np.ndarray, np.ndarray]:
        """(ids, since): the active customers, in id order, and when each one's time since the
        report at ``last`` began (``last``, or the start of a lifetime that began after it)."""
        ids = np.flatnonzero(np.array(self._is_active, dtype=np.int8))
        return ids, np.maximum(last, np.array(self._life_began)[ids])

    def _barrier_upkeep_since(self, last: float, now: float) -> float:
        """Σ over active customers of their barrier upkeep since ``last`` (or since their
        lifetime began), at each segment's rate now.

        Computed as a vector, with exactly the arithmetic of :meth:`barrier_upkeep` ×
        (now − since) per customer and summed in id order by Python's ``sum``: the same
        number, to the last bit, as the loop over customers it replaces (IEEE operations
        element by element, the same sum in the same order), at a fraction of its cost.
        """
        ids, since = self._active_lifetimes(last)
        rates = np.array([self.barrier_upkeep_rate(seg) for seg in self.segments])
        segment = np.array(self._segment_of, dtype=np.int16)[ids]
        return sum((rates[segment] * (now - since)).tolist())

    def _grown_tenure_since(self, last: float, now: float) -> float:
        """Σ over active customers of :meth:`_tenure_integral` from ``last`` (or the start of
        their lifetime) to ``now``, vectorized with the same arithmetic, ``math.exp`` element
        by element (numpy's exp may round differently) and Python's ``sum`` in id order."""
        ids, since = self._active_lifetimes(last)
        tau = self.scenario.economics.tenure_maturity
        a = np.array(self._acquired_at)[ids]
        grown_since = np.array(list(map(math.exp, (-(since - a) / tau).tolist())))
        grown_now = np.array(list(map(math.exp, (-(now - a) / tau).tolist())))
        value = (now - since) - tau * (grown_since - grown_now)
        return sum(np.where(now <= since, 0.0, value).tolist())

    def _tenure_integral(self, c: Customer, start: float, end: float) -> float:
        """∫ tenure_factor(t − acquired_at) dt over [start, end] (the grown part of the tenure
        effects over that time), in closed form."""
        if end <= start:
            return 0.0
        tau = self.scenario.economics.tenure_maturity
        a = c.acquired_at
        return (end - start) - tau * (math.exp(-(start - a) / tau) - math.exp(-(end - a) / tau))

    # ------------------------------------------------------------------ customers

    def add_customers(self, first_id: int, count: int, at: float, cost: float = 0.0,
                      selectivity: float = 0.0, source: str | None = None,
                      population: Population | None = None) -> list[Customer]:
        """Create customers ``first_id, ..., first_id + count − 1`` at time ``at``.

        Traits and the first block of per-event draws come from each customer's own streams,
        drawn for all of them in one vectorized call. ``cost`` is the acquisition cost per
        customer, carried by the ``acquired`` event (with ``source`` as its details).
        ``selectivity`` s keeps the customer's uniforms for churn propensity and purchase rate
        in the better (1 − s) of their range (targeted acquisition). Starts each customer's
        life.

        With a ``population`` (:mod:`crmsim.model.population`; ``count`` is its size) the
        customers enter with their histories: acquisition time, purchases so far and the firm's
        records of them; their traits come from their own distributions in the file (those it
        does not give, from the scenario), drawn with the same uniforms; a customer who is
        gone stays silent, an active one resumes buying (:meth:`NoncontractualLife.resume`).
        """
        if count <= 0:
            return []
        streams = self.streams
        u = streams.uniform_rows(Purpose.TRAITS, 0, first_id, count, _TRAIT_BLOCK)
        col = {name: u[:, k] for k, name in enumerate(TRAIT_COLUMNS)}
        if selectivity:
            col["churn_propensity"] = col["churn_propensity"] * (1 - selectivity)
            col["purchase_rate"] = selectivity + col["purchase_rate"] * (1 - selectivity)
        seg_index = np.searchsorted(self._segment_edges, col["segment"], side="right")
        values = {name: np.empty(count) for name in _TRAITS}
        for k, seg in enumerate(self.segments):
            rows = seg_index == k
            for trait, dist in (("purchase_rate", seg.purchase_rate),
                                ("churn_propensity", seg.churn_base), ("spend_rate", seg.spend)):
                values[trait][rows] = trait_quantile(dist, col[trait][rows])
        alive = None
        if population is not None:  # the customers' own distributions replace the scenario's
            alive, own = population.draw(col)
            values.update(own)
        spend_shapes = np.asarray(self._segment_shapes)[seg_index]  # NaN: a constant spend
        cust = self.scenario.customers
        values["price_sensitivity"] = trait_quantile(cust.price_sensitivity,
                                                     col["price_sensitivity"])
        values["complaint_propensity"] = trait_quantile(cust.complaint_propensity,
                                                        col["complaint_propensity"])
        sat = self.satisfaction_cfg
        values["initial_expectation"] = sat.initial_expectation + (
            sat.expectation_noise * special.ndtri(col["initial_expectation"]))
        fit_sd = sat.fit_sd
        values["fit"] = (fit_sd * special.ndtri(col["quality_fit"]) if fit_sd
                         else np.zeros(count))
        gamma_gamma = ~np.isnan(spend_shapes)
        values["spend_level"] = np.where(gamma_gamma, spend_shapes / values["spend_rate"],
                                         values["spend_rate"])
        # Gamma–Gamma ν (spend = Gamma(p) draw / ν); 0: a constant spend
        spend_rate = np.where(gamma_gamma, values["spend_rate"], 0.0)
        block0 = DrawBlock(streams.event_rows(0, first_id, count, spend_shapes), first_id, 0,
                           ROW_BLOCKS[0], self.draw_width)
        if first_id != len(self.traits):
            raise RuntimeError(f"customers are added in id order: the next id is "
                               f"{len(self.traits)}, not {first_id}")
        self.traits.extend({**values, "spend_rate": spend_rate})
        record, start, segments, traits = (self.recorder.event, self.life.start,
                                           self.segments, self.traits)
        created = []
        for cid, k, expectation in zip(range(first_id, first_id + count), seg_index.tolist(),
                                       values["initial_expectation"].tolist()):
            c = Customer(cid, segments[k], at)
            c.traits = traits
            c.expectation = expectation
            c.draws = block0
            created.append(c)
        if population is not None:
            for c, acquired_at, purchases in zip(created, population.acquired_at.tolist(),
                                                 population.purchases.tolist()):
                c.acquired_at = acquired_at
                c.purchases = purchases
        for acquired in self.hooks["acquired"]:  # e.g. programme enrolment
            acquired(created, col, values)
        if population is not None:
            self._add_lifetimes(created, seg_index, alive)
            self._enter_with_history(created, population, alive, col["next_purchase"])
            return created
        started = self.hooks["customer_started"]
        self._add_lifetimes(created, seg_index)
        for c in created:
            self.customers.append(c)
            record(at, c.id, ACQUIRED, cost, source)
            self.set_stage(c, lifecycle.EXPLORATION)
            start(c)
            for hook in started:  # e.g. the customer's routine desk contacts
                hook(c)
        self._change_active(count)
        return created

    def _add_lifetimes(self, created: list[Customer], seg_index: np.ndarray,
                       alive: np.ndarray | None = None) -> None:
        """Extend the per-customer columns of the running costs (see ``_lifetimes``)."""
        if not self._lifetimes:
            return
        if created and created[0].id != len(self._is_active):
            raise RuntimeError(f"customer {created[0].id} created after "
                               f"{len(self._is_active)} others: ids must follow each other")
        acquired = np.array([c.acquired_at for c in created], dtype=float)
        self._acquired_at.frombytes(acquired.tobytes())
        self._life_began.frombytes(acquired.tobytes())
        self._segment_of.frombytes(seg_index.astype(np.int16).tobytes())
        flags = np.ones(len(created), np.int8) if alive is None else alive.astype(np.int8)
        self._is_active.frombytes(flags.tobytes())

    def _enter_with_history(self, created: list[Customer], population: Population,
                            alive: np.ndarray, next_purchase: np.ndarray) -> None:
        """Customers of a population file enter at ``env.now`` (0) with their histories: the
        active ones resume buying, those already gone stay silent (see
        :mod:`crmsim.model.population`)."""
        now = self.env.now
        record, resume = self.recorder.event, self.life.resume
        self.history = population
        started = self.hooks["customer_started"]
        cfg = self.lifecycle_cfg
        for c, is_alive, last, u in zip(created, alive.tolist(),
                                        population.last_purchase.tolist(),
                                        next_purchase.tolist()):
            self.customers.append(c)
            record(now, c.id, ACQUIRED, 0.0, POPULATION_SOURCE)
            if not is_alive:  # dropped out right after its last purchase, before the run
                c.churned_at = last
                c.active = False
                c.churn_reason = churn_rule.BEFORE_START
                self.set_stage(c, lifecycle.CHURNED)
                continue
            self.set_stage(c, lifecycle.stage_after_experience(c.purchases - 1, c.satisfaction,
                                                               cfg))
            resume(c, u, last)
            for hook in started:
                hook(c)
        self._change_active(int(alive.sum()))

    def customer_records(self) -> dict[str, np.ndarray]:
        """What the firm's own records say about each customer now (arrays indexed by customer
        id): ``revenue``, ``last_purchase`` (−inf before any), ``complaints`` (logged at a
        desk; 0 without one) and whatever else the policies record — derived from the recorded
        events, as a CRM database would, so the hot path keeps no extra per-customer tallies.
        Customers of a population file add their history (revenue and last purchase before
        t = 0)."""
        n = len(self.customers)
        cols = self.recorder.columns()
        paid = np.isin(cols["kind"], PAID_KINDS)
        ids = cols["customer_id"][paid]
        revenue = np.bincount(ids, weights=cols["amount"][paid], minlength=n)
        last = np.full(n, -np.inf)
        if self.history is not None:  # what the records held at t = 0
            known = self.history.size
            revenue = revenue.astype(float)  # (integer when nothing was paid yet)
            revenue[:known] += self.history.revenue
            last[:known] = self.history.last_purchase
        np.maximum.at(last, ids, cols["time"][paid])
        return {"revenue": revenue, "last_purchase": last, **self.policy_records()}

    def policy_records(self) -> dict[str, np.ndarray]:
        """The part of :meth:`customer_records` that the policies record (``complaints``, 0
        without a desk, and whatever else they record), without the revenue and last
        purchase derived from the events."""
        n = len(self.customers)
        records = {"complaints": np.zeros(n, dtype=np.int64)}
        for hook in self.hooks["records"]:
            records.update(hook(n))
        return records

    def _change_active(self, delta: int) -> None:
        now = self.env.now
        self._active_time += self.active * (now - self._active_since)
        self._active_since = now
        self.active += delta

    # ------------------------------------------------------------------ actions

    def set_stage(self, c: Customer, stage: str) -> None:
        if stage == c.stage:
            return
        counts = self.stage_counts
        if c.stage in counts:
            counts[c.stage] -= 1
        if stage in counts:
            counts[stage] += 1
        c.stage = stage
        self.recorder.event(self.env._now, c.id, STAGE, 0.0, stage)  # noqa: SLF001 (hot path)

    def experience(self, c: Customer, noise: float, drop: float | None = None) -> None:
        """An experience with standard-normal quality noise: satisfaction, then stage.

        ``drop`` lowers the perceived quality (a service failure; None: no failure).
        """
        before = c.satisfaction
        shift = self.traits.fit[c.id]
        if drop is not None:
            shift -= drop
        self._experience(c, noise, shift)
        self.satisfaction_sum += c.satisfaction - before
        stage = self._stage_after(c.purchases - 1, c.satisfaction)
        if stage != c.stage and not (c.stage == _WON_BACK
                                     and c.won_back_at == self.env.now):
            self.set_stage(c, stage)

    def _service_failure(self, c: Customer, draws) -> float | None:
        """Whether a policy makes this experience a failure: the drop in quality, or None."""
        drop = None
        for failure in self._failure_hooks:
            drop = failure(c, draws)
        return drop

    def _update_stage(self, c: Customer) -> None:
        if c.stage == _WON_BACK and c.won_back_at == self.env.now:
            return  # the returning purchase itself: still 'won back'
        stage = self._stage_after(c.purchases - 1, c.satisfaction)
        if stage != c.stage:
            self.set_stage(c, stage)

    def _pay(self, c: Customer, amount: float, kind: int, regular: bool = True) -> None:
        """Money received: only recorded now; revenue, margin and NPV are derived at the end.

        Policies may change the price (a member's tier discount, a win-back discount) and
        react to the payment (points). A regular purchase or payment advances the customer's
        event number (the row of draws its next event takes); an extra one does not.
        """
        c.purchases += 1
        if self.price_index != 1.0:
            amount *= self.price_index
        if regular:
            c.event_number += 1
        now = self.env._now  # noqa: SLF001 — SimPy's clock, read without its property (hot path)
        if self.tenure_uplift:  # Reichheld & Sasser: mature customers spend and pay more
            amount *= 1.0 + self.tenure_uplift * self.scenario.economics.tenure_factor(
                now - c.acquired_at)
        for price in self._price_hooks:
            amount = price(c, amount)
        self.recorder.event(now, c.id, kind, amount)
        for paid in self._paid_hooks:
            paid(c, amount)

    def _draws(self, c: Customer) -> tuple:
        """(data, start): where the customer's next row of per-event draws is (the row of its
        event number), drawing its next block when it has outgrown the one it holds."""
        block = c.draws
        row = c.event_number - block.first_row
        if 0 <= row < block.rows:  # DrawBlock.start, written out: this runs at every event
            return block.data, ((c.id - block.first_owner) * block.rows + row) * block.width
        block = c.draws = self.streams.own_block(c.id, c.event_number, c.segment.spend_shape,
                                                 self.draw_width)
        return block.data, block.start(c.id, c.event_number)

    def purchase(self, c: Customer, uniforms=None):
        """A non-contractual purchase: spend, experience, stage.

        Returns the event's churn and timing uniforms and, for a failure, the customer's
        (complaint, recovery) uniforms (else None).

        A regular purchase takes the customer's next row of per-event draws. A policy that
        makes an *extra* purchase (a response to a campaign) passes ``uniforms``: one uniform
        per :class:`~crmsim.streams.Column`, from the policy's own stream. The extra purchase
        then draws its spend, experience and failure from them and leaves the customer's rows
        alone, so every regular purchase after it sees exactly the draws it would have seen
        without it (common random numbers: the difference is the extra purchase and what it
        did to the customer, nothing else).
        """
        if uniforms is None:
            data, at = self._draws(c)
            regular = True
        else:
            data, at = event_draws(uniforms, c.segment.spend_shape), 0
            regular = False
        traits = self.traits
        nu = traits.spend_rate[c.id]
        self._pay(c, data[at + _SPEND] / nu if nu else traits.spend_level[c.id], PURCHASE,
                  regular)
        if self._failure_hooks:
            drop = self._service_failure(c, data[at:at + self.draw_width])
            self.experience(c, data[at + _EXPERIENCE], drop)
            if drop is not None:
                return (data[at + _CHURN], data[at + _TIMING],
                        (data[at + _COMPLAINT], data[at + _RECOVERY]))
        else:
            self.experience(c, data[at + _EXPERIENCE])
        return data[at + _CHURN], data[at + _TIMING], None

    def payment(self, c: Customer) -> None:
        """A contractual payment (at acquisition and at each renewal)."""
        self._pay(c, self.contract_price, PAYMENT)
        self._update_stage(c)

    def period_experience(self, c: Customer):
        """A contract period's experience, at its renewal date.

        Returns the churn uniform and, for a failure, the (complaint, recovery) uniforms.
        """
        data, at = self._draws(c)
        drop = (self._service_failure(c, data[at:at + self.draw_width]) if self._failure_hooks
                else None)
        self.experience(c, data[at + _EXPERIENCE], drop)
        return data[at + _CHURN], ((data[at + _COMPLAINT], data[at + _RECOVERY])
                                   if drop is not None else None)

    def add_satisfaction(self, c: Customer, delta: float) -> None:
        """Change a customer's satisfaction outside an experience (keeps the running sum and
        the stage up to date): a complaint's outcome, an unanswered call ..."""
        c.satisfaction += delta
        self.satisfaction_sum += delta
        self._update_stage(c)

    def _shock_factors(self, sc) -> dict[str, float]:
        """Each switching-cost component's multiplier from the shocks that happened by now."""
        factor = {"procedural": 1.0, "financial": 1.0, "relational": 1.0}
        now = self.env.now
        for shock in sc.shocks:
            if shock.at <= now:
                for component in shock.components:
                    factor[component] *= shock.factor
        return factor

    def switching_cost(self, c: Customer) -> float:
        """The customer's switching cost now: procedural + financial + relational(tenure),
        each multiplied by the shocks that have happened (``switching_cost.shocks``)."""
        sc = c.segment.switching_cost
        relational = (sc.relational * -math.expm1(-(self.env._now - c.acquired_at)  # noqa: SLF001
                                                   / sc.relational_buildup)
                      if sc.relational else 0.0)
        if not sc.shocks:
            return c.segment.fixed_switching_cost + relational
        factor = self._shock_factors(sc)
        return (sc.procedural * factor["procedural"] + sc.financial * factor["financial"]
                + relational * factor["relational"])

    def barrier_upkeep(self, c: Customer) -> float:
        """What keeping the customer's procedural and financial switching costs up costs the
        firm per time unit now (``switching_cost.upkeep``; the relational bond is earned)."""
        return self.barrier_upkeep_rate(c.segment)

    def barrier_upkeep_rate(self, segment: SegmentParams) -> float:
        """:meth:`barrier_upkeep` of a customer of ``segment`` now (the same for all of them)."""
        sc = segment.switching_cost
        if not sc.upkeep:
            return 0.0
        factor = self._shock_factors(sc) if sc.shocks else {"procedural": 1.0, "financial": 1.0}
        return sc.upkeep * (sc.procedural * factor["procedural"]
                            + sc.financial * factor["financial"])

    def churn_drivers(self, c: Customer) -> tuple[dict[str, float], dict[str, float]]:
        """(intention terms, barrier terms) of the customer's churn decision now.

        Intention terms are β_k · x_k keyed by the churn reason each stands for; barrier terms
        are β_j · b_j (≤ 0) keyed by the barrier. The one place the churn push is computed:
        the decision uses both, the churn reason is the largest positive intention term, and
        the retention decomposition leaves entries out. The core gives satisfaction (an
        intention) and switching cost (a barrier); policies add theirs in registry order — a
        rival's pull or a retention offer to the intention (hook ``churn_terms``), reward lock-in
        to the barriers (hook ``barriers``).
        """
        terms = {}
        if self.beta_satisfaction:
            after_failure = c.pending_outcome is not None
            terms["service_failure" if after_failure else "dissatisfaction"] = (
                self.beta_satisfaction * (c.satisfaction - c.recovery_bonus))
        if self.price_push:
            terms["price"] = self.price_push * c.price_sensitivity
        for hook in self._term_hooks:
            hook(c, terms)
        barriers = {}
        if self.beta_switching:
            barriers["switching_cost"] = self.beta_switching * self.switching_cost(c)
        for hook in self._barrier_hooks:
            hook(c, barriers)
        return terms, barriers

    def churn_probability(self, c: Customer, leave_out: tuple[str, ...] = ()) -> float:
        """The probability that the customer's next decision is to leave, now (optionally
        leaving some intention or barrier terms out)."""
        terms, barriers = self.churn_drivers(c)
        return churn_rule.probability(
            c.churn_propensity, sum(v for k, v in terms.items() if k not in leave_out),
            sum(v for k, v in barriers.items() if k not in leave_out))

    def decides_to_churn(self, c: Customer, u: float) -> bool:
        """The churn decision with the customer's uniform ``u`` for this event.

        A recovery-paradox bonus lifts satisfaction but not the decision (de Matos et al. 2007:
        the paradox shows in satisfaction, not in repurchase).
        """
        if self._plain_decisions:  # the core's terms only: the same sums, without the dicts
            push = barrier = 0.0
            if self.beta_satisfaction:
                push = self.beta_satisfaction * (c.satisfaction - c.recovery_bonus)
            if self.price_push:
                push += self.price_push * self.traits.price_sensitivity[c.id]
            if self.beta_switching:
                barrier = self.beta_switching * self.switching_cost(c)
            if u < churn_rule.probability(self.traits.churn_propensity[c.id], push, barrier):
                c.churn_reason = churn_rule.reason(self.churn_drivers(c)[0])
                return True
            return False
        terms, barriers = self.churn_drivers(c)
        p = churn_rule.probability(c.churn_propensity, sum(terms.values()),
                                   sum(barriers.values()))
        churned = u < p
        if churned:
            c.churn_reason = churn_rule.reason(terms)
        for decided in self._decided_hooks:
            decided(c, u, churned, terms, barriers)
        return churned

    def churn(self, c: Customer) -> None:
        now = self.env.now
        if self._upkeep and self.recorder.snapshots:  # its barriers since the last report
            since = max(self.recorder.snapshots[-1]["time"], self._life_start(c))
            self.recorder.book(now, "barrier_cost", self.barrier_upkeep(c) * (now - since))
        economics = self.scenario.economics
        if economics.cost_to_serve and economics.serve_cost_decline and self.recorder.snapshots:
            # the serving saved on this customer since the last report (its time until now is
            # in the next report's customer-time)
            since = max(self.recorder.snapshots[-1]["time"], self._life_start(c))
            self.recorder.book(now, "serve_cost", -economics.cost_to_serve
                               * economics.serve_cost_decline
                               * self._tenure_integral(c, since, now))
        self.set_stage(c, lifecycle.CHURNED)
        c.churned_at = now
        c.active = False
        if self._lifetimes:
            self._is_active[c.id] = 0
        self._change_active(-1)
        self.satisfaction_sum -= c.satisfaction
        self.recorder.event(now, c.id, CHURN, details=c.churn_reason)
        for churned in self.hooks["churned"]:  # forfeit points, plan a win-back ...
            churned(c)
        if not self._keep_draws:
            c.draws = c.handling = None  # never needed again

    def drop(self, c: Customer) -> None:
        """The firm stops serving the customer (e.g. tiering.drop_unprofitable)."""
        c.churn_reason = churn_rule.DROPPED
        self.churn(c)

    def revive(self, c: Customer, expectation_lift: float, event: int) -> None:
        """A churned customer comes back (a win-back): a second lifetime starts now.

        Records ``event`` (the reviving policy's kind); the stage is won_back, satisfaction
        starts neutral, expectations are raised by ``expectation_lift``; the customer's life
        restarts with a purchase (payment) and its per-event draws continue from its next event
        number.
        """
        now = self.env.now
        c.churned_at = math.nan
        c.active = True
        if self._lifetimes:
            self._is_active[c.id] = 1
            self._life_began[c.id] = self._life_start(c)
        c.churn_reason = None
        c.satisfaction = 0.0
        c.expectation += expectation_lift
        self._change_active(1)
        self.recorder.event(now, c.id, event)
        self.set_stage(c, lifecycle.WON_BACK)
        self.life.start(c)
        for hook in self.hooks["customer_started"]:
            hook(c)
