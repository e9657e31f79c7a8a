"""The base of every scenario section: strict, finite, and clear about what it accepts.

A scenario is assembled from *sections*: the core ones (market, customers, purchase, churn,
satisfaction, economics ... in :mod:`crmsim.scenario`) and one per policy, each defined in its
policy's module (:mod:`crmsim.policies`). Every section derives from :class:`Section`, so all
of them reject the same mistakes the same way:

* an unknown key (``extra="forbid"``; the loader adds "did you mean ...");
* a number that is not finite — ``.inf``, ``-.inf``, ``.nan`` in YAML — where a finite one is
  needed (a horizon of infinity would never end; NaN would poison every KPI);
* ``true`` / ``false`` given for a number (YAML would otherwise let ``true`` pass as 1), and a
  number or text given for a switch (pydantic would otherwise let ``1`` or ``"yes"`` pass as
  true).
"""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

STRICT = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _admits_bool(annotation) -> bool:
    """Whether a field's annotation accepts a bool (bool itself, or a union holding it)."""
    if annotation is bool:
        return True
    return any(_admits_bool(arg) for arg in typing.get_args(annotation))


def _only_bool(annotation) -> bool:
    """Whether a field is a switch: ``bool`` (or ``bool | None``), nothing else."""
    if annotation is bool:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _only_bool(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return bool(args) and all(a is bool for a in args)


class Section(BaseModel):
    """A scenario section (see the module docstring)."""

    model_config = STRICT

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value, info: ValidationInfo):
        if isinstance(value, bool):
            field = cls.model_fields.get(info.field_name)
            if field is not None and not _admits_bool(field.annotation):
                raise ValueError(f"a number is required, not {str(value).lower()} (a switch)")
        elif value is not None and type(value).__name__ not in ("bool", "bool_"):
            field = cls.model_fields.get(info.field_name)
            if field is not None and _only_bool(field.annotation):
                raise ValueError(f"true or false is required, not {value!r}")
        return value
