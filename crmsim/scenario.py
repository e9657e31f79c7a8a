"""Scenarios: the schema, YAML loading with ``extends:``, dotted overrides and clear errors.

A scenario is everything a run needs except the seed. Instructors write it in YAML, usually as a
base plus a few overrides::

    # scenarios/class_week3.yaml
    extends: retail_baseline.yaml        # relative to this file; chains are allowed
    description: Week 3 — what if service quality drops?
    satisfaction:
      service_quality: 0.55

The schema is the whole contract (extra keys are forbidden). The core sections are defined here;
each policy defines its own sections in its module, and :data:`Scenario` is assembled from the
core and the policy registry (:data:`crmsim.policies.REGISTRY`). Its defaults are the
*textbook* model: every churn coefficient β is 0 and every policy is off, so a scenario only
names what it switches on. ``crmsim scenarios schema`` prints it as JSON schema for editors.

Every problem is raised as a :class:`~crmsim.errors.ScenarioError` whose message names the file,
the dotted key, the value and what is allowed (with "did you mean" for unknown keys).
"""

from __future__ import annotations

import copy
import difflib
import math
import reprlib
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from crmsim.distributions import (
    UNION_TAGS,
    BetaDist,
    Probability,
    ProbabilityTrait,
    RateTrait,
    SpendTrait,
)
from crmsim.errors import ScenarioError
from crmsim.model import population
from crmsim.policies import REGISTRY
from crmsim.schema import Section

#: where the scenarios shipped with crmsim live (a checkout or an editable install)
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


# --------------------------------------------------------------------------- schema sections


class Market(Section):
    """What kind of business: does the customer hold a contract or just buy when they like?"""

    setting: Literal["contractual", "noncontractual"] = Field(
        "noncontractual",
        description="contractual: renewals every contract.period, churn decided at renewal; "
        "noncontractual: Poisson purchases, drop-out decided after each repeat purchase",
    )


class Shock(Section):
    """From ``at`` on, multiply switching-cost components by ``factor`` (e.g. number portability)."""

    at: float = Field(ge=0, description="time of the shock")
    factor: float = Field(ge=0, description="multiplier of the components from then on")
    components: list[Literal["procedural", "financial", "relational"]] = Field(
        default_factory=lambda: ["procedural", "financial", "relational"],
        description="which components the shock changes")


class SwitchingCost(Section):
    """Switching costs (转换成本) in the units of the churn index: what leaving would cost."""

    procedural: float = Field(0.0, ge=0, description="effort of leaving (time, learning)")
    financial: float = Field(0.0, ge=0, description="money lost by leaving (fees, benefits)")
    relational: float = Field(
        0.0, ge=0, description="bond with the firm once fully built (grows with tenure)"
    )
    relational_buildup: float = Field(
        180.0, gt=0, description="time for the relational bond to reach 63% of its full level"
    )
    shocks: list[Shock] = Field(default_factory=list, description="scheduled changes")
    upkeep: float = Field(
        0.0, ge=0, description="what keeping these barriers up costs the firm (contracts, "
        "subsidies, integrations): per active customer per time unit per unit of procedural + "
        "financial switching cost")


class Segment(Section):
    """A customer segment: its share of new customers and the traits that differ from the base."""

    share: float = Field(gt=0, le=1, description="share of customers in this segment")
    purchase_rate: RateTrait | None = Field(None, description="overrides purchase.rate")
    churn_base: ProbabilityTrait | None = Field(None, description="overrides churn.base")
    spend: SpendTrait | None = Field(None, description="overrides purchase.spend")
    switching_cost: SwitchingCost | None = Field(
        None, description="overrides the keys of switching_cost it sets")


