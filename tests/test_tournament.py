"""The class tournament: validation, ranking, ties and disqualification under common random numbers.

The ranking checks use a lever whose effect is known exactly: a fixed cost per time unit lowers
profit by cost × horizon and leaves every random draw alone, so under common random numbers the
paired difference between two teams is that number in every replication (an interval of width
zero) — a wrong ordering, a wrong sign or unpaired differences would all show.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from crmsim import ScenarioError, tournament
from crmsim.cli import main

HORIZON = 60


def write_class(folder, body: str = "", **fields) -> str:
    spec = {
        "name": "test class",
        "base": "retail_baseline",
        "overrides": {"customers.initial": 150, "horizon": HORIZON, "acquisition.rate": 1.0,
                      "acquisition.cost_per_acquisition": 1.0},
        "allow": {"economics.fixed_cost": [0, 50], "acquisition.rate": [0, 3],
                  "satisfaction.service_quality": {"min": 0.4, "max": 0.95},
                  "tiering.method": {"choices": ["abc", "rfm"]}},
        "objective": "profit",
        "replications": 3,
        "seed": 7,
        **fields,
    }
    import yaml

    path = folder / "class.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True) + body, encoding="utf-8")
    return str(path)


def submit(folder, file: str, text: str) -> None:
    (folder / "submissions").mkdir(exist_ok=True)
    (folder / "submissions" / file).write_text(textwrap.dedent(text), encoding="utf-8")


def team(board: pd.DataFrame, name: str) -> pd.Series:
    return board.set_index("team").loc[name]


def test_teams_are_ranked_by_the_objective_with_exact_paired_differences(tmp_path):
    class_file = write_class(tmp_path)
    submit(tmp_path, "a.yaml", "team: Costly\nset: {economics.fixed_cost: 20}\n")
    submit(tmp_path, "b.yaml", "team: Lean\nset: {economics.fixed_cost: 0}\n")
    submit(tmp_path, "c.yaml", "team: Middle\nset:\n  economics:\n    fixed_cost: 5\n")
    result = tournament.run_tournament(class_file, tmp_path / "submissions", progress=False)
    board = result.leaderboard
    assert list(board["team"]) == ["Lean", "Middle", "Costly"]
    assert list(board["rank"]) == [1, 2, 3]
    assert list(board["status"]) == ["leader", "behind leader", "behind leader"]
    for name, cost in (("Middle", 5), ("Costly", 20)):
        row = team(board, name)
        assert row["difference"] == pytest.approx(-cost * HORIZON)
        assert row["difference_low"] == pytest.approx(-cost * HORIZON)
        assert row["difference_high"] == pytest.approx(-cost * HORIZON)
    leader = team(board, "Lean")
    assert leader["objective_low"] < leader["objective_mean"] < leader["objective_high"]
    assert result.invalid.empty


def test_goal_min_ranks_the_lowest_first(tmp_path):
    class_file = write_class(tmp_path, objective="costs", goal="min")
    submit(tmp_path, "a.yaml", "team: Costly\nset: {economics.fixed_cost: 20}\n")
    submit(tmp_path, "b.yaml", "team: Lean\nset: {economics.fixed_cost: 0}\n")
    board = tournament.run_tournament(class_file, tmp_path / "submissions",
                                      progress=False).leaderboard
    assert list(board["team"]) == ["Lean", "Costly"]
    assert team(board, "Costly")["difference"] == pytest.approx(20 * HORIZON)


def test_a_policy_the_class_cannot_tell_apart_is_tied_with_the_leader(tmp_path):
    class_file = write_class(tmp_path)
    submit(tmp_path, "a.yaml", "team: Lean\nset: {economics.fixed_cost: 0}\n")
    submit(tmp_path, "b.yaml", "team: Copycat\nset: {economics.fixed_cost: 0, "
                               "tiering.method: rfm}\n")  # tiering is off: the same policy
    submit(tmp_path, "c.yaml", "team: Costly\nset: {economics.fixed_cost: 1}\n")
    board = tournament.run_tournament(class_file, tmp_path / "submissions",
                                      progress=False).leaderboard
    copycat, costly = team(board, "Copycat"), team(board, "Costly")
    assert copycat["status"] == "tied with leader"
    assert copycat["difference_low"] <= 0 <= copycat["difference_high"]
    # a small but certain difference is not a tie: its interval excludes zero
    assert costly["status"] == "behind leader"
    assert costly["difference_high"] == pytest.approx(-HORIZON)


def test_constraint_breakers_are_disqualified_with_the_reason(tmp_path):
    class_file = write_class(tmp_path, constraints=["acquisition_cost <= 100"])
    submit(tmp_path, "a.yaml", "team: Spender\nset: {acquisition.rate: 3}\n")
    submit(tmp_path, "b.yaml", "team: Frugal\nset: {acquisition.rate: 1}\n")
    submit(tmp_path, "c.yaml", "team: Costly frugal\nset: {acquisition.rate: 1, "
                               "economics.fixed_cost: 10}\n")
    result = tournament.run_tournament(class_file, tmp_path / "submissions", progress=False)
    board = result.leaderboard
    spender = team(board, "Spender")
    # the spender has the highest profit, yet the leader is the best team within the rules
    assert spender["objective_mean"] > board["objective_mean"].drop(
        board.index[board["team"] == "Spender"]).max()
    assert list(board["team"]) == ["Frugal", "Costly frugal", "Spender"]
    assert pd.isna(spender["rank"]) and list(board["rank"][:2]) == [1, 2]
    assert spender["status"].startswith("disqualified: acquisition_cost = ")
    assert "breaks acquisition_cost <= 100" in spender["status"]
    assert spender["acquisition_cost"] > 100 >= team(board, "Frugal")["acquisition_cost"]
    assert team(board, "Costly frugal")["difference"] == pytest.approx(-10 * HORIZON)


def test_bad_submissions_are_listed_and_left_out_while_the_others_run(tmp_path):
    class_file = write_class(tmp_path)
    submit(tmp_path, "good.yaml", "team: Good\nset: {economics.fixed_cost: 1}\n")
    submit(tmp_path, "also_good.yml", "team: Also good\nset: {}\n")
    submit(tmp_path, "not_allowed.yaml", "team: Sneaky\nset: {service.agents: 3}\n")
    submit(tmp_path, "out_of_range.yaml", "team: Greedy\nset: {economics.fixed_cost: 80}\n")
    submit(tmp_path, "typo.yaml", "team: Typo\nset: {economics.fixd_cost: 1}\n")
    submit(tmp_path, "choice.yaml", "team: Chooser\nset: {tiering.method: clv}\n")
    submit(tmp_path, "schema.yaml", "team: Schema\nset: {satisfaction.service_quality: high}\n")
    submit(tmp_path, "broken.yaml", "team: Broken\nset: {economics.fixed_cost: [\n")
    submit(tmp_path, "nameless.yaml", "set: {economics.fixed_cost: 1}\n")
    submit(tmp_path, "twice.yaml", "team: Good\nset: {economics.fixed_cost: 2}\n")
    (tmp_path / "submissions" / "notes.txt").write_text("not a submission")
    result = tournament.run_tournament(class_file, tmp_path / "submissions", progress=False)
    assert sorted(result.leaderboard["team"]) == ["Also good", "Good"]
    assert team(result.leaderboard, "Good")["difference"] == pytest.approx(-HORIZON)
    errors = result.invalid.set_index("file")["error"]
    assert sorted(errors.index) == ["broken.yaml", "choice.yaml", "nameless.yaml",
                                    "not_allowed.yaml", "out_of_range.yaml", "schema.yaml",
                                    "twice.yaml", "typo.yaml"]
    assert "service.agents: not on the class allow-list" in errors["not_allowed.yaml"]
    assert "economics.fixed_cost = 80: outside the allowed range [0, 50]" in \
        errors["out_of_range.yaml"]
    assert "economics.fixd_cost" in errors["typo.yaml"]
    assert "did you mean 'economics.fixed_cost'" in errors["typo.yaml"]
    assert "tiering.method = 'clv'" in errors["choice.yaml"]
    assert "satisfaction.service_quality = 'high'" in errors["schema.yaml"]
    assert errors["broken.yaml"].startswith("broken.yaml: malformed YAML at line")
    assert "missing key 'team'" in errors["nameless.yaml"]
    assert "already submitted good.yaml" in errors["twice.yaml"]
    assert result.invalid.set_index("file").loc["not_allowed.yaml", "team"] == "Sneaky"


@pytest.mark.parametrize(("fields", "message"), [
    ({"objective": "npv_proft"}, "objective = 'npv_proft': objective 'npv_proft' is not a KPI "
                                 "(did you mean 'npv_profit'?)"),
    ({"constraints": ["program_cost =< 5"]}, "is not a constraint such as"),
    ({"constraints": ["program_kost <= 5"]}, "(did you mean 'program_cost'?)"),
    ({"replications": 1}, "replications = 1: input should be greater than or equal to 2"),
    ({"allow": {"economics.fixed_cost": [5, 1]}}, "min 5 is above max 1"),
    ({"allow": {"economics.fixd_cost": [0, 1]}}, "allow: 'economics.fixd_cost' is not a key"),
    ({"objectiv": "profit"}, "unknown key 'objectiv' (did you mean 'objective'?)"),
    ({"base": "no_such_scenario"}, "base = 'no_such_scenario': no such file (looked for "),
])
def test_class_file_errors_name_the_key(tmp_path, fields, message):
    class_file = write_class(tmp_path, **fields)
    with pytest.raises(ScenarioError) as caught:
        tournament.load_class(class_file)
    assert message in str(caught.value)


def test_cli_example_runs_end_to_end_and_reruns_identically(tmp_path, capsys):
    folder = tmp_path / "example"
    assert main(["tournament", "--example", str(folder)]) == 0
    out = tmp_path / "league"
    assert main(["tournament", str(folder / "class.yaml"), str(folder / "submissions"),
                 "--out", str(out), "--quiet"]) == 0
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 3
    assert board["status"].iloc[0] == "leader"
    assert (board["objective_mean"].iloc[0] >= board["objective_mean"]).all() or \
        board["status"].str.startswith("disqualified").any()
    page = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert all(name in page for name in board["team"]) and "data:image/png;base64," in page
    assert (out / "leaderboard.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert board["team"].iloc[0] in printed
    assert main(["rerun", str(out), "--quiet"]) == 0
    assert "identical" in capsys.readouterr().out


def test_cli_reports_a_bad_class_in_one_line_with_exit_code_2(tmp_path, capsys):
    class_file = write_class(tmp_path, objective="profitt")
    (tmp_path / "submissions").mkdir()
    assert main(["tournament", class_file, str(tmp_path / "submissions")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crmsim: error: ") and "'profitt' is not a KPI" in err
    assert "Traceback" not in err
    assert main(["tournament"]) == 2


def _files(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _refused(argv, tmp_path, capsys, monkeypatch) -> str:
    """Run the command line; it must exit 2 with no traceback and write nothing. Returns
    stderr's last line (the error)."""
    import crmsim.experiment as experiment

    def must_not_run(*args, **kwargs):
        raise AssertionError("bad input must be refused before anything is simulated")

    monkeypatch.setattr(experiment, "simulate", must_not_run)
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert _files(tmp_path) == before
    lines = captured.err.strip().splitlines()
    assert lines[-1].startswith("crmsim: error: ")
    return lines[-1]


