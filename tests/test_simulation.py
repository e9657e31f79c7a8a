"""simulate(): determinism, common random numbers, tables and their accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmsim
from crmsim.results import KPI_DESCRIPTIONS

TRAITS = ["customer_id", "segment", "acquired_at", "purchase_rate", "churn_propensity",
          "spend_level", "price_sensitivity", "complaint_propensity", "initial_expectation"]


def test_same_seed_identical_tables(retail_small):
    a, b = crmsim.simulate(retail_small, seed=5), crmsim.simulate(retail_small, seed=5)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert a.kpis == b.kpis


def test_another_seed_differs(retail_small):
    a, b = crmsim.simulate(retail_small, seed=5), crmsim.simulate(retail_small, seed=6)
    assert not a.customers["purchase_rate"].equals(b.customers["purchase_rate"])
    assert a.kpis["revenue"] != b.kpis["revenue"]


def test_policy_change_leaves_untouched_draws_unchanged(retail_small):
    """CRN: latent traits and acquisition times do not depend on the service policy."""
    better = retail_small.with_overrides({"satisfaction.service_quality": 0.8})
    a, b = crmsim.simulate(retail_small, seed=2), crmsim.simulate(better, seed=2)
    n = min(len(a.customers), len(b.customers))
    pd.testing.assert_frame_equal(a.customers[TRAITS].head(n), b.customers[TRAITS].head(n))
    assert not a.customers["satisfaction"].equals(b.customers["satisfaction"])


def test_traits_are_monotone_in_the_customers_own_uniforms(retail_small):
    """Raising the purchase-rate scale keeps every customer's rank (quantile draws)."""
    faster = retail_small.with_overrides({"purchase.rate.rate": 20})
    a, b = crmsim.simulate(retail_small, seed=2), crmsim.simulate(faster, seed=2)
    regular = (a.customers["segment"] == "regular").to_numpy()
    ratio = (b.customers["purchase_rate"] / a.customers["purchase_rate"]).to_numpy()[regular]
    assert np.allclose(ratio, 40 / 20)


def test_events_are_in_time_order_and_within_horizon(retail_small):
    res = crmsim.simulate(retail_small, seed=1)
    times = res.events["time"].to_numpy()
    assert np.all(np.diff(times) >= 0)
    assert times.max() < retail_small.horizon


def test_money_adds_up(retail_small):
    res = crmsim.simulate(retail_small, seed=1)
    tx = res.transactions()
    assert list(tx.columns) == ["customer_id", "time", "amount"]
    assert tx["amount"].sum() == pytest.approx(res.kpis["revenue"])
    assert res.customers["revenue"].sum() == pytest.approx(res.kpis["revenue"])
    assert res.kpis["margin"] == pytest.approx(res.kpis["revenue"] * 0.3)
    assert len(tx) == res.customers["purchases"].sum() == res.kpis["purchases"]
    assert res.kpis["acquisition_cost"] == pytest.approx(25 * res.kpis["acquired"])
    assert res.kpis["profit"] == pytest.approx(res.kpis["margin"] - res.kpis["costs"])
    ts = res.timeseries
    for flow in ("revenue", "margin", "costs", "profit", "acquired", "churned", "purchases"):
        assert ts[flow].sum() == pytest.approx(res.kpis[flow])
    assert ts["active"].iloc[-1] == res.kpis["active_end"]


def test_first_purchase_at_acquisition_is_a_transaction(retail_small):
    res = crmsim.simulate(retail_small, seed=1)
    first = res.transactions().groupby("customer_id")["time"].min()
    acquired = res.customers.set_index("customer_id")["acquired_at"]
    assert np.allclose(first.to_numpy(), acquired.loc[first.index].to_numpy())