class Customers(Section):
    """The customer base at the start and the traits every customer draws once.

    ``population`` names a Parquet file of initial customers who enter with a history and
    traits of their own (a calibrated shop's customers: see :mod:`crmsim.model.population`);
    ``initial`` is then its number of rows (setting ``population`` in an override or in a file
    that ``extends:`` another drops the other's ``initial``; giving both must agree).
    """

    initial: int = Field(1000, ge=0, description="customers acquired at t = 0")
    segments: dict[str, Segment] = Field(
        default_factory=dict, description="named segments with shares summing to 1 (optional)"
    )
    price_sensitivity: ProbabilityTrait = Field(
        default_factory=lambda: BetaDist(a=2, b=2),
        description="0..1, how strongly price and competitor offers act on the customer",
    )
    complaint_propensity: ProbabilityTrait = Field(
        default_factory=lambda: BetaDist(a=1, b=4),
        description="probability that the customer complains after a service failure",
    )
    population: str | None = Field(
        None, description="a Parquet file of initial customers with their histories and trait "
        "distributions (path relative to the YAML file; null: new customers from the "
        "distributions)")

    @field_validator("population")
    @classmethod
    def _readable_population(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = population.resolve(value, Path.cwd())  # a file's own are resolved when loaded
        population.read_population(path)  # a ValueError names the row, column and value
        return path

    @model_validator(mode="after")
    def _population_size(self):
        if self.population is None:
            return self
        rows = population.read_population(self.population).size
        if "initial" in self.model_fields_set and self.initial != rows:
            raise ValueError(f"initial = {self.initial}: the population file has {rows} "
                             f"customers (one per row); give {rows} or leave initial out")
        self.__dict__["initial"] = rows  # no re-validation: the value is the file's
        return self

    @model_validator(mode="after")
    def _shares_sum_to_one(self):
        if self.segments:
            total = sum(s.share for s in self.segments.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(
                    f"segment shares must sum to 1, they sum to {total:g} "
                    f"({', '.join(f'{k}: {s.share:g}' for k, s in self.segments.items())})"
                )
        return self


class Purchase(Section):
    """Non-contractual buying: how often and how much."""

    rate: RateTrait = Field(0.1, description="purchases per time unit: a number or {dist: gamma}")
    spend: SpendTrait = Field(
        50.0, description="spend per purchase: a number or {dist: gamma_gamma, p, q, gamma}"
    )


class Contract(Section):
    """Contractual business: a contract renews every period at a price."""

    period: float = Field(30.0, gt=0, description="time between renewals")
    price: float = Field(30.0, ge=0, description="payment at acquisition and at each renewal")


class ChurnCoefficients(Section):
    """The β of the two-stage churn decision (:mod:`crmsim.model.churn`); all 0 = textbook.

    Intention to leave: sigmoid(logit θ + β_satisfaction · satisfaction + β_competitor · pull
    + ...); switching barriers multiply it by exp(β_switching_cost · switching cost +
    β_lock_in · value a member would forfeit), so they act only on customers who want to leave.
    """

    satisfaction: float = Field(
        0.0, description="β for satisfaction in the intention to leave (negative: satisfied "
        "customers do not want to leave)"
    )
    price: float = Field(
        0.0, ge=0, description="β for the price in the intention: price sensitivity × "
        "ln(economics.price_index) (a dearer price makes customers want to leave)")
    competitor: float = Field(
        0.0, description="β for competitor pull in the intention: attractiveness × price "
        "sensitivity")
    switching_cost: float = Field(
        0.0, le=0, description="β for switching cost, a barrier (≤ 0: costly switching holds "
        "back customers who want to leave)"
    )
    lock_in: float = Field(
        0.0, le=0, description="β per unit of money a leaving member would forfeit (points "
        "value + tier discounts), a barrier (≤ 0)")


class Churn(Section):
    """The churn (defection, 流失) decision."""

    base: ProbabilityTrait = Field(
        0.1, description="churn propensity θ per decision: a probability or {dist: beta, a, b}"
    )
    coefficients: ChurnCoefficients = Field(default_factory=ChurnCoefficients)


class Satisfaction(Section):
    """Satisfaction (满意度) from expectation disconfirmation, with adapting expectations.

    Each experience has perceived quality q ~ Normal(service_quality, quality_noise). Its value
    to the customer is ``performance_weight·(q − initial_expectation) +
    disconfirmation_weight·(q − e)`` where e is the customer's current expectation;
    satisfaction is an exponentially weighted memory of these values, and the expectation moves
    toward what was experienced (``adaptation``), so exceeding expectations wears off.
    """

    service_quality: float = Field(
        0.7, ge=0, lt=1, description="firm's service level: mean perceived quality (0..1)")
    quality_cost: float = Field(
        0.0, ge=0, description="cost of the service level per active customer per time unit: "
        "quality_cost × q / (1 − q) (convex: each step towards perfection costs more)")
    quality_noise: float = Field(0.1, ge=0, description="sd of perceived quality per experience")
    fit_sd: float = Field(
        0.0, ge=0, description="sd across customers of how well the offering fits them "
        "(a persistent shift of perceived quality)")
    initial_expectation: float = Field(0.7, description="what a new customer expects (market norm)")
    expectation_noise: float = Field(0.05, ge=0, description="sd of initial expectations")
    adaptation: Probability = Field(
        0.2, description="share of the gap q − e that expectations close after each experience"
    )
    memory: float = Field(
        0.3, gt=0, le=1, description="weight of the newest experience in satisfaction"
    )
    performance_weight: float = Field(0.5, ge=0, description="weight of absolute quality")
    disconfirmation_weight: float = Field(1.0, ge=0, description="weight of q − expectation")


class Lifecycle(Section):
    """How lifecycle stages (生命周期) are read off behaviour."""

    formation_after: int = Field(
        2, ge=1, description="repeat purchases/renewals that end exploration (考察期)"
    )
    stability_after: int = Field(
        6, ge=1, description="repeat purchases/renewals that reach stability (稳定期)"
    )
    decline_satisfaction: float = Field(
        -0.1, description="satisfaction below this marks decline (退化期)"
    )
    decline_recency: float = Field(
        3.0,
        gt=0,
        description="non-contractual: no purchase for this many of the customer's own mean "
        "inter-purchase times marks decline",
    )

    @model_validator(mode="after")
    def _ordered(self):
        if self.stability_after < self.formation_after:
            raise ValueError(
                f"stability_after ({self.stability_after}) must be >= formation_after "
                f"({self.formation_after})"
            )
        return self


class Economics(Section):
    """Money: margins, costs, discounting and what tenure does to a customer's profit.

    Tenure effects (Reichheld & Sasser 1990, "Zero defections"): the longer a customer stays,
    the more it spends (``spend_growth``), the more it accepts to pay (``price_premium``) and the
    less it costs to serve (``serve_cost_decline``); each effect reaches (1 − 1/e) of its full
    size after ``tenure_maturity`` and grows as 1 − e^(−tenure / tenure_maturity). Referrals,
    the fourth effect, are ``acquisition.referral_rate``.
    """

    margin_rate: Probability = Field(0.3, description="margin as a share of revenue")
    discount_rate: float = Field(
        0.0, ge=0, description="per time unit; a cash flow at t is worth (1 + i)^(-t)"
    )
    fixed_cost: float = Field(0.0, ge=0, description="overhead per time unit")
    price_index: float = Field(
        1.0, gt=0, description="the firm's prices against today's: every purchase and payment "
        "× this (customers feel it through churn.coefficients.price)")
    cost_to_serve: float = Field(
        0.0, ge=0, description="cost per active customer per time unit (account, mailing, care)")
    spend_growth: float = Field(
        0.0, ge=0, description="a mature customer spends up to this share more per purchase "
        "(or bill): buying more")
    price_premium: float = Field(
        0.0, ge=0, description="a mature customer pays up to this share more: loyal customers "
        "are less price-sensitive")
    serve_cost_decline: Probability = Field(
        0.0, description="serving a mature customer costs up to this share less (it knows the "
        "firm's ways)")
    tenure_maturity: float = Field(
        365.0, gt=0, description="time constant of the tenure effects (63% reached after it)")

    def tenure_factor(self, tenure: float) -> float:
        """How far tenure effects have grown for a customer of this tenure (0 → 1)."""
        return -math.expm1(-tenure / self.tenure_maturity)


class CoreScenario(Section):
    """The core of every scenario; :data:`Scenario` adds one section per registered policy."""

    name: str = Field("scenario", description="short name used in tables and plots")
    description: str = Field("", description="what the scenario shows, for the scenario list")
    time_unit: str = Field("day", description="label of the time unit of every rate and duration")
    horizon: float = Field(365.0, gt=0, description="simulated time, in time units")
    report_every: float = Field(30.0, gt=0, description="length of a timeseries period")
    market: Market = Field(default_factory=Market)
    customers: Customers = Field(default_factory=Customers)
    purchase: Purchase = Field(default_factory=Purchase)
    contract: Contract = Field(default_factory=Contract)
    churn: Churn = Field(default_factory=Churn)
    satisfaction: Satisfaction = Field(default_factory=Satisfaction)
    switching_cost: SwitchingCost = Field(default_factory=SwitchingCost)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    economics: Economics = Field(default_factory=Economics)

    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _policies_agree(self):
        """Each policy checks how its section combines with the rest (e.g. the desk's
        priorities name existing segments)."""
        for policy in REGISTRY:
            policy.check(self)
        return self

    @model_validator(mode="after")
    def _population_fits(self):
        """A population file needs a non-contractual market without segments (and Gamma–Gamma
        spend when it gives each customer's spend distribution)."""
        if self.customers.population is not None:
            problems = population.scenario_problems(
                population.read_population(self.customers.population), self)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from (None if built in code)."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (what ``crmsim scenarios show`` prints)."""
        return self.model_dump(mode="json")

    def with_overrides(self, overrides: dict[str, Any], source: str = "override") -> Scenario:
        """A new scenario with dotted keys replaced, validated like a file.

        >>> sc = Scenario().with_overrides({"churn.base": 0.2, "customers.initial": 50})
        >>> sc.churn.base, sc.customers.initial
        (0.2, 50)
        """
        data = self.to_dict()
        if "customers.population" in overrides and "customers.initial" not in overrides:
            data["customers"].pop("initial", None)  # a new population brings its own size
        where = source if self._source is None else f"{source} (on {self._source})"
        for key, value in overrides.items():
            _set_dotted(data, key, value, where)
        result = from_dict(data, source=where)
        result._source = self._source
        return result


def _assemble() -> type[CoreScenario]:
    """The scenario model: the core sections plus every registered policy's sections."""
    fields = {key: (section, Field(default_factory=section, description=(section.__doc__ or "")
                                   .strip().splitlines()[0]))
              for policy in REGISTRY for key, section in policy.SECTIONS.items()}
    return create_model("Scenario", __base__=CoreScenario, __module__=__name__,
                        __doc__="A complete, validated scenario. Build one with "
                        ":func:`load_scenario` or ``Scenario()``.", **fields)


#: the scenario schema (a pydantic model): core sections, then each policy's, in registry order
Scenario = _assemble()


# --------------------------------------------------------------------------- loading

#: a scenario file is a few KB; a larger file is not a scenario (and is never read whole)
MAX_FILE_BYTES = 1_000_000
#: the deepest a scenario nests is 6 levels (customers.segments.x.switching_cost.shocks[0])
MAX_DEPTH = 20
#: values in one document once YAML aliases are expanded (a scenario has a few hundred)
MAX_VALUES = 100_000
#: files in one ``extends:`` chain
MAX_EXTENDS = 20


def from_dict(data: dict[str, Any], source: str | None = None) -> Scenario:
    """Validate plain data (already merged, no ``extends:``) into a :class:`Scenario`."""
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario must be a mapping of keys to values, got {type(data).__name__}", source
        )
    check_shape(data, source)
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_explain(err), source) from None


