"""A class tournament (课堂竞赛): teams submit policies, all run under the same random numbers.

Business-school simulation games (Markstrat, Practice Marketing) end with a league table. Here the
instructor writes one ``CLASS.yaml``::

    name: Week 5 — does a points programme pay? (积分计划值得吗？)
    base: retail_points              # a shipped scenario, or a file relative to CLASS.yaml
    overrides:                       # applied to the base for everyone (e.g. a smaller market)
      customers.initial: 400
    allow:                           # what teams may set, and within which limits
      satisfaction.service_quality: [0.5, 0.9]
      rewards.redemption_value: {min: 0, max: 30}
      tiering.method: {choices: [abc, rfm, clv]}
    constraints:                     # a team breaking one (on its mean) is disqualified
      - program_cost <= 20000
    objective: npv_profit            # the KPI that ranks the teams (default: discounted profit)
    goal: max                        # or min
    replications: 10
    seed: 2024

and each team hands in a small YAML file of overrides::

    team: Blue whales (蓝鲸队)
    set:
      satisfaction.service_quality: 0.8
      rewards.redemption_value: 15

:func:`run_tournament` validates every submission against the allow-list and the scenario
schema — a bad one is listed with its error and left out, the others go on — runs all teams with
:func:`crmsim.compare` (replication k of every team uses the same seed: common random numbers,
so a difference between two teams is a difference of policies, not of luck), disqualifies teams
whose mean breaks a constraint, and ranks the rest by the objective's mean. The leaderboard
gives each team's mean with its 95% t-interval and the *paired* difference to the leader with
its interval; when that interval covers zero the team is "tied with leader": with this many
replications the class cannot tell the two policies apart.

``crmsim tournament CLASS.yaml SUBMISSIONS/ --out DIR`` writes ``leaderboard.csv``,
``leaderboard.html`` (standalone), ``leaderboard.png``, ``invalid.csv``, the KPIs of every
replication and a manifest (``crmsim rerun DIR`` repeats the tournament and checks every number).
"""

from __future__ import annotations

import base64
import difflib
import html
import json
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crmsim import manifest
from crmsim.controls import value_at
from crmsim.errors import ScenarioError
from crmsim.experiment import Comparison, compare, format_number, interval_text
from crmsim.outputs import OutputFolder
from crmsim.results import KPI_DESCRIPTIONS
from crmsim.scenario import MAX_FILE_BYTES, Scenario, _short, load_scenario, parse_yaml

#: the status words of the leaderboard (the English ones are also the CSV's values)
LEADER = "leader"
TIED = "tied with leader"
BEHIND = "behind leader"
DISQUALIFIED = "disqualified"
STATUS_CHINESE = {LEADER: "领先", TIED: "与领先者无显著差异", BEHIND: "落后于领先者",
                  DISQUALIFIED: "取消资格"}

_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")
_OPERATORS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}


