"""The service desk and complaint handling (呼叫中心 / 投诉处理), as a real SimPy queue.

The desk is a :class:`simpy.PriorityResource` with one server per agent on duty. Two kinds of
contacts reach it:

* **routine inquiries** — every active customer calls at ``service.contact_rate`` (a Poisson
  stream per customer; each call is its own process, so the customer's calls do not wait for
  each other and the desk sees the superposition of Poisson streams: Poisson arrivals);
* **complaints** — after a service failure the customer complains with its own complaint
  propensity (most dissatisfied customers never do: the complaint iceberg) and waits for the
  outcome before deciding whether to stay.

A caller with finite patience (exponential, mean ``service.patience``) hangs up if not answered
in time. An answered complaint is resolved at first contact with probability
``resolution_probability`` (raised by ``empowerment``); otherwise the firm calls back after
``callback_delay`` and resolves it then with ``callback_resolution``. The outcome is one of
``quick`` (resolved within ``quick_resolution`` of the failure), ``resolved``, ``unresolved``,
``abandoned`` — or ``silent`` for a customer who did not complain; the market turns it into a
change of satisfaction (:class:`crmsim.scenario.Recovery`). A routine inquiry that goes
unanswered costs satisfaction too (``recovery.abandoned``): understaffing is felt.

With a staffing ``schedule`` the resource has as many servers as the busiest shift and an
off-duty process holds the servers that are not on duty (top-priority requests, so an agent
goes off duty when the current call ends — no call is cut).

Everything about each inbound contact is logged in typed columns; KPIs and per-period desk
figures are computed from that log at the end.
"""

from __future__ import annotations

import difflib
import math
from array import array
from typing import Literal

import numpy as np
import pandas as pd
import simpy
from pydantic import Field, model_validator
from scipy import special

from crmsim.distributions import Probability
from crmsim.model.policy import Policy
from crmsim.results import event_kind
from crmsim.schema import Section
from crmsim.streams import Column

INQUIRY, COMPLAINT = 0, 1
SILENT, QUICK, RESOLVED, UNRESOLVED, ABANDONED = (
    "silent", "quick", "resolved", "unresolved", "abandoned")
#: complaint outcomes, best first (the TARP order, with silence between resolved and unresolved)
OUTCOMES = (QUICK, RESOLVED, SILENT, UNRESOLVED, ABANDONED)
_OFF_DUTY = -(10**9)  # off-duty holds are served before any caller
FAILURE, RESOLUTION = event_kind("failure"), event_kind("resolution")
_FAILURE, _COMPLAINT, _RECOVERY = Column.FAILURE, Column.COMPLAINT, Column.RECOVERY
#: random streams of a customer's routine inquiries (gaps) and of its contacts' handling times,
#: patience and callbacks
CONTACTS_PURPOSE, HANDLING_PURPOSE = 2, 3


# --------------------------------------------------------------------------- scenario sections


class Shift(Section):
    """Agents on duty during part of each ``service.schedule_period``."""

    start: float = Field(ge=0, description="start, from the beginning of the period")
    end: float = Field(gt=0, description="end, from the beginning of the period")
    agents: int = Field(ge=0, description="agents on duty in this shift")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError(f"a shift must end after it starts (start {self.start:g}, "
                             f"end {self.end:g})")
        return self


class Recovery(Section):
    """Service recovery: what each complaint outcome does to satisfaction.

    Added to satisfaction (in its units) when the outcome is known; a failure itself lowers the
    experienced quality (``service.failure_severity``). Defaults follow the TARP studies' order:
    quickly resolved > resolved > did not complain (0) > unresolved, and a failed recovery hurts
    again (double deviation).
    """

    quick: float = Field(0.12, description="resolved within service.quick_resolution")
    resolved: float = Field(0.06, description="resolved, but not quickly")
    unresolved: float = Field(-0.08, description="not resolved (after the callback, if any)")
    abandoned: float = Field(
        -0.05, description="hung up before being answered (complaints and routine inquiries)")
    paradox: bool = Field(
        False, description="service-recovery paradox: a quick resolution lifts satisfaction "
        "above its pre-failure level (satisfaction only, not the churn decision)")
    paradox_bonus: float = Field(0.05, ge=0, description="how far above, with paradox on")