def test_npv_discounts_each_cash_flow():
    sc = crmsim.load_scenario("telecom_baseline").with_overrides(
        {"customers.initial": 200, "horizon": 12, "acquisition.rate": 0,
         "economics.discount_rate": 0.02, "satisfaction.quality_cost": 0,
         "switching_cost.upkeep": 0})  # no costs: npv_profit is the discounted margins
    res = crmsim.simulate(sc, seed=4)
    tx = res.transactions()
    expected = (tx["amount"] * 0.45 * 1.02 ** (-tx["time"])).sum()
    assert res.kpis["npv_profit"] == pytest.approx(expected)
    assert res.kpis["npv_profit"] < res.kpis["profit"]
    zero = crmsim.simulate(sc.with_overrides({"economics.discount_rate": 0}), seed=4)
    assert zero.kpis["npv_profit"] == pytest.approx(zero.kpis["profit"])


def test_kpis_have_contract_names_and_meanings(telecom_small):
    res = crmsim.simulate(telecom_small, seed=1)
    for name in ("active_end", "acquired", "churned", "revenue", "margin", "costs", "profit",
                 "npv_profit", "mean_satisfaction"):
        assert name in res.kpis
    assert set(res.kpis) <= set(KPI_DESCRIPTIONS)
    assert res.kpis["active_end"] == res.kpis["initial"] + res.kpis["acquired"] - res.kpis["churned"]


def test_contractual_payments_fall_on_renewal_dates(telecom_small):
    res = crmsim.simulate(telecom_small, seed=1)
    tx = res.transactions().merge(res.customers[["customer_id", "acquired_at"]])
    tenure = tx["time"] - tx["acquired_at"]
    assert np.allclose(tenure, np.round(tenure))  # period 1: whole months after sign-up


def test_segments_get_their_own_traits(retail_small):
    res = crmsim.simulate(retail_small.with_overrides({"customers.initial": 2000}), seed=1)
    by_segment = res.customers.groupby("segment", observed=True)
    share = by_segment.size() / len(res.customers)
    assert share["bargain_hunter"] == pytest.approx(0.2, abs=0.03)
    rates = by_segment["purchase_rate"].mean()
    assert rates["bargain_hunter"] == pytest.approx(0.05, rel=0.15)
    assert rates["regular"] == pytest.approx(0.03, rel=0.15)


def test_better_service_lowers_churn_paired(retail_small):
    """A wrong sign on the satisfaction coefficient would make this fail."""
    sc = retail_small.with_overrides({"customers.initial": 1500})
    better = sc.with_overrides({"satisfaction.service_quality": 0.85})
    diffs = [crmsim.simulate(better, s).kpis["churned"] - crmsim.simulate(sc, s).kpis["churned"]
             for s in range(3)]
    assert max(diffs) < 0


def test_simulate_rejects_bad_arguments(retail_small):
    with pytest.raises(TypeError, match="needs a Scenario"):
        crmsim.simulate({"horizon": 3})
    with pytest.raises(ValueError, match="seed = -1"):
        crmsim.simulate(retail_small, seed=-1)


def test_a_profiler_holding_frames_cannot_break_a_run():
    """A sampling profiler (a dask worker runs one) may hold the frame of a function that has
    just returned, and with it that function's locals. A run must not leave a numpy view of a
    growing column in any local: a held view pins the column's buffer and its next append
    raises BufferError (this failed one sweep replication on a dask cluster). Here every crmsim
    frame is held after it returns, the worst a profiler can do; every shipped scenario with
    mid-run scans (desk, warning, campaigns, rewards, tiers) must give its usual KPIs."""
    import collections
    import sys

    names = ["retail_baseline", "churn_warning_winback", "retail_campaigns",
             "complaints_recovery", "retail_points", "telecom_portability"]
    plain = {}
    for name in names:
        scenario = crmsim.load_scenario(name).with_overrides(
            {"customers.initial": 150, "horizon": 200, "acquisition.rate": 1})
        plain[name] = (scenario, crmsim.simulate(scenario, seed=3).kpis)
    held = collections.deque(maxlen=10_000)

    def hold(frame, event, arg):
        if event == "return" and "crmsim" in frame.f_code.co_filename:
            held.append(frame)

    for name, (scenario, kpis) in plain.items():
        sys.setprofile(hold)
        try:
            profiled = crmsim.simulate(scenario, seed=3).kpis
        finally:
            sys.setprofile(None)
        assert held, "the profile hook saw no crmsim frame"
        held.clear()
        assert profiled == pytest.approx(kpis, nan_ok=True), name