def _known_kpi(name: str, what: str) -> str:
    if name not in KPI_DESCRIPTIONS:
        guess = difflib.get_close_matches(name, list(KPI_DESCRIPTIONS), n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        raise ValueError(f"{what} {name!r} is not a KPI{hint}; KPIs: "
                         f"{', '.join(KPI_DESCRIPTIONS)}")
    return name


# --------------------------------------------------------------------------- the class


class Constraint(BaseModel):
    """``kpi op limit`` on a team's mean KPI, e.g. ``program_cost <= 20000``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kpi: str
    op: Literal["<=", ">=", "<", ">"]
    limit: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a constraint such as 'program_cost <= 20000' "
                             "(a KPI, one of <=, >=, <, >, a number)")
        kpi, op, limit = match.groups()
        try:
            number = float(limit)
        except ValueError:
            raise ValueError(f"{text!r}: the limit {limit!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{text!r}: the limit {limit!r} must be a finite number such as "
                             "20000")
        return cls(kpi=_known_kpi(kpi, "constraint on"), op=op, limit=number)

    def holds(self, value: float) -> bool:
        return bool(_OPERATORS[self.op](value, self.limit))

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {format_number(self.limit)}"


class Allowed(BaseModel):
    """What a team may set one key to: a range ``[min, max]`` or a list of ``choices``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None
    choices: list[Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, (list, tuple)):
            if len(data) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                      for x in data):
                return {"min": data[0], "max": data[1]}
            raise ValueError(f"{list(data)!r}: give a range as [min, max] (two numbers) or "
                             "choices as {choices: [...]}")
        return data

    @model_validator(mode="after")
    def _one_kind(self):
        ranged = self.min is not None or self.max is not None
        if ranged == (self.choices is not None):
            raise ValueError("give a range (min and/or max) or choices, exactly one of them")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        if self.choices is not None and not self.choices:
            raise ValueError("choices must not be empty")
        return self

    def check(self, key: str, value: Any) -> str | None:
        """The problem with ``value`` for ``key`` (None when it is allowed)."""
        if self.choices is not None:
            if not any(_same(value, choice) for choice in self.choices):
                return f"{key} = {value!r}: not allowed in this class; choose one of " \
                       f"{', '.join(map(_shown, self.choices))}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{key} = {value!r}: must be a number in {self.describe()}"
        if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max):
            return f"{key} = {value!r}: outside the allowed range {self.describe()}"
        return None

    def ends(self) -> list[tuple[str, Any]]:
        """What the class lets teams choose at the edges: ('min', 0.6), ('max', 0.85) or
        ('choice', 'abc'), ... — each must be a valid value of the key."""
        if self.choices is not None:
            return [("choice", c) for c in self.choices]
        return [(name, v) for name, v in (("min", self.min), ("max", self.max)) if v is not None]

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(str, self.choices))
        low = "−∞" if self.min is None else f"{self.min:g}"
        high = "∞" if self.max is None else f"{self.max:g}"
        return f"[{low}, {high}]"


def _shown(value: Any) -> str:
    """A choice as a class file writes it: true / false for switches, repr otherwise."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _same(value: Any, choice: Any) -> bool:
    """``value == choice`` without Python's ``1 == True``: a switch's choices are true and false,
    not 1 and 0."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return isinstance(value, bool) and isinstance(choice, bool) and value == choice
    try:
        return bool(value == choice)
    except Exception:  # noqa: BLE001 — values that cannot be compared are not the same
        return False


class ClassSpec(BaseModel):
    """An instructor's ``CLASS.yaml`` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("class tournament", description="title of the leaderboard")
    description: str = Field("", description="what the class is about")
    base: str = Field(description="the base scenario: a shipped name or a YAML file "
                      "relative to CLASS.yaml")
    overrides: dict[str, Any] = Field(default_factory=dict,
                                      description="dotted keys set for every team")
    allow: dict[str, Allowed] = Field(description="the keys teams may set, with their limits")
    constraints: list[Constraint] = Field(default_factory=list,
                                          description="e.g. 'program_cost <= 20000'")
    objective: str = Field("npv_profit", description="the KPI that ranks the teams")
    goal: Literal["max", "min"] = Field("max", description="max: highest objective wins")
    replications: int = Field(10, ge=2, le=1000, description="runs per team (>= 2 for "
                              "intervals)")
    seed: int = Field(0, ge=0, description="seed of the common random numbers")

    @field_validator("constraints", mode="before")
    @classmethod
    def _parse_constraints(cls, value):
        if not isinstance(value, list):
            raise ValueError("constraints must be a list such as ['program_cost <= 20000']")
        return [Constraint.parse(v) if isinstance(v, str) else v for v in value]

    @field_validator("objective")
    @classmethod
    def _objective_is_kpi(cls, value: str) -> str:
        return _known_kpi(value, "objective")

    @field_validator("allow")
    @classmethod
    def _something_allowed(cls, value: dict) -> dict:
        if not value:
            raise ValueError("the allow-list is empty: name at least one key teams may set")
        return value


def _pydantic_problems(err: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem, naming the key, the value and what is allowed."""
    problems = []
    for e in err.errors(include_url=False):
        loc = [str(p) for p in e["loc"] if not str(p).startswith("function-")]
        key = ".".join(loc) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            allowed = list(model.model_fields) if len(loc) == 1 else []
            guess = difflib.get_close_matches(loc[-1], allowed, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
            problems.append(f"unknown key '{key}'{hint}{tail}")
        elif e["type"] == "missing":
            info = model.model_fields.get(loc[-1]) if len(loc) == 1 else None
            what = f" — {info.description}" if info is not None and info.description else ""
            problems.append(f"missing key '{key}' (required){what}")
        else:
            value = e.get("input")
            shown = "" if isinstance(value, (dict, list)) else f" = {value!r}"
            problems.append(f"{key}{shown}: {msg[0].lower()}{msg[1:]}")
    return problems


def _read_yaml(path: Path, what: str, source: str) -> Any:
    """A class file's or a submission's data, read with the scenario loader's checks: at most
    :data:`~crmsim.scenario.MAX_FILE_BYTES`, UTF-8, no key twice in a mapping, no deep nesting
    or alias bombs (:func:`~crmsim.scenario.parse_yaml`)."""
    try:
        if path.is_dir():
            raise ScenarioError(f"is a folder, not a {what} (a YAML file is expected)", source)
        if not path.is_file():
            raise ScenarioError(f"not a regular file (a YAML {what} is expected)", source)
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"cannot read the {what}: {err.strerror or err}", source) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"larger than {MAX_FILE_BYTES:,} bytes: not a {what} (it is a few "
                            "lines of YAML)", source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at line {line}); "
                            "save the file as UTF-8", source) from None
    return parse_yaml(text, source)


