"""The firm's customer database: the run's rows exactly, RFM as crmsim.analysis computes it, the
truth kept apart, comments and keys set, and a clear error for a bad path."""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim import database
from crmsim.analysis import rfm_scores
from crmsim.cli import main

#: a shop with everything a CRM database records: three acquisition channels, a desk with
#: inquiries and complaints, points and membership tiers, value tiers, retention offers
SHOP = {
    "customers.initial": 250,
    "horizon": 180,
    "acquisition.rate": 1.0,
    "acquisition.market_size": 10000,
    "acquisition.innovation": 0.00005,
    "acquisition.imitation": 0.002,
    "service.agents": 1,
    "rewards.enabled": True,
    "rewards.tiers": [{"name": "silver", "min_spend": 300, "discount": 0.02},
                      {"name": "gold", "min_spend": 800, "discount": 0.05, "priority_boost": 1}],
    "tiering.enabled": True,
    "tiering.method": "rfm",
    "warning.enabled": True,
    "warning.top_k": 20,
}
#: a telecom operator: contracts (many tied RFM values), win-back approaches
TELECOM = {"customers.initial": 300, "acquisition.rate": 15, "horizon": 18}


@functools.cache
def shop() -> crmsim.RunResult:
    return crmsim.simulate(crmsim.load_scenario("complaints_recovery").with_overrides(SHOP),
                           seed=4)


@functools.cache
def telecom() -> crmsim.RunResult:
    return crmsim.simulate(
        crmsim.load_scenario("churn_warning_winback").with_overrides(TELECOM), seed=2)


RUNS = {"shop": shop, "telecom": telecom}


@pytest.mark.parametrize("run", RUNS)
def test_sql_rfm_scores_equal_crmsim_analysis(run):
    res = RUNS[run]()
    in_sql = crmsim.sql(res, "SELECT * FROM rfm ORDER BY customer_id").set_index("customer_id")
    in_pandas = rfm_scores(res.transactions(), observation_end=res.scenario.horizon)
    assert in_sql.index.equals(in_pandas.index)
    for column in ("r_score", "f_score", "m_score", "rfm_cell", "rfm_score", "frequency",
                   "recency"):
        assert (in_sql[column].to_numpy() == in_pandas[column].to_numpy()).all(), column
    # sums in another order: equal up to rounding
    np.testing.assert_allclose(in_sql["monetary"], in_pandas["monetary"], rtol=1e-12)
    # the tie rule is exercised: a group of tied frequencies larger than a quintile
    assert in_pandas["frequency"].value_counts().max() > len(in_pandas) / 5


@pytest.mark.parametrize("run", RUNS)
def test_the_database_holds_exactly_the_runs_rows(run):
    res = RUNS[run]()
    count = crmsim.sql(res, """
        SELECT (SELECT count(*) FROM customers) AS customers,
               (SELECT count(*) FROM transactions) AS transactions,
               (SELECT count(*) FROM contacts) AS contacts,
               (SELECT count(*) FROM offers) AS offers,
               (SELECT count(*) FROM timeseries) AS timeseries,
               (SELECT count(*) FROM truth) AS truth,
               (SELECT count(*) FROM customer_360) AS customer_360,
               (SELECT sum(amount) FROM transactions) AS revenue,
               (SELECT sum(cost) FROM offers) AS offer_cost,
               (SELECT count(*) FROM customers WHERE channel = 'initial') AS initial,
               (SELECT count(*) FROM customers WHERE channel = 'paid') AS paid,
               (SELECT count(*) FROM customers WHERE channel = 'word_of_mouth') AS word_of_mouth,
               (SELECT sum(acquisition_cost) FROM customers) AS acquisition_cost
    """).iloc[0]
    k = res.kpis
    sent = res.events["kind"].isin(["offer", "win_back_attempt"]).sum()
    assert count["customers"] == count["truth"] == count["customer_360"] == len(res.customers)
    assert count["transactions"] == len(res.transactions()) == k["purchases"]
    assert count["contacts"] == len(res.contacts) == k["desk_contacts"]
    assert count["offers"] == sent == k["offers"] + k["win_back_attempts"]
    assert count["timeseries"] == len(res.timeseries)
    assert count["revenue"] == pytest.approx(k["revenue"], rel=1e-12)
    assert count["offer_cost"] == pytest.approx(k["offer_cost"] + k["win_back_cost"], rel=1e-12)
    assert (count["initial"], count["paid"], count["word_of_mouth"]) == (
        k["initial"], k["acquired_paid"], k["acquired_word_of_mouth"])
    assert count["acquisition_cost"] == pytest.approx(k["acquisition_cost"], rel=1e-12)


def test_the_shop_run_fills_every_table():
    """The test run exercises what the checks above claim to check."""
    k = shop().kpis
    assert k["acquired_paid"] > 50 and k["acquired_word_of_mouth"] > 50
    assert k["complaints"] > 20 and k["offers"] > 50 and k["members"] > 50
    assert k["desk_abandon_rate"] > 0.01  # some complaints end abandoned
    assert telecom().kpis["win_back_attempts"] > 20