#: name → (class fields, text appended to the class file, fragments of the one-line error)
BAD_CLASSES = {
    "constraint against nan": ({"constraints": ["program_cost <= nan"]}, "",
                               ["class.yaml: constraints: 'program_cost <= nan'",
                                "must be a finite number"]),
    "constraint against inf": ({"constraints": ["program_cost <= inf"]}, "",
                               ["'program_cost <= inf'", "must be a finite number"]),
    "duplicate key": ({}, "seed: 5\n", ["class.yaml", "duplicate key 'seed'"]),
    "allow range outside the schema": (
        {"allow": {"satisfaction.service_quality": [0.6, 5.0]}}, "",
        ["class.yaml: allow: satisfaction.service_quality max 5.0 is not a value the scenario "
         "accepts", "satisfaction.service_quality = 5.0"]),
    "allow choice of the wrong type": (
        {"allow": {"win_back.enabled": {"choices": [True, 7]}}}, "",
        ["class.yaml: allow: win_back.enabled choice 7 is not a value the scenario accepts",
         "true or false is required, not 7"]),
    "override outside its allowed range": (
        {"overrides": {"customers.initial": 150, "horizon": HORIZON,
                       "economics.fixed_cost": 99}}, "",
        ["class.yaml: overrides: economics.fixed_cost = 99: outside the allowed range [0, 50]"]),
    "override nested and dotted": (
        {"overrides": {"customers.initial": 150, "customers": {"initial": 100}}}, "",
        ["class.yaml: overrides: customers.initial is given twice (nested and dotted"]),
    "base not found": ({"base": "no_such_scenario"}, "",
                       ["class.yaml: base = 'no_such_scenario': no such file",
                        "relative to the class file's folder", "no such shipped scenario"]),
    "base file not found": ({"base": "../nofile.yaml"}, "",
                            ["class.yaml: base = '../nofile.yaml': no such file"]),
}


