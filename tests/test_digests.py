"""Bit-identical results: a digest of every table of every shipped scenario at two seeds.

A refactoring or an optimisation must not change a single number. This test runs every
scenario in ``scenarios/`` (not the validation reductions, which have their own checks) at
seeds 1 and 2 and compares a SHA-256 digest of each table (events, customers, timeseries,
recovery, contacts) and of the KPIs with the digests recorded in ``tests/digests.json``.

When the model's behaviour changes *on purpose*, record the new digests and say so in the
commit::

    .venv/bin/python tests/test_digests.py --record
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

import crmsim
from crmsim.scenario import SCENARIO_DIR

RECORD = Path(__file__).with_name("digests.json")
SEEDS = (1, 2)
TABLES = ("events", "customers", "timeseries", "recovery", "contacts")


def _scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def table_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and every value (bit for bit)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, frame.columns)), list(map(str, frame.dtypes))]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def kpi_digest(kpis: dict) -> str:
    plain = {k: ("nan" if isinstance(v, float) and math.isnan(v) else repr(v))
             for k, v in kpis.items()}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]


def digests_of(name: str, seed: int) -> dict[str, str]:
    res = crmsim.simulate(crmsim.load_scenario(name), seed=seed)
    out = {table: table_digest(getattr(res, table)) for table in TABLES}
    out["kpis"] = kpi_digest(res.kpis)
    return out


def _recorded() -> dict:
    return json.loads(RECORD.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", _scenario_names())
def test_tables_are_bit_identical_to_the_recorded_ones(name):
    recorded = _recorded()
    assert name in recorded, f"no digest recorded for {name}: run tests/test_digests.py --record"
    for seed in SEEDS:
        now = digests_of(name, seed)
        changed = [t for t, d in now.items() if recorded[name][str(seed)].get(t) != d]
        assert not changed, f"{name} seed {seed}: {', '.join(changed)} changed"


def test_a_changed_number_changes_the_digest():
    """The digest sees a change in the last bit of one value."""
    res = crmsim.simulate(crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 50, "horizon": 60}), seed=1)
    table = res.customers.copy()
    before = table_digest(table)
    table.loc[3, "revenue"] = math.nextafter(table.loc[3, "revenue"], math.inf)
    assert table_digest(table) != before


if __name__ == "__main__":  # pragma: no cover - recording tool
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_digests.py --record")
    record = {name: {str(seed): digests_of(name, seed) for seed in SEEDS}
              for name in _scenario_names()}
    RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {len(record)} scenarios × {len(SEEDS)} seeds in {RECORD}")