@dataclass
class TournamentClass:
    """A validated class: its spec and the base scenario every team starts from."""

    spec: ClassSpec
    base: Scenario
    source: str

    def check_key(self, key: str, value: Any) -> str | None:
        """The problem with a team setting ``key`` to ``value`` (None when it is allowed)."""
        if key not in self.spec.allow:
            allowed = list(self.spec.allow)
            guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            return f"{key}: not on the class allow-list{hint}; teams may set: " \
                   f"{', '.join(allowed)}"
        return self.spec.allow[key].check(key, value)


def _load_base(spec: ClassSpec, path: Path) -> Scenario:
    """The class's base scenario: a file relative to the class file's folder, or the name of a
    shipped scenario; a problem names the class file and the key ``base``."""
    base_file = path.parent / spec.base
    try:
        return load_scenario(base_file if base_file.is_file() else spec.base)
    except ScenarioError as err:
        if err.source is None and err.problems[0].startswith("file not found"):
            shipped = err.problems[0].partition("(shipped scenarios: ")[2].rstrip(")")
            raise ScenarioError(
                f"base = {_short(spec.base)}: no such file (looked for "
                f"{_short(str(base_file))}: a file is relative to the class file's folder) "
                f"and no such shipped scenario ({shipped})", str(path)) from None
        raise ScenarioError([f"base = {_short(spec.base)}: {p}" for p in err.problems],
                            f"{path} (base {err.source})" if err.source else str(path)
                            ) from None


def load_class(path: str | Path) -> TournamentClass:
    """Read and validate a ``CLASS.yaml``; every problem is a ScenarioError naming the key."""
    path = Path(path)
    if path.is_dir():
        raise ScenarioError(f"class file {_short(str(path))}: is a folder, not a class file "
                            "(give the YAML file, e.g. class.yaml)")
    if not path.is_file():
        raise ScenarioError(f"class file not found: {path}")
    data = _read_yaml(path, "class file", str(path))
    if data is None:
        raise ScenarioError("the class file is empty; it needs at least 'base' and 'allow'",
                            str(path))
    if not isinstance(data, dict):
        raise ScenarioError("a class file must be a mapping of keys to values, got "
                            f"{type(data).__name__}", str(path))
    try:
        spec = ClassSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_pydantic_problems(err, ClassSpec), str(path)) from None
    try:
        overrides = _flatten(spec.overrides, what="overrides")
    except ScenarioError as err:
        raise ScenarioError(err.problems, str(path)) from None
    base = _load_base(spec, path)
    if overrides:
        base = base.with_overrides(overrides, source=f"{path} overrides")
    problems = []
    for key, allowed in spec.allow.items():
        try:
            value_at(base, key)
        except ScenarioError:
            problems.append(f"allow: {key!r} is not a key of the base scenario "
                            f"{base.name!r} (see `crmsim scenarios show {spec.base}`)")
            continue
        for end, value in allowed.ends():
            try:
                base.with_overrides({key: value})
            except ScenarioError as err:
                problems.append(f"allow: {key} {end} {_short(value)} is not a value the "
                                f"scenario accepts ({err.problems[0]})")
        if key in overrides and (problem := allowed.check(key, overrides[key])) is not None:
            problems.append(f"overrides: {problem} (the class allows {key} "
                            f"{allowed.describe()}: set it inside that or leave it out)")
    if problems:
        raise ScenarioError(problems, str(path))
    return TournamentClass(spec, base, str(path))


