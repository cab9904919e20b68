"""Date and DateTime fields (ISO 8601 in the store)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from workbench.core.fields.base import Field, FieldInvalid


class Date(Field):
    """A calendar date; ISO strings are parsed. Stored as ``YYYY-MM-DD``."""

    def _cast(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return _exact_date(value)
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            try:
                return _dt.date.fromisoformat(text)
            except ValueError:
                pass
            try:
                return _exact_date(_dt.datetime.fromisoformat(text))
            except ValueError:
                pass
        raise FieldInvalid("Input should be a valid date")

    def as_json(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None

    def from_json(self, value: Any) -> Any:
        return _dt.date.fromisoformat(value) if isinstance(value, str) else value


def _exact_date(value: _dt.datetime) -> _dt.date:
    """The date of a midnight datetime; any time of day is refused rather than dropped."""
    if value.time() != _dt.time(0):
        raise FieldInvalid("Datetimes provided to dates should have zero time - e.g. be exact dates")
    return value.date()


class DateTime(Field):
    """A point in time; ISO strings are parsed. Stored as ISO 8601."""

    def _cast(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value
        if isinstance(value, _dt.date):
            return _dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return _dt.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        raise FieldInvalid("Input should be a valid datetime")

    def as_json(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None

    def from_json(self, value: Any) -> Any:
        return _dt.datetime.fromisoformat(value) if isinstance(value, str) else value