def test_a_finished_market_lets_go_of_its_running_state(retail_small):
    """After the horizon nothing runs again: the pending wake-ups (every customer's next one,
    the processes of the policies) and the customers' draw blocks are released, while the
    clock and everything the tables read stay (the digests check the tables)."""
    import gc

    from crmsim.model.market import Market
    from crmsim.simulation import as_seed_sequence

    market = Market(retail_small, as_seed_sequence(1)).run()
    assert market.env.now == retail_small.horizon
    assert market.env.peek() == float("inf")  # no pending event left
    assert all(c.draws is None and c.handling is None for c in market.customers)
    assert any(c.active for c in market.customers)  # active customers too, not only churned
    customers = {id(c) for c in market.customers}
    # a pending wake-up is an entry of the clock, (time, priority, number, step, customer, value)
    waiting = [w for w in gc.get_objects() if isinstance(w, tuple) and len(w) == 6
               and id(w[4]) in customers]
    assert not waiting, f"{len(waiting)} customers' wake-ups still held"
    alive = [p for p in gc.get_objects()
             if type(p).__name__ == "Process" and getattr(p, "env", None) is market.env]
    assert not alive, f"{len(alive)} processes still held"


def test_a_finished_run_holds_its_events_once(retail_small):
    """Once the run is over the recorder's columns are sealed into numpy arrays, read-only;
    the KPIs' columns and the events table share their memory instead of copying them (a
    million-customer run would otherwise hold its events three times while its tables are
    built: benchmarks/RESULTS.md)."""
    from crmsim.model.market import Market
    from crmsim.simulation import as_seed_sequence

    recorder = Market(retail_small, as_seed_sequence(1)).run().recorder
    assert recorder.sealed
    columns = recorder.columns()
    assert all(not column.flags.writeable for column in columns.values())
    events = recorder.events_table()
    for name in ("time", "customer_id", "amount"):
        assert np.shares_memory(events[name].to_numpy(), columns[name]), name
    assert columns["kind"].dtype == np.int8 and len(events) == len(columns["time"])


def test_changing_a_table_in_place_changes_no_other_table(retail_small):
    """The events table shares the sealed columns that the money is derived from: a user who
    changes it in place gets a copy of the column (pandas' copy-on-write), and the tables built
    after it, the columns and the KPIs are those of an untouched run."""
    from pandas.testing import assert_frame_equal

    untouched = crmsim.simulate(retail_small, seed=4)
    changed = crmsim.simulate(retail_small, seed=4)
    events = changed.events
    events.loc[events.index[:50], "amount"] = 1e9
    events.iloc[:50, 0] = -1.0
    events["customer_id"] += 7
    assert_frame_equal(changed.customers, untouched.customers)
    assert_frame_equal(changed.timeseries, untouched.timeseries)
    assert changed.kpis == pytest.approx(untouched.kpis, nan_ok=True)
    assert (changed.events["amount"].iloc[:50] == 1e9).all()
    assert_frame_equal(crmsim.simulate(retail_small, seed=4).events, untouched.events)


def test_customers_read_their_traits_from_the_markets_columns(retail_small):
    """Latent traits live in one column per trait (no Python float per customer); each
    customer's attributes are its row, and customers are added in id order only."""
    from crmsim.model.customer import Traits
    from crmsim.model.market import Market
    from crmsim.simulation import as_seed_sequence

    market = Market(retail_small, as_seed_sequence(2)).run()
    assert len(market.traits) == len(market.customers) > retail_small.customers.initial
    for name in Traits.NAMES:
        column = np.frombuffer(getattr(market.traits, name), dtype=float)
        values = np.array([getattr(c, name) for c in market.customers])
        assert np.array_equal(values, column), name
    assert len(set(market.traits.purchase_rate)) == len(market.customers)  # one each
    with pytest.raises(RuntimeError, match="in id order: the next id is"):
        market.add_customers(0, 1, at=market.env.now)


