"""The firm's customer database (客户数据库): a finished run as an embedded DuckDB database.

A real firm does CRM on a database: it knows who its customers are, what they bought, when they
called and what it offered them — and it never knows their hidden traits. :func:`write_database`
(``RunResult.to_duckdb(path)``, ``crmsim run SCENARIO --db FILE``) turns a finished run into
such a database, so students query it with SQL (:func:`sql`) the way an analyst would:

* ``customers`` — one row per customer with what the firm recorded: acquisition time, channel
  (initial base, paid marketing, word of mouth) and its cost, segment, value tier (客户分级),
  programme membership, tier and points, and when the relationship ended *as the firm sees it*
  (a cancelled contract; a shop sees only silence);
* ``transactions`` — one row per purchase (non-contractual) or payment (contractual);
* ``contacts`` — the service desk's inbound contacts: inquiries and complaints with arrival,
  wait, answered, and the outcome of each complaint (quick, resolved, unresolved, abandoned);
* ``offers`` — what the firm sent: retention offers of the churn warning, win-back
  approaches and campaign contacts — and, for each campaign, the customers it held out as a
  control group — with their cost and the response the firm observes. (In a non-contractual
  shop the model approaches customers who truly left — a real shop would approach long-silent
  ones — so there a win-back row tells of a churn the shop itself could not have seen.);
* ``timeseries`` — the run's books per reporting period (:attr:`crmsim.RunResult.timeseries`);
* ``run`` — one row: scenario, seed, horizon, time unit, setting;
* ``truth`` — **separate on purpose**: what only the simulation knows (latent traits, loyalty
  type, satisfaction, lifecycle stage, true churn time and reason, service failures nobody
  complained about, the hidden campaign response type and what campaigns truly did to each
  customer). Joining it reveals how far the firm's view is from the truth.

Two views ship:

* ``rfm`` — recency, frequency and monetary value per customer at the end of the run with their
  quintile scores, computed in SQL with exactly the rule of :func:`crmsim.analysis.rfm_scores`
  (rank with ties sharing the lowest rank, score = 1 + ⌊5 · (rank − 1) / n⌋; Hughes 1994);
* ``customer_360`` — one row per customer: the customers table, its RFM and the summary of its
  contacts and offers (客户360度视图).

Every table has a primary key, typed columns with CHECK constraints on the labels that have a
fixed set of values, foreign keys to ``customers``, and a comment on every table and column (``COMMENT ON``; read
them with :func:`describe`).

Writing is atomic: the database is built in a temporary file next to the target and renamed
onto it, so a crash never leaves half a database under the target's name. An existing file is
replaced only with ``overwrite=True`` (CLI: ``--overwrite``).

>>> import crmsim
>>> sc = crmsim.load_scenario("retail_baseline").with_overrides(
...     {"customers.initial": 50, "horizon": 60})
>>> res = crmsim.simulate(sc, seed=1)
>>> int(crmsim.sql(res, "SELECT count(*) AS n FROM customers")["n"][0]) == len(res.customers)
True
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crmsim.errors import ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from crmsim.results import RunResult


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    constraint: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    primary_key: str

    def ddl(self) -> str:
        lines = [f"{c.name} {c.type} {c.constraint}".rstrip() for c in self.columns]
        lines.append(f"PRIMARY KEY ({self.primary_key})")
        if self.name not in ("customers", "run"):
            lines.append("FOREIGN KEY (customer_id) REFERENCES customers (customer_id)")
        return f"CREATE TABLE {self.name} (\n  " + ",\n  ".join(lines) + "\n)"


def _check(column: str, values) -> str:
    allowed = ", ".join(f"'{v}'" for v in values)
    return f"CHECK ({column} IN ({allowed}))"


CHANNELS = ("initial", "paid", "word_of_mouth")
CONTACT_KINDS = ("inquiry", "complaint")
COMPLAINT_OUTCOMES = ("quick", "resolved", "unresolved", "abandoned")
OFFER_KINDS = ("retention_offer", "win_back", "campaign", "campaign_control")
RESPONSES = ("bought", "no purchase", "open", "won", "lost")

CUSTOMERS = Table("customers", "One row per customer, with what the firm recorded (no hidden "
                  "traits: see truth).", (
    Column("customer_id", "BIGINT", "the customer's number (0, 1, ... in order of acquisition)",
           "NOT NULL"),
    Column("acquired_at", "DOUBLE", "when the customer was acquired (time unit: see run)",
           "NOT NULL"),
    Column("channel", "VARCHAR", "how the customer was acquired: initial (the base at t = 0), "
           "paid (marketing) or word_of_mouth (Bass innovation and imitation)",
           "NOT NULL " + _check("channel", CHANNELS)),
    Column("acquisition_cost", "DOUBLE", "marketing cost of acquiring the customer (0 for the "
           "initial base and word of mouth)", "NOT NULL"),
    Column("segment", "VARCHAR", "segment label as the firm records it (scenario segments; "
           "'all' without segments)", "NOT NULL"),
    Column("value_tier", "VARCHAR", "value tier at the end of the run (客户分级: key 关键, "
           "ordinary 普通, small 小客户; none before or without tiering)",
           "NOT NULL " + _check("value_tier", ("key", "ordinary", "small", "none"))),
    Column("member", "BOOLEAN", "joined the rewards programme (积分 / 会员)", "NOT NULL"),
    Column("member_tier", "VARCHAR", "membership tier at the end (programme tier names; none "
           "for no tier or non-members)", "NOT NULL"),
    Column("points", "DOUBLE", "points balance at the end (0 for non-members and for members "
           "who left: their points are forfeited)", "NOT NULL"),
    Column("ended_at", "DOUBLE", "when the relationship ended as the firm sees it: a cancelled "
           "contract (contractual setting) or the firm stopped serving the customer (tiering "
           "drop); NULL while it runs, and for a shop customer who just stopped buying (a shop "
           "sees only silence: see truth.churned_at)"),
), "customer_id")

TRANSACTIONS = Table("transactions", "One row per purchase (non-contractual) or payment "
                     "(contractual), the first one at acquisition included.", (
    Column("transaction_id", "BIGINT", "1, 2, ... in the order the transactions happened",
           "NOT NULL"),
    Column("customer_id", "BIGINT", "who paid (customers.customer_id)", "NOT NULL"),
    Column("time", "DOUBLE", "when", "NOT NULL"),
    Column("amount", "DOUBLE", "money received (after member and win-back discounts)",
           "NOT NULL"),
    Column("kind", "VARCHAR", "purchase (non-contractual) or payment (contract renewal)",
           "NOT NULL " + _check("kind", ("purchase", "payment"))),
), "transaction_id")

CONTACTS = Table("contacts", "The service desk's inbound contacts (呼叫中心): routine inquiries "
                 "and complaints (投诉), each answered or abandoned; contacts still queued at the "
                 "horizon are not in the log.", (
    Column("contact_id", "BIGINT", "1, 2, ... in order of arrival", "NOT NULL"),
    Column("customer_id", "BIGINT", "who called (customers.customer_id)", "NOT NULL"),
    Column("arrival", "DOUBLE", "when the customer called", "NOT NULL"),
    Column("wait", "DOUBLE", "time in the queue until answered or until the caller hung up "
           "(NULL when nobody staffs the desk)"),
    Column("answered", "BOOLEAN", "whether an agent answered (false: the caller hung up)",
           "NOT NULL"),
    Column("kind", "VARCHAR", "inquiry (routine) or complaint (after a service failure)",
           "NOT NULL " + _check("kind", CONTACT_KINDS)),
    Column("outcome", "VARCHAR", "a complaint's outcome: quick (resolved within "
           "service.quick_resolution), resolved, unresolved, abandoned (hung up); NULL for "
           "inquiries and for complaints still being handled at the horizon",
           _check("outcome", COMPLAINT_OUTCOMES)),
    Column("resolved_at", "DOUBLE", "when the complaint's outcome was known (after a callback "
           "if there was one); NULL as outcome"),
), "contact_id")

OFFERS = Table("offers", "What the firm sent to customers: retention offers of the churn "
               "warning (流失预警), win-back approaches (客户赢回) and campaign contacts (客户沟通), "
               "with the response it observes; and the customers each campaign held out as its "
               "control group (对照组, nothing sent).", (
    Column("offer_id", "BIGINT", "1, 2, ... in the order they were sent", "NOT NULL"),
    Column("customer_id", "BIGINT", "to whom (customers.customer_id)", "NOT NULL"),
    Column("time", "DOUBLE", "when it was sent", "NOT NULL"),
    Column("kind", "VARCHAR", "retention_offer (to a warned customer), win_back (an approach "
           "to a customer who left), campaign (a campaign contact) or campaign_control (held "
           "out of a campaign as its control group: nothing was sent)",
           "NOT NULL " + _check("kind", OFFER_KINDS)),
    Column("cost", "DOUBLE", "what it cost the firm (a campaign contact: the channel's cost; "
           "discounts and points bonuses are not in it)", "NOT NULL"),
    Column("valid_until", "DOUBLE", "a retention offer runs until then "
           "(warning.offer_duration); a campaign's window ends then (the offer runs and the "
           "response is counted until then; also for its control group); NULL for win-back"),
    Column("response", "VARCHAR", "what the firm observes: for a retention offer or a "
           "campaign row 'bought' (a purchase or payment after it, until valid_until), 'no "
           "purchase', or 'open' (valid past the horizon, nothing bought yet); for win-back "
           "'won' or 'lost'. Whether the offer changed anything only the truth knows "
           "(truth.offers_saved, truth.response_type, truth.campaign_revenue_effect)",
           "NOT NULL " + _check("response", RESPONSES)),
    Column("campaign", "VARCHAR", "the campaign's name (campaigns.plan); NULL for retention "
           "offers and win-back"),
    Column("channel", "VARCHAR", "a campaign's channel: email, sms or phone; NULL otherwise",
           _check("channel", ("email", "sms", "phone"))),
), "offer_id")

RUN = Table("run", "One row describing the run the database comes from.", (
    Column("scenario", "VARCHAR", "scenario name", "NOT NULL"),
    Column("seed", "BIGINT", "the run's seed (NULL for a SeedSequence without an int entropy)"),
    Column("horizon", "DOUBLE", "end of the run: the observation end for RFM", "NOT NULL"),
    Column("time_unit", "VARCHAR", "unit of every time and rate", "NOT NULL"),
    Column("setting", "VARCHAR", "contractual or noncontractual", "NOT NULL"),
    Column("report_every", "DOUBLE", "length of a timeseries period", "NOT NULL"),
    Column("crmsim_version", "VARCHAR", "crmsim version that wrote the database", "NOT NULL"),
), "scenario")

TRUTH = Table("truth", "What only the simulation knows, one row per customer: hidden traits, "
              "satisfaction, loyalty, the true churn. Kept apart from the firm's tables on "
              "purpose: join it to see how far the firm's view is from the truth.", (
    Column("customer_id", "BIGINT", "customers.customer_id", "NOT NULL"),
    Column("purchase_rate", "DOUBLE", "latent purchase rate λ per time unit (non-contractual)",
           "NOT NULL"),
    Column("churn_propensity", "DOUBLE", "latent base churn (drop-out) propensity θ per "
           "decision", "NOT NULL"),
    Column("spend_level", "DOUBLE", "latent mean spend per purchase (Gamma–Gamma)", "NOT NULL"),
    Column("price_sensitivity", "DOUBLE", "latent price sensitivity (0..1)", "NOT NULL"),
    Column("complaint_propensity", "DOUBLE", "probability of complaining after a service "
           "failure", "NOT NULL"),
    Column("initial_expectation", "DOUBLE", "expected quality when acquired", "NOT NULL"),
    Column("quality_fit", "DOUBLE", "how the firm's service fits this customer (added to "
           "perceived quality)", "NOT NULL"),
    Column("expectation", "DOUBLE", "expected quality at the end", "NOT NULL"),
    Column("satisfaction", "DOUBLE", "satisfaction (满意度) at the end", "NOT NULL"),
    Column("stage", "VARCHAR", "lifecycle stage (生命周期) at the end", "NOT NULL"),
    Column("loyalty_type", "VARCHAR", "Dick & Basu loyalty type at the end (true, latent, "
           "spurious, none)", "NOT NULL"),
    Column("course_loyalty", "VARCHAR", "the course's loyalty type (超值, 激励, 惰性, 潜在, 无)",
           "NOT NULL"),
    Column("churn_probability", "DOUBLE", "probability that the next churn decision is to "
           "leave (NULL if gone)"),
    Column("active", "BOOLEAN", "truly still a customer at the horizon", "NOT NULL"),
    Column("churned_at", "DOUBLE", "when the customer truly left (its last relationship; "
           "NULL if active at the horizon)"),
    Column("churn_reason", "VARCHAR", "the largest push behind the churn (dissatisfaction, "
           "service_failure, competitor, ...; NULL if active)"),
    Column("times_churned", "BIGINT", "how often the customer left (more than once after a "
           "win-back)", "NOT NULL"),
    Column("won_back_at", "DOUBLE", "when the customer was last won back (NULL if never)"),
    Column("failures", "BIGINT", "service failures the customer experienced, complained "
           "about or not (the complaint iceberg)", "NOT NULL"),
    Column("offers_saved", "BIGINT", "churn decisions that a retention offer reversed", "NOT NULL"),
    Column("response_type", "VARCHAR", "hidden campaign response type: persuadable (buys only "
           "if contacted), sure_thing (buys anyway), lost_cause (never), do_not_disturb "
           "(contact annoys it); NULL without campaigns",
           _check("response_type", ("lost_cause", "persuadable", "do_not_disturb",
                                    "sure_thing"))),
    Column("campaign_revenue_effect", "DOUBLE", "what campaigns truly did to the customer's "
           "revenue over the whole run: its revenue minus its revenue in the model's "
           "counterfactual run (same customer, same random numbers, no campaigns); NULL "
           "without campaigns"),
), "customer_id")

TABLES = (CUSTOMERS, TRANSACTIONS, CONTACTS, OFFERS, RUN, TRUTH)

TIMESERIES_COMMENT = ("The run's books per reporting period: the opening state at time 0, then "
                      "flows over each period and stocks at its end (RunResult.timeseries). "
                      "Stage counts and mean satisfaction are the model's, not the firm's.")

VIEWS = {
    "rfm": ("Recency, frequency, monetary value and their quintile scores (1..5, 5 best) per "
            "customer at the horizon, as crmsim.analysis.rfm_scores computes them: ranks with "
            "ties sharing the lowest rank, score = 1 + floor(5 (rank - 1) / n).", """
