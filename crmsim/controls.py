"""Control definitions: which scenario keys a student may move, how, and what they are called.

One source for every front end. The notebooks' :class:`crmsim.widgets.ScenarioExplorer` turns a
:class:`Control` into an ipywidget, the browser dashboard (:mod:`crmsim.dashboard`) into a
Solara slider, switch or drop-down; both read the kind, the range and the bilingual label here.

A control is derived from the scenario schema (:func:`crmsim.scenario.field_info`): a switch for
``bool`` fields, a drop-down for ``Literal`` choices, a slider for numbers whose range is the
schema's bounds — or a ``(min, max, step)`` given with the key, because many schema fields are
unbounded (a service level has no natural maximum in the schema, but a class needs one).

>>> import crmsim
>>> sc = crmsim.load_scenario("retail_baseline")
>>> quality = define(sc, "satisfaction.service_quality", (0.3, 1.0, 0.01))
>>> quality.kind, quality.low, quality.high, quality.label_in("zh")
('float', 0.3, 1.0, '服务质量')
>>> define(sc, "market.setting").choices
('contractual', 'noncontractual')

:data:`LEVERS` lists the key levers a class dashboard offers, grouped by course topic;
:func:`levers` picks those that apply to a scenario and widens a range that does not hold the
scenario's own value (a telecom scenario acquires 90 customers a *month*, a shop 3 a *day*).
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from crmsim.errors import ScenarioError
from crmsim.scenario import Scenario, field_info

Kind = Literal["float", "int", "bool", "choice"]

#: English and Chinese names of the keys students see (other keys fall back to the key's name)
LABELS: dict[str, tuple[str, str]] = {
    "horizon": ("Simulated time", "模拟时长"),
    "customers.initial": ("Customers at the start", "初始客户数"),
    "market.setting": ("Market setting", "市场类型"),
    "satisfaction.service_quality": ("Service quality", "服务质量"),
    "satisfaction.adaptation": ("Expectation adaptation", "期望适应"),
    "satisfaction.initial_expectation": ("Initial expectation", "初始期望"),
    "churn.base": ("Base churn propensity", "基础流失倾向"),
    "churn.base.a": ("Churn Beta a", "流失 Beta 参数 a"),
    "churn.base.b": ("Churn Beta b", "流失 Beta 参数 b"),
    "churn.coefficients.satisfaction": ("Weight of satisfaction in churn", "满意度对流失的影响"),
    "churn.coefficients.switching_cost": ("Weight of switching cost in churn",
                                          "转换成本对流失的影响"),
    "churn.coefficients.lock_in": ("Weight of reward lock-in in churn", "积分锁定对流失的影响"),
    "lifecycle.formation_after": ("Repeat purchases to formation", "进入形成期的重复购买次数"),
    "lifecycle.stability_after": ("Repeat purchases to stability", "进入稳定期的重复购买次数"),
    "lifecycle.decline_recency": ("Silence that marks decline", "标记退化期的沉默时长"),
    "service.agents": ("Service desk agents", "客服人员"),
    "service.failure_rate": ("Service failure rate", "服务失误率"),
    "service.resolution_probability": ("Complaint resolution rate", "投诉解决率"),
    "service.empowerment": ("Agent empowerment", "一线员工授权"),
    "switching_cost.procedural": ("Procedural switching cost", "程序性转换成本"),
    "switching_cost.financial": ("Financial switching cost", "财务性转换成本"),
    "switching_cost.relational": ("Relational switching cost", "关系性转换成本"),
    "rewards.enabled": ("Points programme", "积分计划"),
    "rewards.redemption_value": ("Value of a reward", "奖励价值"),
    "rewards.self_selection": ("Heavy buyers join more", "重度购买者自选择"),
    "tiering.enabled": ("Customer tiering", "客户分级"),
    "tiering.method": ("Tiering method", "分级方法"),
    "tiering.drop_unprofitable": ("Stop serving unprofitable small customers", "放弃无利可图的小客户"),
    "warning.enabled": ("Churn early warning", "流失预警"),
    "warning.targeting": ("Offer targeting", "挽留对象选择"),
    "warning.top_k": ("Offers per scan", "每次扫描的挽留优惠数"),
    "warning.offer_cost": ("Cost of a retention offer", "挽留优惠成本"),
    "win_back.enabled": ("Win-back", "客户赢回"),
    "win_back.discount": ("Win-back discount", "赢回折扣"),
    "acquisition.rate": ("Paid acquisitions per time unit", "付费获客速度"),
    "acquisition.cost_per_acquisition": ("Cost per acquisition", "单位获客成本"),
    "economics.margin_rate": ("Margin rate", "毛利率"),
    "economics.cost_to_serve": ("Cost to serve per customer", "单位客户服务成本"),
}


@dataclass(frozen=True)
class Control:
    """How one dotted scenario key is shown and moved.

    ``kind`` is ``float`` or ``int`` (a slider from ``low`` to ``high`` by ``step``), ``bool``
    (a switch) or ``choice`` (one of ``choices``). ``value`` is the scenario's own value.
    """

    key: str
    kind: Kind
    value: Any
    label: str
    label_zh: str | None = None
    description: str = ""
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple = ()
    group: str = ""

    def label_in(self, language: str = "both") -> str:
        """The label in ``en``, ``zh`` or ``both`` ('Service quality (服务质量)')."""
        if language == "en" or not self.label_zh:
            return self.label
        if language == "zh":
            return self.label_zh
        return f"{self.label} ({self.label_zh})"

    def coerce(self, value: Any) -> Any:
        """A value from a front end in the control's own type (sliders send floats)."""
        if self.kind == "int":
            return int(round(value))
        if self.kind == "float":
            steps = round((float(value) - self.low) / self.step)
            return round(self.low + steps * self.step, 10)  # 0.97, not 0.9700000000000001
        if self.kind == "bool":
            return bool(value)
        return value