class Service(Section):
    """The service desk (呼叫中心) and complaint handling (投诉处理).

    A SimPy PriorityResource with ``agents`` servers. Routine inquiries arrive from every active
    customer at ``contact_rate``; a purchase or renewal fails with ``failure_rate`` and the
    customer then complains with its own complaint propensity and waits for the outcome before
    deciding whether to stay. ``agents: 0`` means no desk (complaints go unanswered).
    """

    agents: int = Field(0, ge=0, description="agents on duty (without a schedule)")
    handle_time: float = Field(0.005, gt=0, description="mean handling time of a contact")
    handle_distribution: Literal["exponential", "lognormal"] = Field(
        "exponential", description="distribution of handling times")
    handle_cv: float = Field(1.0, gt=0, description="coefficient of variation (lognormal)")
    contact_rate: float = Field(
        0.0, ge=0, description="routine inquiries per active customer per time unit")
    failure_rate: Probability = Field(
        0.0, description="probability that a purchase or renewal is a service failure")
    failure_severity: float = Field(0.3, ge=0, description="drop in perceived quality")
    prevention_cost: float = Field(
        0.0, ge=0, description="what keeping failures down costs per active customer per time "
        "unit: prevention_cost × (1 − failure_rate) / failure_rate (halving failures roughly "
        "doubles it)")
    double_deviation: float = Field(
        1.0, ge=0, description="a repeated failure hurts (1 + this) times as much")
    patience: float | None = Field(
        None, gt=0, description="mean caller patience (exponential); null: nobody hangs up")
    sla_target: float = Field(0.00014, gt=0, description="answer within this (service level)")
    resolution_probability: Probability = Field(
        0.7, description="first-contact resolution probability")
    empowerment: Probability = Field(
        0.0, description="share of the unresolved gap that empowered agents close")
    callback_delay: float | None = Field(
        1.0, gt=0, description="an unresolved complaint gets a callback after this; null: none")
    callback_resolution: Probability = Field(0.5, description="resolution probability of it")
    quick_resolution: float = Field(0.1, gt=0, description="resolved within this is 'quick'")
    priority: dict[str, int] = Field(
        default_factory=dict, description="desk priority by segment (lower is served first)")
    complaint_priority: int = Field(
        0, description="added to a complaint's priority (negative: complaints first)")
    schedule: list[Shift] = Field(
        default_factory=list, description="agents by time of period (overrides agents)")
    schedule_period: float = Field(1.0, gt=0, description="length of the schedule's period")
    wage: float = Field(0.0, ge=0, description="cost per agent on duty per time unit")

    @model_validator(mode="after")
    def _prevention_needs_failures(self):
        if self.prevention_cost and not self.failure_rate:
            raise ValueError(f"prevention_cost = {self.prevention_cost:g} needs failure_rate > "
                             "0 (no failures at all would cost an infinite amount)")
        return self
    empowerment_cost: float = Field(
        0.0, ge=0, description="extra cost per agent on duty per time unit at full empowerment "
        "(training, authority to refund): × empowerment")
    recontact_probability: Probability = Field(
        0.0, description="a customer whose complaint ended unresolved or abandoned complains "
        "again with this probability (a repeat complaint)")
    recontact_delay: float = Field(1.0, gt=0, description="time before a repeat complaint")
    max_recontacts: int = Field(2, ge=0, description="repeat complaints per failure at most")


# --------------------------------------------------------------------------- the queue