def resolve_path(path: str | Path) -> Path:
    """Find a scenario file: the path itself, or a name in the shipped ``scenarios/`` folder."""
    candidate = Path(path)
    if _exists(candidate):
        return candidate
    for folder in (Path.cwd() / "scenarios", SCENARIO_DIR):
        for name in (str(path), f"{path}.yaml"):
            if _exists(folder / name):
                return folder / name
    known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
    raise ScenarioError(f"file not found: {_short(str(path))} (shipped scenarios: "
                        f"{', '.join(known)})")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long or with a NUL byte: no such file
        return False


def load_scenario(path: str | Path) -> Scenario:
    """Load a YAML scenario, following ``extends:`` chains, and validate it.

    ``path`` may be a file or the name of a shipped scenario (``"retail_baseline"``).
    """
    file = resolve_path(path)
    data = _load_merged(file.resolve(), chain=())
    data.setdefault("name", file.stem)
    scenario = from_dict(data, source=str(file))
    scenario._source = str(file)
    return scenario


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last one silently, so a pasted second ``churn:`` would replace the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<: *base' keys may be overridden by the mapping's own keys
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {_short(key)} (first at line "
                            f"{seen[key] + 1}); a key may appear once in a mapping",
                            key_node.start_mark)
                    seen[key] = key_node.start_mark.line
                except TypeError:  # an unhashable key: the base class reports it
                    continue
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str | None = None) -> Any:
    """Parse YAML text (a file's or a ``--set`` value's) into plain data, or raise a
    ScenarioError naming the line: malformed YAML, a duplicate key, nesting too deep."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).replace("\n", " ")
        raise ScenarioError(f"malformed YAML{where}: {problem}", source) from None
    except RecursionError:
        raise ScenarioError(f"malformed YAML: nested too deeply (a scenario nests at most "
                            f"{MAX_DEPTH} levels)", source) from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise ScenarioError(f"malformed YAML: a value cannot be read "
                            f"({str(err).split(';')[0]})", source) from None
    check_shape(data, source)
    return data


def check_shape(data: Any, source: str | None = None) -> None:
    """Refuse data nested deeper than :data:`MAX_DEPTH`, holding more than :data:`MAX_VALUES`
    values once YAML aliases are expanded ("billion laughs"), or containing itself (a
    recursive alias): no scenario looks like that, and validating it would exhaust memory."""
    sizes: dict[int, int] = {}  # id of a list/dict → values below it, once counted
    open_: set[int] = set()

    def count(node: Any, depth: int) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if depth > MAX_DEPTH:
            raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep; a scenario nests "
                                "at most 6", source)
        if id(node) in open_:
            raise ScenarioError("a YAML alias refers to a mapping or list that contains it",
                                source)
        if id(node) not in sizes:
            open_.add(id(node))
            items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            sizes[id(node)] = 1 + sum(count(item, depth + 1) for item in items)
            open_.discard(id(node))
            if sizes[id(node)] > MAX_VALUES:
                raise ScenarioError(f"more than {MAX_VALUES:,} values once YAML aliases are "
                                    "expanded; a scenario has a few hundred", source)
        return sizes[id(node)]

    count(data, 0)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        if not file.is_file():
            raise ScenarioError("not a regular file (a YAML scenario file is expected)",
                                str(file))
        with file.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"cannot read the file: {err.strerror}", str(file)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"larger than {MAX_FILE_BYTES:,} bytes: not a scenario file "
                            "(a scenario is a few KB of YAML)", str(file))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at line {line}); "
                            "save the file as UTF-8", str(file)) from None
    data = parse_yaml(text, str(file))
    if data is None:
        raise ScenarioError("the file is empty; a scenario names at least one key, e.g. "
                            "'extends: retail_baseline.yaml' (an empty file would run the "
                            "defaults unnoticed)", str(file))
    if not isinstance(data, dict):
        raise ScenarioError(
            f"a scenario file must be a mapping of keys to values, got {type(data).__name__}",
            str(file),
        )
    return data


def _load_merged(file: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    if file in chain:
        cycle = " -> ".join(p.name for p in (*chain, file))
        raise ScenarioError(f"extends: cycle {cycle}", str(chain[0]))
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(f"extends: a chain of more than {MAX_EXTENDS} files", str(chain[0]))
    data = _read_yaml(file)
    _resolve_files(data, file)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            f"extends = {_short(parent)}: must be one file name (relative to this file)",
            str(file))
    parent_file = (file.parent / parent).resolve()
    if not _exists(parent_file):
        raise ScenarioError(
            f"extends = {_short(parent)}: file not found (looked for {_short(str(parent_file))})",
            str(file)
        )
    base = _load_merged(parent_file, (*chain, file))
    base.pop("name", None)
    base.pop("description", None)
    customers = data.get("customers")
    if isinstance(customers, dict) and "population" in customers and "initial" not in customers:
        if isinstance(base.get("customers"), dict):  # a new population brings its own size
            base["customers"].pop("initial", None)
    return deep_merge(base, data)


def _resolve_files(data: dict[str, Any], file: Path) -> None:
    """Make the file paths a scenario file names (``customers.population``) absolute, relative
    to that file's folder (a parent named by ``extends:`` resolves its own)."""
    customers = data.get("customers")
    if isinstance(customers, dict) and isinstance(customers.get("population"), str):
        customers["population"] = population.resolve(customers["population"], file.parent)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: mappings merge key by key, values replace."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a CLI ``--set key=value`` (the value is YAML: numbers, lists, mappings)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set {_short(text)}: expected key=value, e.g. --set "
                            "service.agents=5")
    if not raw.strip():
        raise ScenarioError(f"--set {key} = {raw!r}: a value is required after '='")
    try:
        value = parse_yaml(raw)
    except ScenarioError as err:
        raise ScenarioError(f"--set {key} = {_short(raw)}: not a valid value "
                            f"({err.problems[0]})") from None
    if value is None:
        raise ScenarioError(f"--set {key} = {_short(raw)}: a value is required after '='")
    return key, value


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    if not isinstance(key, str):
        raise ScenarioError(f"{_short(key)}: a key must be a dotted name such as 'churn.base'",
                            source)
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(f"{_short(key)}: not a dotted key such as 'churn.base.a'", source)
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            prefix = ".".join(parts[: depth + 1])
            raise ScenarioError(
                f"{key} = {_short(value)}: {prefix} is {_short(child)}, not a mapping; "
                f"set {prefix} itself (e.g. {prefix}={{dist: beta, a: 1, b: 3}})",
                source,
            )
        node = child
    node[parts[-1]] = value


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlevel = 3