def value_at(scenario: Scenario, key: str) -> Any:
    """The resolved value of a dotted key in a scenario (ScenarioError if there is none)."""
    node: Any = scenario.to_dict()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(f"{key!r}: not a key of scenario {scenario.name!r}")
        node = node[part]
    return node


def schema_bounds(info) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds pydantic knows for a field (None where it has none)."""
    low = high = None
    for meta in getattr(info, "metadata", []):
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            bound = getattr(meta, attr, None)
            if bound is not None:
                if is_low:
                    low = bound
                else:
                    high = bound
    return low, high


def _label(key: str) -> tuple[str, str | None]:
    if key in LABELS:
        return LABELS[key]
    return key.split(".")[-1].replace("_", " ").capitalize(), None


def define(scenario: Scenario, key: str, spec=None, group: str = "") -> Control:
    """The control of one dotted key; ``spec`` is ``(min, max, step)`` or a list of choices.

    Raises :class:`~crmsim.errors.ScenarioError` for a key the scenario does not have, a value
    that is not a number, switch or choice, or a number without a finite range.
    """
    value = value_at(scenario, key)
    info = field_info(tuple(key.split(".")))
    label, label_zh = _label(key)
    description = info.description if info is not None and info.description else key
    common = dict(key=key, value=value, label=label, label_zh=label_zh,
                  description=description, group=group)
    if isinstance(spec, (list, tuple)) and spec and not isinstance(spec[0], (int, float)):
        return Control(kind="choice", choices=tuple(spec), **common)
    if isinstance(value, bool):
        return Control(kind="bool", **common)
    annotation = info.annotation if info is not None else None
    if typing.get_origin(annotation) is typing.Literal:
        return Control(kind="choice", choices=typing.get_args(annotation), **common)
    if not isinstance(value, (int, float)):
        raise ScenarioError(f"{key} = {value!r}: only numbers, switches and choices get a "
                            "control (give a distribution's parameters, e.g. churn.base.a)")
    if spec is None:
        low, high = schema_bounds(info) if info is not None else (None, None)
        if low is None or high is None:
            raise ScenarioError(f"{key}: the schema has no finite range; give one, e.g. "
                                f"{{'{key}': (0, 1, 0.01)}}")
        spec = (low, high, (high - low) / 100)
    low, high, step = spec
    if isinstance(value, int) and all(float(x).is_integer() for x in spec):
        return Control(kind="int", low=int(low), high=int(high), step=int(step) or 1, **common)
    return Control(kind="float", low=float(low), high=float(high), step=float(step), **common)


# --------------------------------------------------------------------------- class levers


@dataclass(frozen=True)
class Lever:
    """A key the dashboard offers: its default range and when it applies to a scenario."""

    key: str
    spec: tuple | Callable[[Scenario], tuple] | None
    group: str
    applies: Callable[[Scenario], bool] = lambda scenario: True


def _horizon_range(scenario: Scenario) -> tuple:
    """Up to twice the scenario's horizon, in steps that suit its time unit."""
    step = 1.0 if scenario.horizon <= 100 else 5.0
    return step, max(2 * scenario.horizon, 2 * step), step