CREATE VIEW rfm AS
WITH summary AS (
    SELECT customer_id,
           (SELECT horizon FROM run) - max(time) AS recency,
           count(*) AS frequency,
           sum(amount) AS monetary
    FROM transactions
    GROUP BY customer_id
), ranked AS (
    SELECT *,
           count(*) OVER () AS n,
           rank() OVER (ORDER BY recency DESC) AS r_rank,
           rank() OVER (ORDER BY frequency) AS f_rank,
           rank() OVER (ORDER BY monetary) AS m_rank
    FROM summary
), scored AS (
    SELECT customer_id, recency, frequency, monetary,
           1 + (5 * (r_rank - 1)) // n AS r_score,
           1 + (5 * (f_rank - 1)) // n AS f_score,
           1 + (5 * (m_rank - 1)) // n AS m_score
    FROM ranked
)
SELECT *,
       r_score::VARCHAR || f_score::VARCHAR || m_score::VARCHAR AS rfm_cell,
       r_score + f_score + m_score AS rfm_score
FROM scored
ORDER BY customer_id
""", {
        "customer_id": "customers.customer_id (customers with at least one transaction)",
        "recency": "horizon − last purchase (smaller is better)",
        "frequency": "number of purchases or payments, the first included",
        "monetary": "total money spent",
        "r_score": "recency quintile score, 5 = most recent",
        "f_score": "frequency quintile score, 5 = most frequent",
        "m_score": "monetary quintile score, 5 = biggest spender",
        "rfm_cell": "the three scores as a cell, e.g. '555'",
        "rfm_score": "r_score + f_score + m_score (3..15)",
    }),
    "customer_360": ("One row per customer: what the firm knows about it in one place "
                     "(客户360度视图) — the customers table, RFM, desk contacts and offers.", """