# --------------------------------------------------------------------------- submissions


class Submission(BaseModel):
    """One team's file: its name and the dotted keys it sets."""

    model_config = ConfigDict(extra="forbid")
    team: str = Field(min_length=1, description="the team's name as shown on the leaderboard")
    members: list[str] = Field(default_factory=list, description="optional: who is in it")
    note: str = Field("", description="optional: the team's idea in a sentence")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted keys and values")

    @field_validator("team")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the team name is empty")
        return value.strip()


def _flatten(data: dict[str, Any], prefix: str = "", what: str = "set") -> dict[str, Any]:
    """``{service: {agents: 3}}`` → ``{"service.agents": 3}`` (dotted keys stay as they are);
    a key given twice — nested and dotted — is a ScenarioError naming it."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        found = _flatten(value, f"{dotted}.", what) if isinstance(value, dict) else {
            dotted: value}
        for name, item in found.items():
            if name in flat:
                raise ScenarioError(f"{what}: {name} is given twice (nested and dotted: "
                                    f"{_short(flat[name])} and {_short(item)}); give it once")
            flat[name] = item
    return flat


@dataclass
class Entry:
    """A submission that passed validation."""

    team: str
    file: str
    settings: dict[str, Any]
    scenario: Scenario


def validate_submission(klass: TournamentClass, path: Path) -> Entry:
    """Read one submission; a ScenarioError names the file, the key and what is allowed."""
    data = _read_yaml(path, "submission", path.name)
    if not isinstance(data, dict):
        raise ScenarioError("a submission must be a mapping with 'team' and 'set', got "
                            f"{type(data).__name__}", path.name)
    try:
        submission = Submission.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_pydantic_problems(err, Submission), path.name) from None
    try:
        settings = _flatten(submission.set)
    except ScenarioError as err:
        raise ScenarioError(err.problems, path.name) from None
    problems = [p for key, value in settings.items()
                if (p := klass.check_key(key, value)) is not None]
    if problems:
        raise ScenarioError(problems, path.name)
    scenario = klass.base.with_overrides(settings, source=path.name)
    return Entry(submission.team, path.name, settings, scenario)


def read_submissions(klass: TournamentClass, folder: str | Path
                     ) -> tuple[list[Entry], pd.DataFrame]:
    """Every ``*.yaml`` / ``*.yml`` in ``folder``: the valid entries, and the invalid ones as a
    table (file, team, error). A team name used twice keeps its first file (in name order)."""
    folder = Path(folder)
    if folder.is_file():
        raise ScenarioError(f"submissions folder {_short(str(folder))}: is a file, not a "
                            "folder (give the folder of the teams' YAML files)")
    if not folder.is_dir():
        raise ScenarioError(f"submissions folder not found: {folder}")
    files = sorted(p for p in folder.iterdir()
                   if p.suffix in (".yaml", ".yml") and p.is_file())
    entries: list[Entry] = []
    invalid = []
    for path in files:
        try:
            entry = validate_submission(klass, path)
        except ScenarioError as err:
            team = _team_name(path)
            invalid.append({"file": path.name, "team": team, "error": str(err)})
            continue
        taken = next((e for e in entries if e.team == entry.team), None)
        if taken is not None:
            invalid.append({"file": path.name, "team": entry.team,
                            "error": f"{path.name}: team {entry.team!r} already submitted "
                                     f"{taken.file}; one submission per team"})
            continue
        entries.append(entry)
    return entries, pd.DataFrame(invalid, columns=["file", "team", "error"])


def _team_name(path: Path) -> str:
    """The team name of a file that failed validation, if it can be read at all."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return ""
    team = data.get("team") if isinstance(data, dict) else None
    return str(team).strip() if team is not None else ""


# --------------------------------------------------------------------------- the leaderboard