@pytest.mark.parametrize("case", list(BAD_CLASSES))
def test_a_bad_class_file_is_refused_on_the_command_line(case, tmp_path, capsys, monkeypatch):
    fields, body, fragments = BAD_CLASSES[case]
    write_class(tmp_path, body, **fields)
    submit(tmp_path, "a.yaml", "team: A\nset: {economics.fixed_cost: 1}\n")
    line = _refused(["tournament", "class.yaml", "submissions", "--out", "league", "--quiet"],
                    tmp_path, capsys, monkeypatch)
    for fragment in fragments:
        assert fragment in line


@pytest.mark.parametrize(("text", "fragments"), [
    ("team: One\nset: {win_back.enabled: 1}\n",
     ["one.yaml: win_back.enabled = 1: not allowed in this class; choose one of true, false"]),
    ("team: Nested\nset:\n  economics: {fixed_cost: 5}\n  economics.fixed_cost: 8\n",
     ["one.yaml: set: economics.fixed_cost is given twice (nested and dotted: 5 and 8)"]),
    ("team: Twice\nteam: Again\nset: {}\n", ["one.yaml", "duplicate key 'team'"]),
])
def test_a_bad_submission_is_left_out_naming_the_key(text, fragments, tmp_path, capsys,
                                                      monkeypatch):
    write_class(tmp_path, allow={"economics.fixed_cost": [0, 50],
                                 "win_back.enabled": {"choices": [True, False]}})
    submit(tmp_path, "one.yaml", text)
    klass = tournament.load_class(tmp_path / "class.yaml")
    entries, invalid = tournament.read_submissions(klass, tmp_path / "submissions")
    assert not entries
    for fragment in fragments:
        assert fragment in invalid["error"].iloc[0]
    line = _refused(["tournament", "class.yaml", "submissions", "--out", "league", "--quiet"],
                    tmp_path, capsys, monkeypatch)
    assert "no valid submission in submissions" in line