def _short(value: Any) -> str:
    """repr of a value for an error message, shortened so that a message stays one line (and
    a huge or self-containing value is never printed whole)."""
    try:
        return _REPR.repr(value)
    except Exception:  # noqa: BLE001 — a value whose repr fails is still reported
        return f"<{type(value).__name__}>"


# --------------------------------------------------------------------------- error messages


def _unwrap_model(annotation) -> Any:
    """The pydantic model (or ``dict`` of models) inside an annotation, if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
        return None
    if origin is dict:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _model_at(loc: tuple) -> Any:
    node: Any = Scenario
    for part in loc:
        if typing.get_origin(node) is dict:
            node = _unwrap_model(typing.get_args(node)[1])
        elif isinstance(node, type) and issubclass(node, BaseModel) and part in node.model_fields:
            node = _unwrap_model(node.model_fields[part].annotation)
        else:
            return None
    return node


def field_info(loc: tuple):
    """The pydantic FieldInfo of a dotted key given as a tuple (None if it is not a field)."""
    parent = _model_at(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(loc[-1])
    return None


def _explain(err: ValidationError) -> list[str]:
    problems: list[str] = []
    for e in err.errors(include_url=False):
        loc = tuple(str(p) for p in e["loc"] if p not in UNION_TAGS)
        key = ".".join(loc) or "(top level)"
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = sorted(parent.model_fields) if parent is not None and hasattr(
                parent, "model_fields"
            ) else []
            guess = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.5)
            hint = f" (did you mean '{'.'.join((*loc[:-1], guess[0]))}'?)" if guess else ""
            where = f" under '{'.'.join(loc[:-1])}'" if loc[:-1] else ""
            problems.append(
                f"unknown key '{key}'{hint}; allowed{where}: {', '.join(allowed)}"
            )
        elif e["type"] == "missing":
            problems.append(f"missing key '{key}' (required)")
        elif e["type"] == "invalid_key":
            where = f" under '{'.'.join(loc[:-1])}'" if loc[:-1] else ""
            problems.append(f"key {_short(value)}{where}: a key must be a name (text)")
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
            msg = msg.removeprefix("value error, ")
            info = field_info(loc) if loc else None
            what = f" — {info.description}" if info is not None and info.description else ""
            shown = "" if isinstance(value, dict) else f" = {_short(value)}"
            problems.append(f"{key}{shown}: {msg}{what}")
    return problems


def list_scenarios(folder: Path | None = None) -> list[tuple[str, str]]:
    """(relative path, description) of every scenario file under ``folder``."""
    folder = Path(folder) if folder is not None else SCENARIO_DIR
    if not _exists(folder):
        raise ScenarioError(f"folder not found: {_short(str(folder))}")
    if not folder.is_dir():
        raise ScenarioError(f"not a folder: {_short(str(folder))}")
    rows = []
    for file in sorted(folder.rglob("*.yaml")):
        try:
            sc = load_scenario(file)
            description = sc.description.strip().splitlines()[0] if sc.description else ""
        except ScenarioError as err:
            more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
            description = f"(invalid: {err.problems[0]}{more})"
        rows.append((str(file.relative_to(folder)), description))
    return rows