CREATE VIEW customer_360 AS
WITH desk AS (
    SELECT customer_id,
           count(*) FILTER (WHERE kind = 'inquiry') AS inquiries,
           count(*) FILTER (WHERE kind = 'complaint') AS complaints,
           count(*) FILTER (WHERE outcome IN ('unresolved', 'abandoned')) AS complaints_failed,
           count(*) FILTER (WHERE NOT answered) AS abandoned_contacts,
           avg(wait) FILTER (WHERE answered) AS mean_wait,
           max(arrival) AS last_contact
    FROM contacts
    GROUP BY customer_id
), sent AS (
    SELECT customer_id,
           count(*) FILTER (WHERE kind = 'retention_offer') AS retention_offers,
           count(*) FILTER (WHERE kind = 'win_back') AS win_back_approaches,
           count(*) FILTER (WHERE response = 'won') AS won_back,
           count(*) FILTER (WHERE kind = 'campaign') AS campaign_contacts,
           sum(cost) AS offer_cost
    FROM offers
    GROUP BY customer_id
), paid AS (
    SELECT customer_id, min(time) AS first_purchase, max(time) AS last_purchase,
           avg(amount) AS mean_amount
    FROM transactions
    GROUP BY customer_id
)
SELECT c.*,
       (SELECT horizon FROM run) - c.acquired_at AS tenure,
       p.first_purchase, p.last_purchase, p.mean_amount,
       r.recency, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score, r.rfm_cell,
       r.rfm_score,
       coalesce(d.inquiries, 0) AS inquiries,
       coalesce(d.complaints, 0) AS complaints,
       coalesce(d.complaints_failed, 0) AS complaints_failed,
       coalesce(d.abandoned_contacts, 0) AS abandoned_contacts,
       d.mean_wait, d.last_contact,
       coalesce(s.retention_offers, 0) AS retention_offers,
       coalesce(s.win_back_approaches, 0) AS win_back_approaches,
       coalesce(s.won_back, 0) AS won_back,
       coalesce(s.campaign_contacts, 0) AS campaign_contacts,
       coalesce(s.offer_cost, 0) AS offer_cost