@dataclass
class Tournament:
    """The result of :func:`run_tournament`."""

    klass: TournamentClass
    entries: list[Entry]
    invalid: pd.DataFrame  # file, team, error
    comparison: Comparison | None
    leaderboard: pd.DataFrame  # see :func:`leaderboard`

    def write(self, folder: str | Path | OutputFolder, force: bool = True) -> list[Path]:
        """Write the leaderboard (CSV, HTML, PNG), the invalid submissions, every
        replication's KPIs and a manifest into ``folder``, atomically and the manifest last
        (:class:`~crmsim.outputs.OutputFolder`); returns the paths."""
        from crmsim.plots import save_leaderboard_plot

        out = folder if isinstance(folder, OutputFolder) else OutputFolder(folder, force)
        with out.writing():
            out.write_frame(self.leaderboard, "leaderboard")
            out.write_frame(self.invalid, "invalid")
            out.write_text("league.json", json.dumps(self.summary(), indent=2,
                                                     ensure_ascii=False))
            if self.comparison is not None:
                out.write_frame(self.comparison.kpis, "kpis")
            png = save_leaderboard_plot(self.leaderboard, self.summary(), out.path)
            out.adopt([png])
            out.write_text("leaderboard.html", leaderboard_html(
                self.leaderboard, self.summary(), self.invalid, png))
            if self.comparison is not None:
                out.finish(manifest.build("compare", self.comparison.scenarios,
                                          self.klass.spec.seed, self.klass.spec.replications,
                                          failed=self.comparison.failures.to_dict("records")))
        return [out.path / name for name in out.written]

    def summary(self) -> dict[str, Any]:
        """What the leaderboard is about (for the HTML page, the PNG and the dashboard)."""
        spec = self.klass.spec
        return {"name": spec.name, "description": spec.description, "base": spec.base,
                "objective": spec.objective, "goal": spec.goal,
                "constraints": [str(c) for c in spec.constraints],
                "allow": {k: a.describe() for k, a in spec.allow.items()},
                "replications": spec.replications, "seed": spec.seed,
                "teams": len(self.entries), "invalid": len(self.invalid)}


def leaderboard(comparison: Comparison, spec: ClassSpec,
                files: dict[str, str] | None = None) -> pd.DataFrame:
    """Rank the teams of a comparison (one scenario per team) under a class's rules.

    Columns: ``rank`` (empty when disqualified), ``team``, ``status`` (leader, tied with leader,
    behind leader, or disqualified: the reason), ``objective_mean/low/high`` (mean and 95%
    t-interval), ``difference/_low/_high`` (team − leader, paired replication by replication,
    with its 95% interval), then the mean of each constrained KPI, and ``file``.
    """
    table = comparison.table
    objective = spec.objective
    available = set(table.index.get_level_values("kpi"))
    for kpi in [objective, *(c.kpi for c in spec.constraints)]:
        if kpi not in available:
            raise ScenarioError(f"the runs report no KPI {kpi!r} (objective or constraint); "
                                f"KPIs: {', '.join(sorted(available))}")
    failed = set(comparison.failures["scenario"]) if not comparison.failures.empty else set()
    rows = []
    for team in comparison.scenarios:
        mean, low, high = table.loc[(team, objective), ["mean", "low", "high"]]
        reasons = []
        if team in failed:
            errors = comparison.failures.loc[comparison.failures["scenario"] == team, "error"]
            reasons.append(f"{len(errors)} replication(s) failed: {errors.iloc[0]}")
        row = {"team": team, "objective_mean": mean, "objective_low": low,
               "objective_high": high}
        for constraint in spec.constraints:
            value = table.loc[(team, constraint.kpi), "mean"]
            row[constraint.kpi] = value
            if not (value == value and constraint.holds(value)):
                reasons.append(f"{constraint.kpi} = {format_number(value)} (mean) breaks "
                               f"{constraint}")
        row["reasons"] = reasons
        rows.append(row)
    board = pd.DataFrame(rows)
    board["qualified"] = board["reasons"].str.len() == 0
    ascending = spec.goal == "min"
    board = pd.concat([
        board[board["qualified"]].sort_values("objective_mean", ascending=ascending,
                                              kind="stable"),
        board[~board["qualified"]].sort_values("objective_mean", ascending=ascending,
                                               kind="stable")])
    qualified = board[board["qualified"]]
    board["rank"] = pd.array([pd.NA] * len(board), dtype="Int64")
    board.loc[board["qualified"], "rank"] = range(1, len(qualified) + 1)
    for column in ("difference", "difference_low", "difference_high"):
        board[column] = math.nan
    if len(qualified):
        leader = qualified["team"].iloc[0]
        order = [leader, *[t for t in comparison.scenarios if t != leader]]
        paired = Comparison(comparison.kpis, comparison.failures,
                            {t: comparison.scenarios[t] for t in order}, comparison.seed,
                            comparison.replications).differences
        for i, team in board["team"].items():
            if team == leader:
                board.loc[i, ["difference", "difference_low", "difference_high"]] = 0.0
            elif (team, objective) in paired.index:
                board.loc[i, ["difference", "difference_low", "difference_high"]] = \
                    paired.loc[(team, objective), ["mean", "low", "high"]].to_numpy(float)
    board["status"] = [_status(row, leader=i == 0) for i, (_, row) in
                       enumerate(board.iterrows())]
    board["file"] = board["team"].map(files or {})
    constrained = list(dict.fromkeys(c.kpi for c in spec.constraints))
    return board[["rank", "team", "status", "objective_mean", "objective_low",
                  "objective_high", "difference", "difference_low", "difference_high",
                  *constrained, "file"]].reset_index(drop=True)