def test_a_finished_run_gives_its_freed_memory_back():
    """glibc keeps freed heap memory for later allocations; the market asks it to give the
    free pages back when the run is over (malloc_trim). Where the C library has no such call,
    the request says so instead of failing."""
    import platform

    from crmsim.model import collector

    assert collector.give_back_free_memory() is (platform.libc_ver()[0] == "glibc")


def _huge_page_kb(address: int) -> int:
    """AnonHugePages (kB) of the mapping that holds ``address`` (/proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
                start, end = (int(x, 16) for x in fields[0].split("-"))
                inside = start <= address < end
            elif inside and fields[0] == "AnonHugePages:":
                return int(fields[1])
    return 0


def test_a_large_run_backs_its_memory_with_huge_pages(monkeypatch):
    """On Linux 6.1+ (huge pages not set to "never"), memory in use is backed by 2 MB pages
    after use_huge_pages (nothing is done where they are "never"), and a market of
    HUGE_PAGES_FROM customers or more asks for it at each report, the first once its customers
    exist (a smaller one never does)."""
    import ctypes
    import platform
    import re
    import sys
    from pathlib import Path

    from crmsim.model import collector
    from crmsim.model import market as market_module

    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    release = re.match(r"(\d+)\.(\d+)", platform.release())
    # MADV_COLLAPSE: Linux 6.1 and later, unless the administrator set huge pages to "never"
    can_collapse = (sys.platform.startswith("linux") and thp.exists() and release is not None
                    and (int(release[1]), int(release[2])) >= (6, 1)
                    and "[never]" not in thp.read_text())
    # 16 MB in use, from the C heap (numpy would ask for huge pages itself)
    block = bytearray(b"\x01") * (16 << 20)
    middle = ctypes.addressof(ctypes.c_char.from_buffer(block)) + (8 << 20)
    collapsed = collector.use_huge_pages()
    if can_collapse:
        assert collapsed >= 1
        assert _huge_page_kb(middle) >= 2048
    elif not thp.exists() or "[never]" in thp.read_text():
        assert collapsed == 0
    calls = []
    monkeypatch.setattr(collector, "use_huge_pages", lambda: calls.append(1) or 0)
    sc = crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 300, "horizon": 30})
    crmsim.simulate(sc, seed=1)
    assert calls == []
    monkeypatch.setattr(market_module, "HUGE_PAGES_FROM", 300)
    result = crmsim.simulate(sc, seed=1)
    assert len(calls) == len(result.timeseries)  # at each report (the first at t = 0)


def test_reading_details_while_recording_pins_no_column():
    """Before the recorder is sealed its columns still grow: reading the details codes (for
    an events table of a market still running) takes a copy, never a view that would pin the
    column (a held view makes the next event raise BufferError)."""
    from crmsim.results import PURCHASE, STAGE, Recorder

    recorder = Recorder(0.1)
    recorder.event(0.0, 0, STAGE, details="exploration")
    held = recorder._detail_codes()  # noqa: SLF001 — what the tables read
    table = recorder.events_table()
    recorder.event(1.0, 0, PURCHASE, 5.0)  # would raise BufferError if a view were held
    assert list(held) == [1] and list(table["details"]) == ["exploration"]
    assert list(recorder.events_table()["details"].fillna("-")) == ["exploration", "-"]


def test_a_categorical_column_takes_any_number_of_categories():
    """The customers table's categorical columns are built from codes; more categories than a
    byte holds (a scenario may have hundreds of segments) still work, and give what
    pd.Categorical gives."""
    from crmsim.simulation import categorical

    names = [f"segment {k}" for k in range(300)]
    values = ["segment 299", "segment 0", "segment 128"]
    column = categorical(iter(values), names, 3)
    assert column.equals(pd.Categorical(values, categories=names))
    assert list(column.codes) == [299, 0, 128]