def test_each_complaint_gets_its_own_outcome():
    """Quick means resolved within service.quick_resolution of the complaint (the failure);
    the pairing of complaints with outcomes is what makes this hold row by row."""
    res = shop()
    quick = res.scenario.service.quick_resolution
    complaints = crmsim.sql(res, "SELECT * FROM contacts WHERE kind = 'complaint'")
    known = complaints.dropna(subset=["outcome"])
    assert len(known) >= len(complaints) - 2  # at most the last ones are pending
    assert set(known["outcome"]) == {"quick", "resolved", "unresolved", "abandoned"}
    took = known["resolved_at"] - known["arrival"]
    assert (took[known["outcome"] == "quick"] <= quick).all()
    assert (took[known["outcome"] == "resolved"] > quick).all()
    assert (~known.loc[known["outcome"] == "abandoned", "answered"]).all()
    assert known.loc[known["outcome"] != "abandoned", "answered"].all()
    assert (took >= known["wait"] - 1e-12).all()
    assert complaints["contact_id"].is_monotonic_increasing
    per_customer = crmsim.sql(res, "SELECT customer_id, complaints FROM customer_360")
    expected = res.customers.set_index("customer_id")["complaints"]
    assert (per_customer.set_index("customer_id")["complaints"] == expected).all()


def test_offers_record_what_the_firm_sees():
    res = shop()
    offers = crmsim.sql(res, """
        SELECT o.*, EXISTS (SELECT 1 FROM transactions AS t
                            WHERE t.customer_id = o.customer_id
                              AND t.time > o.time AND t.time <= o.valid_until) AS bought
        FROM offers AS o WHERE kind = 'retention_offer'
    """)
    assert set(offers["response"]) >= {"bought", "no purchase"}
    assert ((offers["response"] == "bought") == offers["bought"]).all()
    horizon = res.scenario.horizon
    assert (offers.loc[offers["response"] == "open", "valid_until"] > horizon).all()
    win_back = crmsim.sql(telecom(), "SELECT response, count(*) AS n FROM offers "
                                     "WHERE kind = 'win_back' GROUP BY response")
    assert dict(zip(win_back["response"], win_back["n"])) == {
        "won": telecom().kpis["win_backs"],
        "lost": telecom().kpis["win_back_attempts"] - telecom().kpis["win_backs"]}


def test_the_truth_is_a_separate_table_with_the_latent_traits():
    res = shop()
    con = database.connect(res)
    hidden = {"purchase_rate", "churn_propensity", "spend_level", "price_sensitivity",
              "complaint_propensity", "satisfaction", "expectation", "loyalty_type", "stage",
              "churned_at", "churn_reason", "quality_fit"}
    columns = con.execute("SELECT table_name, column_name FROM duckdb_columns()").df()
    firm = columns[columns["table_name"] != "truth"]
    assert not hidden & set(firm["column_name"]), "a hidden trait leaked into the firm's tables"
    truth = crmsim.sql(res, "SELECT * FROM truth ORDER BY customer_id")
    model = res.customers
    for trait in ("purchase_rate", "churn_propensity", "spend_level", "satisfaction"):
        np.testing.assert_array_equal(truth[trait].to_numpy(), model[trait].to_numpy())
    assert (truth["loyalty_type"] == model["loyalty_type"].astype(str)).all()
    assert (truth["active"] == model["churned_at"].isna()).all()
    np.testing.assert_array_equal(truth["churned_at"].to_numpy(), model["churned_at"].to_numpy())
    # a shop does not see its customers leave; a telecom operator sees contracts end
    assert crmsim.sql(res, "SELECT count(ended_at) AS n FROM customers")["n"][0] == 0
    ended = crmsim.sql(telecom(), "SELECT c.ended_at, t.churned_at FROM customers c "
                                  "JOIN truth t USING (customer_id)")
    np.testing.assert_array_equal(ended["ended_at"].to_numpy(), ended["churned_at"].to_numpy())


def test_a_shop_sees_the_end_only_of_customers_it_dropped():
    res = crmsim.simulate(crmsim.load_scenario("retail_baseline").with_overrides({
        "customers.initial": 200, "horizon": 120, "economics.cost_to_serve": 0.25,
        "tiering.enabled": True, "tiering.method": "clv", "tiering.drop_unprofitable": True}),
        seed=1)
    seen = crmsim.sql(res, "SELECT c.ended_at IS NOT NULL AS seen, t.churn_reason, "
                           "c.ended_at, t.churned_at FROM customers AS c "
                           "JOIN truth AS t USING (customer_id) WHERE t.churned_at IS NOT NULL")
    assert seen["seen"].sum() == res.kpis["dropped"] > 10
    assert (seen.loc[seen["seen"], "churn_reason"] == "dropped").all()
    assert (seen["ended_at"].dropna() == seen.loc[seen["seen"], "churned_at"]).all()
    assert (~seen["seen"]).sum() > 10  # customers who left on their own: silence