def _status(row, leader: bool) -> str:
    if not row["qualified"]:
        return f"{DISQUALIFIED}: " + "; ".join(row["reasons"])
    if leader:
        return LEADER
    low, high = row["difference_low"], row["difference_high"]
    if low == low and low <= 0 <= high:
        return TIED
    return BEHIND


def run_tournament(class_file: str | Path, submissions: str | Path, executor="serial",
                   jobs: int | None = None, progress: bool = True) -> Tournament:
    """Validate a class and its submissions, run every valid team with common random numbers
    and rank them (see the module docstring)."""
    klass = load_class(class_file)
    entries, invalid = read_submissions(klass, submissions)
    return run_entries(klass, entries, invalid, executor, jobs, progress)


def run_entries(klass: TournamentClass, entries: list[Entry], invalid: pd.DataFrame,
                executor="serial", jobs: int | None = None, progress: bool = True
                ) -> Tournament:
    """Run and rank submissions already validated (:func:`load_class`,
    :func:`read_submissions`)."""
    if not entries:
        return Tournament(klass, entries, invalid, None, pd.DataFrame(
            columns=["rank", "team", "status", "objective_mean", "objective_low",
                     "objective_high", "difference", "difference_low", "difference_high",
                     "file"]))
    spec = klass.spec
    comparison = compare({e.team: e.scenario for e in entries}, replications=spec.replications,
                         seed=spec.seed, executor=executor, jobs=jobs, progress=progress)
    board = leaderboard(comparison, spec, {e.team: e.file for e in entries})
    return Tournament(klass, entries, invalid, comparison, board)


# --------------------------------------------------------------------------- presentation


def printable(board: pd.DataFrame, objective: str) -> pd.DataFrame:
    """The leaderboard with 'mean [low, high]' cells, for the terminal and the dashboard."""
    out = pd.DataFrame({
        "rank": board["rank"].astype(object).where(board["rank"].notna(), "–"),
        "team": board["team"],
        f"{objective} (95% interval)": [interval_text(m, lo, hi) for m, lo, hi in zip(
            board["objective_mean"], board["objective_low"], board["objective_high"])],
        "difference to leader (95%)": [
            "" if d != d or s == LEADER else interval_text(d, lo, hi, sign=True)
            for d, lo, hi, s in zip(board["difference"], board["difference_low"],
                                    board["difference_high"], board["status"])],
        "status": board["status"],
    })
    fixed = {"rank", "team", "status", "objective_mean", "objective_low", "objective_high",
             "difference", "difference_low", "difference_high", "file"}
    for column in board.columns:
        if column not in fixed:
            out[column] = [format_number(v) for v in board[column]]
    return out


def _bilingual_status(status: str) -> str:
    word = status.split(":", 1)[0]
    return f"{status} ({STATUS_CHINESE[word]})" if word in STATUS_CHINESE else status


def leaderboard_html(board: pd.DataFrame, summary: dict, invalid: pd.DataFrame,
                     png: Path | None = None) -> str:
    """A standalone HTML page: the class, its rules, the leaderboard, the chart (inlined) and
    the submissions that were left out."""
    shown = printable(board, summary["objective"])
    shown["status"] = [_bilingual_status(s) for s in shown["status"]]
    esc = html.escape
    rules = "".join(f"<li><code>{esc(c)}</code></li>" for c in summary["constraints"]) or \
        "<li>none</li>"
    allow = "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>"
                    for k, v in summary["allow"].items())
    image = ""
    if png is not None and Path(png).exists():
        data = base64.b64encode(Path(png).read_bytes()).decode()
        image = f'<img alt="leaderboard chart" src="data:image/png;base64,{data}">'
    left_out = "<p>none</p>"
    if len(invalid):
        left_out = invalid.to_html(index=False, classes="invalid", border=0, escape=True)
    goal = "highest" if summary["goal"] == "max" else "lowest"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(summary['name'])} — leaderboard (排行榜)</title>