FROM customers AS c
LEFT JOIN paid AS p USING (customer_id)
LEFT JOIN rfm AS r USING (customer_id)
LEFT JOIN desk AS d USING (customer_id)
LEFT JOIN sent AS s USING (customer_id)
ORDER BY c.customer_id
""", {
        "tenure": "horizon − acquired_at",
        "first_purchase": "time of the first purchase or payment",
        "last_purchase": "time of the last purchase or payment",
        "mean_amount": "mean amount per transaction",
        "inquiries": "routine inquiries logged",
        "complaints": "complaints logged",
        "complaints_failed": "complaints that ended unresolved or abandoned",
        "abandoned_contacts": "contacts where the caller hung up before an answer",
        "mean_wait": "mean wait of the customer's answered contacts",
        "last_contact": "arrival of the customer's last desk contact",
        "retention_offers": "retention offers sent",
        "win_back_approaches": "win-back approaches",
        "won_back": "win-back approaches that succeeded",
        "campaign_contacts": "campaign contacts received",
        "offer_cost": "cost of everything sent to the customer",
    }),
}


# ---------------------------------------------------------------------------------- frames


def _events(result: RunResult, kind: str) -> pd.DataFrame:
    events = result.events
    return events.loc[events["kind"] == kind]


def customers_frame(result: RunResult) -> pd.DataFrame:
    """The firm's customer records (see :data:`CUSTOMERS`)."""
    from crmsim.model.churn import DROPPED
    from crmsim.policies.acquisition import WORD_OF_MOUTH

    table = result.customers
    acquired = _events(result, "acquired").set_index("customer_id").reindex(table["customer_id"])
    initial = table["customer_id"].to_numpy() < result.scenario.customers.initial
    word_of_mouth = (acquired["details"] == WORD_OF_MOUTH).to_numpy()
    channel = np.where(initial, "initial", np.where(word_of_mouth, "word_of_mouth", "paid"))
    contractual = result.scenario.market.setting == "contractual"
    seen_ending = (table["churn_reason"] == DROPPED).to_numpy() | contractual
    points = table["points"] if "points" in table else pd.Series(0.0, index=table.index)
    return pd.DataFrame({
        "customer_id": table["customer_id"].to_numpy(),
        "acquired_at": table["acquired_at"].to_numpy(),
        "channel": channel,
        "acquisition_cost": acquired["amount"].to_numpy(),
        "segment": table["segment"].astype(str).to_numpy(),
        "value_tier": table["tier"].astype(str).to_numpy(),
        "member": (table["member"] if "member" in table else pd.Series(False, index=table.index)
                   ).to_numpy(dtype=bool),
        "member_tier": (table["member_tier"] if "member_tier" in table
                        else pd.Series("none", index=table.index)).astype(str).to_numpy(),
        "points": points.to_numpy(dtype=float),
        "ended_at": np.where(seen_ending, table["churned_at"].to_numpy(), np.nan),
    })