def test_tables_have_keys_types_and_comments():
    con = database.connect(shop())
    columns = database.describe(con)
    assert columns["comment"].notna().all() and (columns["comment"].str.len() > 3).all(), \
        columns.loc[columns["comment"].isna(), ["table", "column"]]
    listed = database.tables(con)
    assert listed["comment"].notna().all()
    assert set(listed["name"]) == {"customers", "transactions", "contacts", "offers",
                                   "timeseries", "run", "truth", "rfm", "customer_360"}
    keys = con.execute("SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                       "WHERE constraint_type = 'PRIMARY KEY'").df()
    assert dict(zip(keys["table_name"], keys["constraint_column_names"].map(list))) == {
        "customers": ["customer_id"], "transactions": ["transaction_id"],
        "contacts": ["contact_id"], "offers": ["offer_id"], "timeseries": ["time"],
        "run": ["scenario"], "truth": ["customer_id"]}
    types = columns.set_index(["table", "column"])["type"]
    assert types[("transactions", "amount")] == "DOUBLE"
    assert types[("contacts", "answered")] == "BOOLEAN"
    assert types[("customers", "customer_id")] == "BIGINT"
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO transactions VALUES (999999, 999999, 1.0, 1.0, 'purchase')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO customers VALUES (999999, 0, 'television', 0, 'all', 'none', "
                    "false, 'none', 0, NULL)")


def test_run_with_db_writes_a_database_that_sql_reads(tmp_path, capsys):
    path = tmp_path / "shop.duckdb"
    argv = ["run", "complaints_recovery", "--seed", "3", "--set", "customers.initial=80",
            "--set", "horizon=60", "--db", str(path)]
    assert main(argv) == 0
    assert "customer database written" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["shop.duckdb"]  # no temporary file left
    counts = crmsim.sql(path, "SELECT (SELECT count(*) FROM customers) AS customers, "
                              "(SELECT count(*) FROM contacts) AS contacts, "
                              "(SELECT seed FROM run) AS seed")
    res = crmsim.simulate(crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 80, "horizon": 60}), seed=3)
    assert counts.iloc[0].tolist() == [len(res.customers), len(res.contacts), 3]
    # the file is closed after the query: it can be replaced
    assert main([*argv, "--seed", "4", "--overwrite"]) == 0
    assert crmsim.sql(path, "SELECT seed FROM run")["seed"][0] == 4


@pytest.mark.parametrize(("where", "extra", "fragment"), [
    ("missing/shop.duckdb", [], "folder"),
    ("existing.duckdb", [], "exists already; choose a new file name, or pass --overwrite"),
    (".", [], "is a folder"),
])
def test_bad_db_path_exits_2_before_running(tmp_path, capsys, where, extra, fragment):
    (tmp_path / "existing.duckdb").write_text("the firm's old database")
    target = tmp_path / where
    argv = ["run", "retail_baseline", "--set", "customers.initial=20", "--set", "horizon=10",
            "--db", str(target), *extra]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and "--db" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # nothing ran
    assert (tmp_path / "existing.duckdb").read_text() == "the firm's old database"
    assert not (tmp_path / "missing").exists()


def test_api_errors_are_clear(tmp_path):
    res = crmsim.simulate(crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 20, "horizon": 10}), seed=1)
    path = res.to_duckdb(tmp_path / "a.duckdb")
    with pytest.raises(crmsim.ScenarioError, match="exists already.*overwrite=True"):
        res.to_duckdb(path)
    with pytest.raises(crmsim.ScenarioError, match="no such file"):
        crmsim.sql(tmp_path / "nothing.duckdb", "SELECT 1")
    (tmp_path / "text.duckdb").write_text("not a database")
    with pytest.raises(crmsim.ScenarioError, match="not a DuckDB database"):
        crmsim.sql(tmp_path / "text.duckdb", "SELECT 1")
    with pytest.raises(TypeError, match="RunResult, a database path"):
        crmsim.sql(42, "SELECT 1")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    res = crmsim.simulate(crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 20, "horizon": 10}), seed=1)
    path = res.to_duckdb(tmp_path / "shop.duckdb")
    before = path.read_bytes()

    def broken(con, result):
        con.execute("CREATE TABLE customers (customer_id BIGINT)")
        raise RuntimeError("disk full")

    monkeypatch.setattr(database, "build", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        res.to_duckdb(path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["shop.duckdb"]


def test_the_same_seed_writes_the_same_database(tmp_path):
    """Reproducible: two runs with one seed give identical tables in the database."""
    sc = crmsim.load_scenario("complaints_recovery").with_overrides(
        {"customers.initial": 60, "horizon": 40})
    frames = []
    for k in range(2):
        path = crmsim.simulate(sc, seed=7).to_duckdb(tmp_path / f"{k}.duckdb")
        frames.append({t: crmsim.sql(path, f"SELECT * FROM {t}") for t in
                       ("customers", "transactions", "contacts", "truth", "customer_360")})
    for table, frame in frames[0].items():
        pd.testing.assert_frame_equal(frame, frames[1][table], obj=table)