class ServiceDesk:
    """The desk of one run: queue, staffing, complaint handling and the contact log."""

    def __init__(self, env: simpy.Environment, cfg, streams, segments, on_abandoned=None):
        self.env = env
        self.cfg = cfg
        self.on_abandoned = on_abandoned  # called with a customer whose inquiry went unanswered
        self.streams = streams
        shifts = cfg.schedule
        self.capacity = max((s.agents for s in shifts), default=0) if shifts else cfg.agents
        self.resource = (simpy.PriorityResource(env, capacity=self.capacity)
                         if self.capacity > 0 else None)
        self.priority = {seg.name: cfg.priority.get(seg.name, 0) for seg in segments}
        self.resolution = cfg.resolution_probability + cfg.empowerment * (
            1 - cfg.resolution_probability)
        # contact log: one row per inbound contact
        self.arrival = array("d")
        self.customer = array("q")
        self.wait = array("d")
        self.answered = array("b")
        self.kind = array("b")
        self.busy_time = 0.0  # agent time spent handling (callbacks included)
        self.failures = 0
        self.complaints = 0  # first complaints about a failure
        self.repeat_complaints = 0  # the same failure complained about again
        self.answered_complaints = 0  # complaint contacts answered (repeats included)
        self.resolved_at_first_contact = 0  # ... and resolved by the agent who answered
        self.callbacks = 0
        # (outcome, churned) for every failure followed by a churn decision
        self.outcome_log: list[tuple[str, bool]] = []
        if shifts and self.resource is not None:
            env.process(self._staffing())

    # ------------------------------------------------------------------ staffing

    def on_duty(self, t: float) -> int:
        """Agents on duty at time ``t``."""
        if not self.cfg.schedule:
            return self.cfg.agents
        r = t % self.cfg.schedule_period
        return sum(s.agents for s in self.cfg.schedule if s.start <= r < s.end)

    def agent_time(self, t: float) -> float:
        """∫₀ᵗ agents on duty — for the wage bill and utilization."""
        cfg = self.cfg
        if not cfg.schedule:
            return cfg.agents * t
        period = cfg.schedule_period
        full, rest = divmod(t, period)

        def up_to(r):
            return sum(s.agents * max(0.0, min(s.end, period, r) - s.start)
                       for s in cfg.schedule)

        return full * up_to(period) + up_to(rest)

    def _staffing(self):
        """Hold the servers that are off duty; change at every shift boundary."""
        held: list = []
        cfg = self.cfg
        boundaries = sorted({0.0, *(s.start for s in cfg.schedule),
                             *(min(s.end, cfg.schedule_period) for s in cfg.schedule)})
        boundaries = [b for b in boundaries if b < cfg.schedule_period]
        while True:
            off = self.capacity - self.on_duty(self.env.now)
            while len(held) < off:
                held.append(self.resource.request(priority=_OFF_DUTY))
            while len(held) > off:
                hold = held.pop()
                if hold.triggered:
                    self.resource.release(hold)
                else:
                    hold.cancel()
            r = self.env.now % cfg.schedule_period
            nxt = next((b for b in boundaries if b > r + 1e-12), cfg.schedule_period)
            yield self.env.timeout(nxt - r)

    # ------------------------------------------------------------------ contacts

    def handling_stream(self, customer):
        if customer.handling is None:
            customer.handling = self.streams.stream(HANDLING_PURPOSE, customer.id, "uniform")
        return customer.handling

    def _handle_time(self, u: float) -> float:
        cfg = self.cfg
        if cfg.handle_distribution == "exponential":
            return -cfg.handle_time * math.log1p(-u)
        sigma2 = math.log1p(cfg.handle_cv**2)
        mu = math.log(cfg.handle_time) - sigma2 / 2
        return math.exp(mu + math.sqrt(sigma2) * float(special.ndtri(u)))

    def contact(self, customer, kind: int):
        """One inbound contact (a SimPy process body); returns True if answered.

        Draws (handling time, patience) from the customer's own handling stream, always both,
        so that a change of patience does not shift handling times.
        """
        env, cfg = self.env, self.cfg
        stream = self.handling_stream(customer)
        handle = self._handle_time(stream.next())
        u_patience = stream.next()
        arrival = env.now
        if self.resource is None:  # nobody to answer
            self._log(customer, arrival, math.nan, False, kind)
            return False
        priority = self.priority[customer.segment.name] - customer.priority_boost + (
            cfg.complaint_priority if kind == COMPLAINT else 0)
        with self.resource.request(priority=priority) as request:
            if cfg.patience is None:
                yield request
            else:
                patience = -cfg.patience * math.log1p(-u_patience)
                outcome = yield request | env.timeout(patience)
                if request not in outcome:
                    self._log(customer, arrival, env.now - arrival, False, kind)
                    if kind == INQUIRY and self.on_abandoned is not None:
                        self.on_abandoned(customer)
                    return False
            self._log(customer, arrival, env.now - arrival, True, kind)
            yield env.timeout(handle)
            self.busy_time += handle
        return True

    def _log(self, customer, arrival: float, wait: float, answered: bool, kind: int) -> None:
        """A contact's row, written when it is answered or abandoned (contacts still queued at
        the horizon are censored: not in the log)."""
        self.arrival.append(arrival)
        self.customer.append(customer.id)
        self.wait.append(wait)
        self.answered.append(answered)
        self.kind.append(kind)

    def inquiries(self, customer):
        """A customer's routine inquiries, while it is a customer."""
        env, rate = self.env, self.cfg.contact_rate
        gaps = self.streams.stream(CONTACTS_PURPOSE, customer.id, "exponential")
        while True:
            yield env.timeout(gaps.next() / rate)
            if not customer.active:
                return
            env.process(self.contact(customer, INQUIRY))

    def _callback(self, customer):
        """The firm calls back (an outbound contact: no queue patience, agent time counted)."""
        env = self.env
        handle = self._handle_time(self.handling_stream(customer).next())
        self.callbacks += 1
        priority = (self.priority[customer.segment.name] - customer.priority_boost
                    + self.cfg.complaint_priority)
        with self.resource.request(priority=priority) as request:
            yield request
            yield env.timeout(handle)
            self.busy_time += handle

    def complaint(self, customer, complaint_u: float, recovery_u: float):
        """After a failure: complain or not, and the outcome (a generator; returns it).

        A complaint that ends unresolved or abandoned is taken up again by the customer with
        probability ``recontact_probability`` (after ``recontact_delay``, at most
        ``max_recontacts`` times): a *repeat complaint*, with a new chance of resolution.
        """
        self.failures += 1
        if complaint_u >= customer.complaint_propensity:
            return SILENT
        self.complaints += 1
        env, cfg = self.env, self.cfg
        failed_at = env.now
        attempt = 0
        while True:
            outcome = yield from self._one_complaint(customer, recovery_u, failed_at)
            if outcome not in (UNRESOLVED, ABANDONED) or attempt >= cfg.max_recontacts or not (
                    cfg.recontact_probability) or (self.handling_stream(customer).next()
                                                   >= cfg.recontact_probability):
                return outcome
            yield env.timeout(cfg.recontact_delay)
            attempt += 1
            self.repeat_complaints += 1
            recovery_u = self.handling_stream(customer).next()

    def _one_complaint(self, customer, recovery_u: float, failed_at: float):
        """One complaint contact and what follows it (a callback): the outcome."""
        env, cfg = self.env, self.cfg
        answered = yield from self.contact(customer, COMPLAINT)
        if not answered:
            return ABANDONED if self.resource is not None else UNRESOLVED
        resolved = recovery_u < self.resolution
        self.answered_complaints += 1
        self.resolved_at_first_contact += resolved
        if not resolved and cfg.callback_delay is not None:
            yield env.timeout(cfg.callback_delay)
            yield from self._callback(customer)
            resolved = self.handling_stream(customer).next() < cfg.callback_resolution
        if not resolved:
            return UNRESOLVED
        return QUICK if env.now - failed_at <= cfg.quick_resolution else RESOLVED

    # ------------------------------------------------------------------ results

    def log(self) -> pd.DataFrame:
        """The inbound-contact log: arrival, wait, answered, kind."""
        return contact_log(np.array(self.arrival, dtype=float),
                           np.array(self.wait, dtype=float),
                           np.array(self.answered, dtype=np.int8),
                           np.array(self.kind, dtype=np.int8),
                           np.array(self.customer, dtype=np.int64))

    def kpis(self, horizon: float) -> dict[str, float]:
        kpis = desk_kpis(self.log(), self.cfg.sla_target, self.failures, self.complaints,
                         self.busy_time, self.agent_time(horizon))
        kpis["repeat_complaints"] = self.repeat_complaints
        kpis["first_contact_resolution"] = (
            self.resolved_at_first_contact / self.answered_complaints
            if self.answered_complaints else math.nan)
        return kpis

    def per_period(self, period_ends: np.ndarray) -> pd.DataFrame:
        """Desk figures per reporting period (contacts by their arrival time)."""
        log = self.log()
        index = np.searchsorted(period_ends, log["arrival"].to_numpy(), side="left")
        rows = [desk_figures(log[index == k], self.cfg.sla_target)
                for k in range(len(period_ends))]
        table = pd.DataFrame(rows)
        table.columns = [f"desk_{c}" for c in table.columns]
        return table

    def recovery_table(self) -> pd.DataFrame:
        return recovery_table(self.outcome_log)