def transactions_frame(result: RunResult) -> pd.DataFrame:
    """Purchases and payments in the order they happened (see :data:`TRANSACTIONS`)."""
    events = result.events
    paid = events.loc[events["kind"].isin(["purchase", "payment"])]
    return pd.DataFrame({
        "transaction_id": np.arange(1, len(paid) + 1, dtype=np.int64),
        "customer_id": paid["customer_id"].to_numpy(),
        "time": paid["time"].to_numpy(),
        "amount": paid["amount"].to_numpy(),
        "kind": paid["kind"].astype(str).to_numpy(),
    })


def contacts_frame(result: RunResult) -> pd.DataFrame:
    """Desk contacts in order of arrival, each complaint with its outcome (see :data:`CONTACTS`).

    A customer's complaints are sequential (it waits for one's outcome before it can fail and
    complain again), so its k-th complaint's outcome is its k-th ``resolution`` event that is not
    ``silent`` (a failure nobody complained about, which the firm never sees).
    """
    from crmsim.policies.service_desk import SILENT

    log = result.contacts.sort_values("arrival", kind="stable").reset_index(drop=True)
    frame = pd.DataFrame({
        "contact_id": np.arange(1, len(log) + 1, dtype=np.int64),
        "customer_id": log["customer_id"].to_numpy(),
        "arrival": log["arrival"].to_numpy(),
        "wait": log["wait"].to_numpy(),
        "answered": log["answered"].to_numpy(dtype=bool),
        "kind": log["kind"].astype(str).to_numpy(),
    })
    complaints = frame.loc[frame["kind"] == "complaint", ["contact_id", "customer_id"]]
    complaints = complaints.assign(number=complaints.groupby("customer_id").cumcount())
    outcomes = _events(result, "resolution")
    outcomes = outcomes.loc[outcomes["details"] != SILENT, ["customer_id", "time", "details"]]
    outcomes = outcomes.assign(number=outcomes.groupby("customer_id").cumcount())
    matched = complaints.merge(outcomes, on=["customer_id", "number"], how="left",
                               validate="one_to_one")
    if matched["details"].notna().sum() != len(outcomes):
        raise RuntimeError("complaint outcomes without a logged complaint: the contact log and "
                           "the resolution events disagree")
    frame["outcome"] = pd.Series(None, index=frame.index, dtype=object)
    frame["resolved_at"] = np.nan
    rows = matched["contact_id"].to_numpy() - 1
    frame.loc[rows, "outcome"] = matched["details"].to_numpy()
    frame.loc[rows, "resolved_at"] = matched["time"].to_numpy()
    return frame