def test_a_number_for_a_switch_is_refused_by_the_schema():
    base = tournament.load_scenario("retail_points")
    for value in (1, 0.0, "yes"):
        with pytest.raises(ScenarioError, match="win_back.enabled = .*: true or false is "
                                                "required"):
            base.with_overrides({"win_back.enabled": value})
    assert base.with_overrides({"win_back.enabled": True}).win_back.enabled is True


@pytest.mark.parametrize(("setup", "argv", "fragments"), [
    ("folder", ["tournament", "T", "submissions"],
     ["class file 'T': is a folder, not a class file"]),
    ("file", ["tournament", "class.yaml", "class.yaml"],
     ["submissions folder 'class.yaml': is a file, not a folder"]),
    ("file", ["tournament", "--example", "exfile"],
     ["--example 'exfile': is a file, not a folder"]),
    ("taken", ["tournament", "--example", "instr"],
     ["--example 'instr': already holds class.yaml and submissions/", "--force"]),
    ("file", ["tournament", "--example", "exfile/sub"], ["--example 'exfile/sub': cannot write"]),
])
def test_bad_tournament_paths_are_refused(setup, argv, fragments, tmp_path, capsys,
                                          monkeypatch):
    write_class(tmp_path)
    submit(tmp_path, "a.yaml", "team: A\nset: {economics.fixed_cost: 1}\n")
    (tmp_path / "T").mkdir()
    (tmp_path / "exfile").write_text("")
    (tmp_path / "instr" / "submissions").mkdir(parents=True)
    (tmp_path / "instr" / "class.yaml").write_text("# mine\n")
    (tmp_path / "instr" / "submissions" / "red_pandas.yaml").write_text("team: mine\n")
    line = _refused(argv, tmp_path, capsys, monkeypatch)
    for fragment in fragments:
        assert fragment in line
    assert (tmp_path / "instr" / "class.yaml").read_text() == "# mine\n"


def test_example_force_replaces_an_existing_example(tmp_path, capsys):
    folder = tmp_path / "instr"
    assert main(["tournament", "--example", str(folder)]) == 0
    assert main(["tournament", "--example", str(folder)]) == 2
    assert "already holds" in capsys.readouterr().err
    (folder / "class.yaml").write_text("# changed\n")
    assert main(["tournament", "--example", str(folder), "--force"]) == 0
    assert (folder / "class.yaml").read_text(encoding="utf-8").startswith("# An example class")