# --------------------------------------------------------------------------- the policy


class DeskPolicy(Policy):
    """Service failures, the desk and complaint handling, as a policy of the run.

    On when the scenario has agents, a staffing schedule, routine contacts or service failures.
    A failure lowers the experience (``failure_severity``; a repeated failure by
    ``1 + double_deviation`` times that); the customer then complains (or not), waits for the
    desk's outcome, and the outcome moves satisfaction (``recovery``) before the customer
    decides whether to stay.
    """

    SECTIONS = {"service": Service, "recovery": Recovery}
    DRAW_COLUMNS = (Column.FAILURE, Column.COMPLAINT, Column.RECOVERY)
    KPIS = {
        "failures": "service failures (purchases or renewals that went wrong)",
        "complaints": "complaints made to the desk (first complaints about a failure)",
        "repeat_complaints": "the same failure complained about again after an unresolved or "
        "abandoned complaint",
        "first_contact_resolution": "share of answered complaint contacts resolved by the agent "
        "who answered",
        "complaint_rate": "complaints per service failure (the tip of the iceberg)",
        "desk_contacts": "inbound desk contacts (inquiries and complaints) offered",
        "desk_answered": "inbound contacts answered",
        "desk_wait_probability": "share of answered contacts that waited at all",
        "desk_asa": "average speed of answer: mean wait of answered contacts",
        "desk_service_level": "share of offered contacts answered within service.sla_target",
        "desk_abandon_rate": "share of offered contacts that hung up before an answer",
        "desk_utilization": "agent time handling contacts / agent time on duty",
    }
    COSTS = {"desk_cost": "agents on duty × (wage + empowerment × empowerment_cost)"}
    EVENTS = ("failure", "resolution")
    PURPOSES = (CONTACTS_PURPOSE, HANDLING_PURPOSE)

    def __init__(self, market):
        super().__init__(market)
        self.recovery_cfg = market.scenario.recovery
        cfg = self.cfg
        self.failure_rate = cfg.failure_rate
        self.inquiries = cfg.contact_rate > 0
        self._customer_time_reported = 0.0
        self.desk = (ServiceDesk(market.env, cfg, market.streams, market.segments,
                                 on_abandoned=self._abandoned) if self.enabled else None)

    @property
    def enabled(self) -> bool:
        cfg = self.cfg
        return bool(cfg.agents or cfg.schedule or cfg.contact_rate or cfg.failure_rate)

    @classmethod
    def check(cls, scenario) -> None:
        names = list(scenario.customers.segments) or ["all"]
        for key in scenario.service.priority:
            if key not in names:
                guess = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                raise ValueError(f"service.priority has segment '{key}'{hint}; segments: "
                                 f"{', '.join(names)}")

    # ------------------------------------------------------------------ hooks

    def customer_started(self, customer) -> None:
        if self.inquiries:
            self.market.env.process(self.desk.inquiries(customer))

    def service_failure(self, customer, draws) -> float | None:
        """A failure with probability ``failure_rate``: the drop in perceived quality."""
        if draws[_FAILURE] >= self.failure_rate:
            return None
        cfg = self.cfg
        drop = cfg.failure_severity * (1.0 + cfg.double_deviation if customer.failures else 1.0)
        customer.failures += 1
        self.market.recorder.event(self.market.env.now, customer.id, FAILURE)
        return drop

    def recover(self, customer, complaint_u: float, recovery_u: float):
        """After a failure: the complaint and its outcome, then the recovery effect.

        A generator of SimPy events: the customer waits for the desk (it follows the generator
        step by step, :meth:`crmsim.model.customer.Life.after_failure`).
        """
        market = self.market
        pre_failure = customer.satisfaction
        outcome = yield from self.desk.complaint(customer, complaint_u, recovery_u)
        recovery = self.recovery_cfg
        delta = getattr(recovery, outcome, 0.0)
        if outcome == QUICK and recovery.paradox:
            after = customer.satisfaction + delta
            target = max(after, pre_failure + recovery.paradox_bonus)
            customer.recovery_bonus = max(0.0, target - max(after, pre_failure))
            delta = target - customer.satisfaction
        market.recorder.event(market.env.now, customer.id, RESOLUTION, details=outcome)
        customer.pending_outcome = outcome
        market.add_satisfaction(customer, delta)

    def _abandoned(self, customer) -> None:
        """A routine inquiry went unanswered: ``recovery.abandoned`` on satisfaction."""
        if customer.active:
            self.market.add_satisfaction(customer, self.recovery_cfg.abandoned)

    def churn_decided(self, customer, u: float, churned: bool, terms, barriers) -> None:
        """Log (outcome, churned) for the recovery table; the failure is settled."""
        if customer.pending_outcome is not None:
            self.desk.outcome_log.append((customer.pending_outcome, churned))
            customer.pending_outcome = None
            customer.recovery_bonus = 0.0

    def records(self, n: int) -> dict[str, np.ndarray]:
        """The desk's records by customer id: complaints logged, complaints that ended
        unresolved or abandoned, and contacts that hung up before an answer."""
        rec = self.market.recorder
        kind = np.array(rec.kind, dtype=np.int8)
        ids = np.array(rec.customer, dtype=np.int64)
        rows = np.flatnonzero(kind == RESOLUTION)
        failed = [int(ids[r]) for r in rows.tolist()
                  if rec.details_of(r) in (UNRESOLVED, ABANDONED)]
        desk = self.desk
        unanswered = np.array(desk.answered, dtype=np.int8) == 0
        return {
            "complaints": complaint_counts(desk, n),
            "failed_recoveries": np.bincount(np.array(failed, dtype=np.int64), minlength=n),
            "abandoned_contacts": np.bincount(
                np.array(desk.customer, dtype=np.int64)[unanswered], minlength=n),
        }

    def snapshot(self, now: float, last: float, row: dict) -> None:
        cfg = self.cfg
        if cfg.prevention_cost:  # the cost of keeping failures at failure_rate
            customer_time = self.market.customer_time(now)
            self.market.recorder.book(
                now, "quality_cost", cfg.prevention_cost * (1 - cfg.failure_rate)
                / cfg.failure_rate * (customer_time - self._customer_time_reported))
            self._customer_time_reported = customer_time
        wage = self.cfg.wage + self.cfg.empowerment * self.cfg.empowerment_cost
        if wage:
            self.market.recorder.book(
                now, "desk_cost", wage * (self.desk.agent_time(now) - self.desk.agent_time(last)))

    # ------------------------------------------------------------------ results

    def kpis(self) -> dict[str, float]:
        if self.desk is not None:
            return self.desk.kpis(self.market.scenario.horizon)
        return {**desk_kpis(contact_log(), self.cfg.sla_target), "repeat_complaints": 0,
                "first_contact_resolution": math.nan}

    def period_columns(self, period_ends):
        return self.desk.per_period(period_ends) if self.desk is not None else None

    def tables(self):
        desk = self.desk
        return {
            "recovery": (desk.recovery_table if desk is not None
                         else lambda: recovery_table([])),
            "contacts": desk.log if desk is not None else contact_log,
        }