<style>
body {{ font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }}
th {{ background: #f0f4f8; }}
tr:nth-child(2) td {{ font-weight: bold; }}
code {{ background: #f4f4f4; padding: 1px 4px; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{esc(summary['name'])} — leaderboard (排行榜)</h1>
<p>{esc(summary['description'])}</p>
<p>Objective (目标): <b>{esc(summary['objective'])}</b>, {goal} mean wins;
{summary['replications']} replications per team with common random numbers (共同随机数),
seed {summary['seed']}. Base scenario: <code>{esc(summary['base'])}</code>.
A team is <i>tied with leader</i> when the 95% interval of its paired difference to the leader
covers zero.</p>
<h2>Constraints (约束)</h2><ul>{rules}</ul>
<h2>Leaderboard</h2>
{shown.to_html(index=False, border=0, escape=True)}
{image}
<h2>Allowed settings (允许的设置)</h2><ul>{allow}</ul>
<h2>Submissions left out (无效提交)</h2>
{left_out}
</body></html>
"""


# --------------------------------------------------------------------------- the example


EXAMPLE_CLASS = """\
# An example class tournament (课堂竞赛). Run it with:
#   crmsim tournament class.yaml submissions/ --out league
name: "Example class: service or points? (服务还是积分？)"
description: >-
  Teams run the retail shop with a points programme for half a year. Raise service quality,
  change what a reward is worth, try win-back — but the programme may cost at most 9,000.
base: retail_points
overrides:                  # a smaller shop so that the class runs in seconds
  customers.initial: 400
  horizon: 180
  acquisition.rate: 1.0
allow:
  satisfaction.service_quality: [0.6, 0.85]
  rewards.redemption_value: [0, 30]
  win_back.enabled: {choices: [true, false]}
constraints:
  - program_cost <= 9000
objective: npv_profit
goal: max
replications: 8
seed: 2024
"""

EXAMPLE_SUBMISSIONS = {
    "blue_whales.yaml": """\
team: Blue whales (蓝鲸队)
note: happy customers stay - raise service quality, keep the programme as it is
set:
  satisfaction.service_quality: 0.8
""",
    "green_dragons.yaml": """\
team: Green dragons (青龙队)
note: better service, and win lost customers back
set:
  satisfaction.service_quality: 0.78
  win_back.enabled: true
""",
    "red_pandas.yaml": """\
team: Red pandas (小熊猫队)
note: a generous programme locks customers in
set:
  rewards.redemption_value: 28
""",
}


def write_example(folder: str | Path, force: bool = False) -> list[Path]:
    """Write ``class.yaml`` and three submissions into ``folder``; returns the paths. A folder
    that already holds a ``class.yaml`` or submissions is refused unless ``force`` (then only
    the example's own files are replaced)."""
    folder = Path(folder)
    shown = _short(str(folder))
    if folder.exists() and not folder.is_dir():
        raise ScenarioError(f"--example {shown}: is a file, not a folder (give a new or empty "
                            "folder)")
    targets = [folder / "class.yaml", *(folder / "submissions" / n for n in EXAMPLE_SUBMISSIONS)]
    submissions = folder / "submissions"
    if submissions.exists() and not submissions.is_dir():
        raise ScenarioError(f"--example {shown}: {submissions} is a file, not a folder")
    taken = [p for p in targets[:1] if p.exists()]
    if submissions.is_dir() and any(submissions.iterdir()):
        taken.append(submissions)
    if taken and not force:
        raise ScenarioError(f"--example {shown}: already holds "
                            f"{' and '.join(p.name + ('/' if p.is_dir() else '') for p in taken)}"
                            "; not overwritten (give --force to replace them with the example)")
    try:
        submissions.mkdir(parents=True, exist_ok=True)
        for path in targets:
            text = EXAMPLE_CLASS if path.name == "class.yaml" else EXAMPLE_SUBMISSIONS[path.name]
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"--example {shown}: cannot write there "
                            f"({err.strerror or err})") from None
    return targets