#: the course topics the levers are grouped under (English, Chinese)
GROUPS: dict[str, tuple[str, str]] = {
    "size": ("Run size", "模拟规模"),
    "service": ("Satisfaction and service", "满意度与服务"),
    "loyalty": ("Switching costs and loyalty", "转换成本与忠诚"),
    "retention": ("Retention and win-back", "客户保持与赢回"),
    "acquisition": ("Acquisition", "客户开发"),
}

#: the key levers of a class dashboard, by topic (ranges are widened to hold a scenario's value)
LEVERS: tuple[Lever, ...] = (
    Lever("customers.initial", (50, 5000, 50), "size"),
    Lever("horizon", _horizon_range, "size"),
    Lever("satisfaction.service_quality", (0.3, 1.0, 0.01), "service"),
    Lever("service.agents", (0, 20, 1), "service"),
    Lever("service.failure_rate", (0.0, 0.3, 0.01), "service"),
    Lever("service.resolution_probability", (0.0, 1.0, 0.05), "service",
          lambda sc: sc.service.agents > 0),
    Lever("switching_cost.procedural", (0.0, 2.0, 0.05), "loyalty"),
    Lever("switching_cost.relational", (0.0, 2.0, 0.05), "loyalty"),
    Lever("rewards.enabled", None, "loyalty"),
    Lever("rewards.redemption_value", (0, 40, 1), "loyalty", lambda sc: sc.rewards.enabled),
    Lever("tiering.enabled", None, "retention"),
    Lever("tiering.method", None, "retention", lambda sc: sc.tiering.enabled),
    Lever("warning.targeting", None, "retention", lambda sc: sc.warning.enabled),
    Lever("warning.top_k", (0, 300, 10), "retention",
          lambda sc: sc.warning.enabled and sc.warning.top_k is not None),
    Lever("warning.offer_cost", (0, 100, 5), "retention", lambda sc: sc.warning.enabled),
    Lever("win_back.enabled", None, "retention"),
    Lever("win_back.discount", (0.0, 0.5, 0.05), "retention"),
    Lever("acquisition.rate", (0.0, 10.0, 0.5), "acquisition",
          lambda sc: not sc.acquisition.budget),
    Lever("acquisition.cost_per_acquisition", (0, 100, 5), "acquisition"),
)


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above x."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= x:
            return factor * power
    return 10 * power  # pragma: no cover


def _widened(spec: tuple, value: float) -> tuple:
    """Widen ``(low, high, step)`` so that it holds ``value`` (with room to double it)."""
    low, high, step = spec
    if low <= value <= high:
        return spec
    new_high = max(high, _nice_ceiling(2 * value))
    new_low = min(low, value)
    integral = all(float(x).is_integer() for x in spec) and float(value).is_integer()
    new_step = _nice_ceiling((new_high - new_low) / 100)
    if integral:
        return int(new_low), int(new_high), max(1, int(round(new_step)))
    return new_low, new_high, new_step


def levers(scenario: Scenario, catalogue: tuple[Lever, ...] = LEVERS) -> list[Control]:
    """The controls of the catalogue's levers that apply to ``scenario``, in catalogue order."""
    controls = []
    for lever in catalogue:
        if not lever.applies(scenario):
            continue
        value = value_at(scenario, lever.key)
        spec = lever.spec(scenario) if callable(lever.spec) else lever.spec
        if spec is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            spec = _widened(spec, value)
        controls.append(define(scenario, lever.key, spec, group=lever.group))
    return controls