def complaint_counts(desk, customers: int) -> np.ndarray:
    """Complaints logged at the desk per customer id so far (zeros without a desk)."""
    if desk is None:
        return np.zeros(customers, dtype=np.int64)
    kind = np.array(desk.kind, dtype=np.int8)
    ids = np.array(desk.customer, dtype=np.int64)[kind == COMPLAINT]
    return np.bincount(ids, minlength=customers)


def contact_log(arrival=(), wait=(), answered=(), kind=(), customer_id=()) -> pd.DataFrame:
    """A contact log table (empty by default: a scenario without a desk)."""
    return pd.DataFrame({
        "arrival": np.asarray(arrival, dtype=float),
        "customer_id": np.asarray(customer_id, dtype=np.int64),
        "wait": np.asarray(wait, dtype=float),
        "answered": np.asarray(answered, dtype=np.int8).astype(bool),
        "kind": np.where(np.asarray(kind, dtype=np.int8) == COMPLAINT, "complaint", "inquiry"),
    })


def desk_kpis(log: pd.DataFrame, sla_target: float, failures: int = 0, complaints: int = 0,
              busy_time: float = 0.0, agent_time: float = 0.0) -> dict[str, float]:
    """The desk and complaint KPIs of a contact log (zeros and NaNs for an empty one)."""
    figures = desk_figures(log, sla_target)
    return {
        "failures": failures,
        "complaints": complaints,
        "complaint_rate": complaints / failures if failures else math.nan,
        "desk_contacts": len(log),
        **{f"desk_{k}": v for k, v in figures.items() if k != "contacts"},
        "desk_utilization": busy_time / agent_time if agent_time else math.nan,
    }


