"""Field types for aggregates and events, named as in ``protean.fields``.

A field cleans a raw value (coercing where Protean's Pydantic-backed fields coerce) and
returns it, or raises :class:`FieldInvalid` with a message in Protean's words. Fields
also convert values to and from the JSON the store keeps.
"""

from __future__ import annotations

from workbench.core.fields.associations import HasMany, HasOne, Reference
from workbench.core.fields.base import MISSING as MISSING
from workbench.core.fields.base import Field, FieldInvalid
from workbench.core.fields.containers import Dict, List
from workbench.core.fields.containers import python_type_field as python_type_field
from workbench.core.fields.simple import Auto, Boolean, Float, Identifier, Integer, String, Text
from workbench.core.fields.temporal import Date, DateTime
from workbench.core.fields.value_objects import NestedInvalid, ValueObject, ValueObjectList

__all__ = [
    "Auto",
    "Boolean",
    "Date",
    "DateTime",
    "Dict",
    "Field",
    "FieldInvalid",
    "Float",
    "HasMany",
    "HasOne",
    "Identifier",
    "Integer",
    "List",
    "NestedInvalid",
    "Reference",
    "String",
    "Text",
    "ValueObject",
    "ValueObjectList",
]