def offers_frame(result: RunResult) -> pd.DataFrame:
    """Retention offers, win-back approaches, campaign contacts and campaign control groups in
    the order they happened, each with the response the firm observes (see :data:`OFFERS`)."""
    events = result.events
    kinds = {"offer": "retention_offer", "win_back_attempt": "win_back",
             "campaign_contact": "campaign", "campaign_holdout": "campaign_control"}
    sent = events.loc[events["kind"].isin(list(kinds))]
    kind = sent["kind"].astype(str).map(kinds).to_numpy(dtype=object)
    retention = kind == "retention_offer"
    campaign = (kind == "campaign") | (kind == "campaign_control")
    time = sent["time"].to_numpy()
    details = sent["details"].to_numpy(dtype=object)
    plan = result.scenario.campaigns.plan
    window = np.array([plan[name].window if name in plan else np.nan
                       for name in np.where(campaign, details, None)], dtype=float)
    valid_until = np.where(retention, time + result.scenario.warning.offer_duration,
                           np.where(campaign, time + window, np.nan))
    response = details.copy()  # win-back: won / lost
    timed = np.flatnonzero(retention | campaign)
    if len(timed):
        tx = transactions_frame(result)
        by_customer = {cid: group["time"].to_numpy()
                       for cid, group in tx.groupby("customer_id", sort=False)}
        horizon = result.scenario.horizon
        ids = sent["customer_id"].to_numpy()
        for row in timed:
            times = by_customer.get(ids[row], np.zeros(0))
            bought = np.any((times > time[row]) & (times <= valid_until[row]))
            response[row] = ("bought" if bought else
                             "open" if valid_until[row] > horizon else "no purchase")
    return pd.DataFrame({
        "offer_id": np.arange(1, len(sent) + 1, dtype=np.int64),
        "customer_id": sent["customer_id"].to_numpy(),
        "time": time,
        "kind": kind,
        "cost": sent["amount"].to_numpy(),
        "valid_until": valid_until,
        "response": response,
        "campaign": np.where(campaign, details, None),
        "channel": [plan[name].channel if c else None
                    for name, c in zip(details, campaign, strict=True)],
    })


def run_frame(result: RunResult) -> pd.DataFrame:
    """The one row of the ``run`` table."""
    from crmsim import __version__

    sc = result.scenario
    return pd.DataFrame({
        "scenario": [sc.name],
        "seed": pd.array([result.seed], dtype="Int64"),
        "horizon": [float(sc.horizon)],
        "time_unit": [sc.time_unit],
        "setting": [sc.market.setting],
        "report_every": [float(sc.report_every)],
        "crmsim_version": [__version__],
    })


def truth_frame(result: RunResult) -> pd.DataFrame:
    """What only the simulation knows (see :data:`TRUTH`)."""
    c = result.customers
    ids = c["customer_id"].to_numpy()
    n = int(ids.max()) + 1 if len(ids) else 0

    def count(kind: str) -> np.ndarray:
        events = _events(result, kind)
        return np.bincount(events["customer_id"].to_numpy(), minlength=n)[ids]

    return pd.DataFrame({
        "customer_id": ids,
        **{name: c[name].to_numpy(dtype=float) for name in (
            "purchase_rate", "churn_propensity", "spend_level", "price_sensitivity",
            "complaint_propensity", "initial_expectation", "quality_fit", "expectation",
            "satisfaction")},
        "stage": c["stage"].astype(str).to_numpy(),
        "loyalty_type": c["loyalty_type"].astype(str).to_numpy(),
        "course_loyalty": c["course_loyalty"].astype(str).to_numpy(),
        "churn_probability": c["churn_probability"].to_numpy(dtype=float),
        "active": c["churned_at"].isna().to_numpy(),
        "churned_at": c["churned_at"].to_numpy(dtype=float),
        "churn_reason": c["churn_reason"].to_numpy(dtype=object),
        "times_churned": count("churn"),
        "won_back_at": c["won_back_at"].to_numpy(dtype=float),
        "failures": count("failure"),
        "offers_saved": count("saved"),
        "response_type": (c["response_type"].astype(object).to_numpy() if "response_type" in c
                          else np.full(len(c), None, dtype=object)),
        "campaign_revenue_effect": (c["campaign_revenue_effect"].to_numpy(dtype=float)
                                    if "campaign_revenue_effect" in c
                                    else np.full(len(c), np.nan)),
    })


_FRAMES = {"customers": customers_frame, "transactions": transactions_frame,
           "contacts": contacts_frame, "offers": offers_frame, "run": run_frame,
           "truth": truth_frame}


# ---------------------------------------------------------------------------------- timeseries