def recovery_table(outcome_log) -> pd.DataFrame:
    """Share of customers who stayed at the decision after a failure, by complaint outcome."""
    from crmsim.analysis.stats import proportion_ci

    log = pd.DataFrame(list(outcome_log), columns=["outcome", "churned"])
    rows = []
    for outcome in OUTCOMES:
        group = log[log["outcome"] == outcome]
        stayed = int((~group["churned"].astype(bool)).sum())
        share, low, high = proportion_ci(stayed, len(group))
        rows.append((outcome, len(group), stayed, share, low, high))
    return pd.DataFrame(rows, columns=["outcome", "failures", "stayed", "stay_share",
                                       "low", "high"]).set_index("outcome")


def desk_figures(log: pd.DataFrame, sla_target: float) -> dict[str, float]:
    """Call-centre figures of a contact log (see DESIGN.md's KPI list).

    wait_probability: share of answered contacts that waited at all; asa: mean wait of answered
    contacts; service_level: share of offered contacts answered within ``sla_target``;
    abandon_rate: share of offered contacts that hung up.
    """
    offered = len(log)
    answered = log.loc[log["answered"].to_numpy(dtype=bool)]
    waits = answered["wait"].to_numpy()
    n = len(waits)
    return {
        "contacts": offered,
        "answered": n,
        "wait_probability": float(np.mean(waits > 0)) if n else math.nan,
        "asa": float(waits.mean()) if n else math.nan,
        "service_level": float(np.sum(waits <= sla_target) / offered) if offered else math.nan,
        "abandon_rate": float((offered - n) / offered) if offered else math.nan,
    }
