"""The crmsim command: outputs, files and exit codes (2 for bad input, never a traceback)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from crmsim.cli import main

SMALL = ["--set", "customers.initial=60", "--set", "horizon=60"]


def test_run_prints_kpis_and_writes_tables_and_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "retail_baseline", "--seed", "3", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "active_end" in printed and "npv_profit" in printed
    for name in ("events", "customers", "timeseries", "kpis"):
        assert (out / f"{name}.csv").exists()
    for plot in ("lifecycle.png", "money.png", "survival.png"):
        assert (out / plot).stat().st_size > 10_000
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == int(pd.read_csv(out / "kpis.csv")["initial"][0]) + int(
        pd.read_csv(out / "kpis.csv")["acquired"][0])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "retail_baseline", "--set", "churn.bsae=0.1"], "did you mean 'churn.base'"),
        (["run", "retail_baseline", "--set", "customers.initial=many"], "customers.initial"),
        (["run", "retail_baseline", "--set", "churn.base=2"], "less than or equal to 1"),
        (["run", "retail_baseline", "--set", "service.agents"], "expected key=value"),
        (["run", "nowhere.yaml"], "file not found"),
        (["compare", "retail_baseline", "--replications", "0"], "--replications: 0: must be"),
        (["sweep", "retail_baseline", "--param", "churn.base"], "expected key=v1,v2"),
        (["validate", "--only", "nothing"], "unknown reduction 'nothing'"),
        (["scenarios", "show"], "needs a FILE"),
    ],
)
def test_bad_input_exits_2_with_one_message(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err


def test_bad_yaml_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: retail_baseline.yaml\nchurn: [\n")
    assert main(["run", str(bad)]) == 2
    assert "malformed YAML" in capsys.readouterr().err


def test_console_script_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "cycle.yaml"
    bad.write_text("extends: cycle.yaml\n")
    proc = subprocess.run([sys.executable, "-m", "crmsim.cli", "run", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "cycle" in proc.stderr and "Traceback" not in proc.stderr


def test_scenarios_list_show_schema(capsys):
    assert main(["scenarios"]) == 0
    assert "telecom_baseline.yaml" in capsys.readouterr().out
    assert main(["scenarios", "show", "retail_better_service"]) == 0
    shown = capsys.readouterr().out
    assert "service_quality: 0.78" in shown and "extends" not in shown
    assert main(["scenarios", "schema"]) == 0
    assert '"additionalProperties": false' in capsys.readouterr().out


def test_compare_prints_side_by_side_and_paired_differences(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", "retail_baseline", "retail_better_service", "--replications", "3",
                 "--quiet", *SMALL, "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "paired differences against 'retail_baseline'" in printed
    assert (out / "kpis.csv").exists() and (out / "differences.csv").exists()
    assert (out / "kpi_intervals.png").exists()


def test_sweep_prints_one_row_per_value(capsys):
    code = main(["sweep", "retail_baseline", "--param", "satisfaction.service_quality=0.6,0.8",
                 "--replications", "2", "--quiet", "--kpi", "churned", *SMALL])
    assert code == 0
    printed = capsys.readouterr().out
    assert "0.6" in printed and "0.8" in printed and "churned" in printed


def test_validate_subset_passes(capsys):
    assert main(["validate", "--only", "clv", "--set", "customers.initial=1500"]) == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_kpis_zero_or_undefined_everywhere_are_hidden_from_the_printout(capsys):
    assert main(["run", "retail_baseline", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "desk_contacts" not in printed and "KPIs not shown" in printed
    assert main(["run", "complaints_recovery", *SMALL]) == 0
    assert "desk_contacts" in capsys.readouterr().out  # the desk works: its KPIs are shown


def test_option_errors_are_one_line_and_help_is_exit_0(capsys):
    assert main(["compare", "retail_baseline", "--jobs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--jobs: 0: must be an integer >= 1" in err
    assert main(["run", "--help"]) == 0
    assert "--force" in capsys.readouterr().out