def timeseries_comments(columns) -> dict[str, str]:
    """A comment for each timeseries column (from the KPI descriptions where they apply)."""
    from crmsim.model.lifecycle import STAGES
    from crmsim.results import KPI_DESCRIPTIONS

    fixed = {
        "time": "end of the reporting period (0: the opening state)",
        "active": "active customers at the period's end (the model's count: a shop sees only "
                  "who still buys)",
        "mean_satisfaction": "mean satisfaction of active customers at the period's end (the "
                             "model's; a firm would survey)",
        "acquired": "customers acquired in the period (after t = 0)",
        "churned": "customers who churned in the period (the model's count)",
        "purchases": "purchases or payments in the period",
        "revenue": "money received in the period",
        "margin": "revenue × margin rate, in the period",
        "costs": "all costs of the period",
        "profit": "margin − costs, in the period",
        "desk_contacts": "desk contacts arriving in the period",
        "desk_answered": "of them answered",
        "desk_wait_probability": "share of answered contacts that waited at all",
        "desk_asa": "mean wait of answered contacts (average speed of answer)",
        "desk_service_level": "share of contacts answered within service.sla_target",
        "desk_abandon_rate": "share of contacts that hung up before an answer",
    }
    comments = {}
    for name in columns:
        stage = name.removeprefix("active_")
        if name in fixed:
            comments[name] = fixed[name]
        elif name.startswith("active_") and stage in STAGES:
            comments[name] = (f"active customers in lifecycle stage {stage} (生命周期) at the "
                              "period's end (the model's label)")
        elif name.startswith("active_"):
            comments[name] = f"active customers in value tier {stage} at the period's end"
        elif name in KPI_DESCRIPTIONS:
            comments[name] = f"in the period: {KPI_DESCRIPTIONS[name]}"
        else:
            comments[name] = "a column of RunResult.timeseries"
    return comments


def _sql_type(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    return "VARCHAR"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------- writing


def build(con: duckdb.DuckDBPyConnection, result: RunResult) -> None:
    """Create every table and view of ``result``'s database in the connection ``con``."""
    for table in TABLES:
        con.execute(table.ddl())
        con.execute(f"COMMENT ON TABLE {table.name} IS {_quote(table.comment)}")
        for column in table.columns:
            con.execute(f"COMMENT ON COLUMN {table.name}.{column.name} IS "
                        f"{_quote(column.comment)}")
    for table in (CUSTOMERS, RUN, TRANSACTIONS, CONTACTS, OFFERS, TRUTH):
        frame = _FRAMES[table.name](result)
        names = ", ".join(c.name for c in table.columns)
        con.register("_crmsim_frame", frame)
        try:
            con.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM _crmsim_frame")
        finally:
            con.unregister("_crmsim_frame")
    series = result.timeseries
    columns = ",\n  ".join(f'"{c}" {_sql_type(series[c].dtype)}' for c in series.columns)
    con.execute(f'CREATE TABLE timeseries (\n  {columns},\n  PRIMARY KEY ("time")\n)')
    con.execute(f"COMMENT ON TABLE timeseries IS {_quote(TIMESERIES_COMMENT)}")
    for name, comment in timeseries_comments(series.columns).items():
        con.execute(f'COMMENT ON COLUMN timeseries."{name}" IS {_quote(comment)}')
    con.register("_crmsim_frame", series)
    try:
        con.execute("INSERT INTO timeseries SELECT * FROM _crmsim_frame")
    finally:
        con.unregister("_crmsim_frame")
    inherited = {c.name: c.comment for c in CUSTOMERS.columns}  # customer_360 reuses them
    for name, (comment, ddl, column_comments) in VIEWS.items():
        con.execute(ddl)
        con.execute(f"COMMENT ON VIEW {name} IS {_quote(comment)}")
        inherited.update(column_comments)
        view_columns = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [name]).fetchall()
        for (column,) in view_columns:
            con.execute(f"COMMENT ON COLUMN {name}.{column} IS {_quote(inherited[column])}")


