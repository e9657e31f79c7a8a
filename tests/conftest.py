"""Shared fixtures: small scenarios that run in well under a second."""

from __future__ import annotations

import pytest

import crmsim


@pytest.fixture
def retail_small():
    """The retail baseline with 300 customers over 120 days."""
    return crmsim.load_scenario("retail_baseline").with_overrides(
        {"customers.initial": 300, "horizon": 120, "acquisition.rate": 1.0}
    )


@pytest.fixture
def telecom_small():
    """The telecom baseline with 300 customers over 12 months."""
    return crmsim.load_scenario("telecom_baseline").with_overrides(
        {"customers.initial": 300, "horizon": 12, "acquisition.rate": 10}
    )


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