def check_database_path(path, overwrite: bool = False, key: str = "path") -> Path:
    """The database file to write, or a :class:`~crmsim.errors.ScenarioError` that names
    ``key``, the value and what is allowed: a file name (not empty, not ending in a separator,
    not a folder) in an existing folder that can be written, and an existing file (or link)
    is replaced only with ``overwrite``."""
    text = os.fspath(path)
    example = "e.g. out/shop.duckdb"
    if not str(text).strip():
        raise ScenarioError(f"{key} = '{text}': an empty file name; give a file name, "
                            f"{example}")
    target = Path(path)
    if target.is_dir():
        raise ScenarioError(f"{key} = '{text}' is a folder; give a file name, e.g. "
                            f"{target / 'shop.duckdb'}")
    if str(text).endswith(("/", os.sep)):
        raise ScenarioError(f"{key} = '{text}' ends in '{text[-1]}' (a folder name); give a file "
                            f"name, e.g. {target / 'shop.duckdb'}")
    folder = target.parent
    if not folder.is_dir():
        raise ScenarioError(f"{key} = '{text}': folder '{folder}' does not exist; create it "
                            "first or choose a path in an existing folder")
    if os.path.lexists(target) and not overwrite:
        how = "--overwrite" if key.startswith("--") else "overwrite=True"
        what = "is a link" if target.is_symlink() else "exists already"
        raise ScenarioError(f"{key} = '{text}' {what}; choose a new file name, or pass "
                            f"{how} to replace it")
    probe = folder / f".{target.name}.{os.getpid()}.probe"
    try:  # a real write tells more than permission bits (read-only mounts, /proc, quotas)
        with open(probe, "xb"):
            pass
        probe.unlink()
    except OSError as err:
        raise ScenarioError(f"{key} = '{text}': cannot write in folder '{folder}' "
                            f"({err.strerror or err}); choose a folder you can write") from None
    return target


def write_database(result: RunResult, path, overwrite: bool = False) -> Path:
    """Write ``result``'s database to the DuckDB file ``path`` (atomically); return the path.

    The folder must exist; an existing file is an error unless ``overwrite`` (then it is
    replaced, together with a stale write-ahead log ``path.wal`` that DuckDB would otherwise
    replay onto the new file).
    """
    import duckdb

    target = check_database_path(path, overwrite)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(temporary)
    try:
        con = duckdb.connect(str(temporary))
        try:
            build(con, result)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        check_database_path(target, overwrite)  # still true after the (long) build?
        _remove(target.with_name(target.name + ".wal"))
        os.replace(temporary, target)
    finally:
        _remove(temporary)
    return target


def _remove(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- reading

_IN_MEMORY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def connect(source, read_only: bool = True):
    """A DuckDB connection to a run's database.

    ``source`` is a :class:`~crmsim.RunResult` (its database is built in memory once and kept
    while the result lives), the path of a database file written by :func:`write_database`, or
    an open ``duckdb`` connection (returned as is). A file is opened read-only by default.
    """
    import duckdb

    from crmsim.results import RunResult

    if isinstance(source, duckdb.DuckDBPyConnection):
        return source
    if isinstance(source, RunResult):
        con = _IN_MEMORY.get(source)
        if con is None:
            con = duckdb.connect(":memory:")
            build(con, source)
            _IN_MEMORY[source] = con
        return con
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ScenarioError(f"database = '{source}': no such file; write one with "
                                "result.to_duckdb(path) or crmsim run SCENARIO --db FILE")
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as err:
            raise ScenarioError(f"database = '{source}': not a DuckDB database it can open "
                                f"({str(err).splitlines()[0]})") from None
    raise TypeError(f"expected a RunResult, a database path or a duckdb connection, "
                    f"got {type(source).__name__}")


def sql(source, query: str, params: Any = None) -> pd.DataFrame:
    """Run a SQL query on a run's database and return a DataFrame.

    ``source``: a :class:`~crmsim.RunResult`, a database file, or a duckdb connection (see
    :func:`connect`). ``params`` fills ``?`` or ``$name`` placeholders.

    >>> import crmsim
    >>> res = crmsim.simulate(crmsim.load_scenario("retail_baseline").with_overrides(
    ...     {"customers.initial": 40, "horizon": 30}), seed=2)
    >>> crmsim.sql(res, "SELECT channel, count(*) AS customers FROM customers "
    ...                 "GROUP BY channel ORDER BY channel")["channel"].tolist()
    ['initial', 'paid']
    """
    con = connect(source)
    try:
        return con.execute(query, params).df()
    finally:
        if isinstance(source, (str, os.PathLike)):
            con.close()


def describe(source) -> pd.DataFrame:
    """Every table and view with its columns, types and comments (the data dictionary)."""
    return sql(source, """
        SELECT c.table_name AS "table", c.column_name AS "column", c.data_type AS type,
               c.comment
        FROM duckdb_columns() AS c
        WHERE NOT c.internal AND c.schema_name = 'main'
        ORDER BY c.table_name, c.column_index
    """)


def tables(source) -> pd.DataFrame:
    """Tables and views with their rows and comments."""
    con = connect(source)
    try:
        listed = con.execute("""
            SELECT table_name AS name, 'table' AS type, comment FROM duckdb_tables()
            WHERE NOT internal AND schema_name = 'main'
            UNION ALL
            SELECT view_name, 'view', comment FROM duckdb_views()
            WHERE NOT internal AND schema_name = 'main'
        """).df()
        listed.insert(2, "rows", [con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                                  for name in listed["name"]])
    finally:
        if isinstance(source, (str, os.PathLike)):
            con.close()
    return listed
