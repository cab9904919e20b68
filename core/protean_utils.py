"""Small Protean helpers domain files use: ``g``, ``current_uow``, ``fqn``.

They live here so that ``protean``, ``protean.utils`` and ``protean.utils.globals``
(see :mod:`workbench.core._protean_alias`) can share them.
"""

from __future__ import annotations

import datetime as _dt
import enum
from types import SimpleNamespace
from typing import Any

from workbench.core.context import active_domain
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.unit_of_work import current_uow as _current_uow


def fqn(cls: type) -> str:
    """The fully qualified name of a class: ``module.QualName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def utcnow_func() -> _dt.datetime:
    """The current time in UTC, timezone-aware (Protean's default clock for fields)."""
    return _dt.datetime.now(_dt.UTC)


class DomainObjects(enum.Enum):
    """The kinds of domain element Protean knows (the workbench registers some of them)."""

    AGGREGATE = "AGGREGATE"
    APPLICATION_SERVICE = "APPLICATION_SERVICE"
    COMMAND = "COMMAND"
    COMMAND_HANDLER = "COMMAND_HANDLER"
    DATABASE_MODEL = "DATABASE_MODEL"
    DOMAIN_SERVICE = "DOMAIN_SERVICE"
    EMAIL = "EMAIL"
    ENTITY = "ENTITY"
    EVENT = "EVENT"
    EVENT_HANDLER = "EVENT_HANDLER"
    EVENT_SOURCED_REPOSITORY = "EVENT_SOURCED_REPOSITORY"
    PROCESS_MANAGER = "PROCESS_MANAGER"
    PROJECTION = "PROJECTION"
    PROJECTOR = "PROJECTOR"
    QUERY = "QUERY"
    QUERY_HANDLER = "QUERY_HANDLER"
    REPOSITORY = "REPOSITORY"
    SUBSCRIBER = "SUBSCRIBER"
    UPCASTER = "UPCASTER"
    VALUE_OBJECT = "VALUE_OBJECT"


class _CurrentUnitOfWork:
    """``current_uow``: the unit of work in progress; falsy when there is none."""

    def _target(self) -> Any:
        uow = _current_uow()
        if uow is None:
            raise IncorrectUsageError("no unit of work is in progress (current_uow is empty)")
        return uow

    def __bool__(self) -> bool:
        return _current_uow() is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __repr__(self) -> str:
        return f"<current_uow: {_current_uow()!r}>"


class _DomainGlobals:
    """``g``: a scratch namespace of the active domain (Protean's per-context globals)."""

    def _namespace(self) -> SimpleNamespace:
        domain = active_domain()
        if domain is None:
            raise IncorrectUsageError("`g` needs an active domain (use `with domain.domain_context():`)")
        namespace = domain.__dict__.get("_protean_g")
        if namespace is None:
            namespace = domain.__dict__["_protean_g"] = SimpleNamespace()
        return namespace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._namespace(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._namespace(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._namespace(), name)

    def get(self, name: str, default: Any = None) -> Any:
        """The value of ``name``, or ``default``."""
        return getattr(self._namespace(), name, default)

    def pop(self, name: str, default: Any = None) -> Any:
        """Remove ``name`` and return its value (``default`` when unset)."""
        return self._namespace().__dict__.pop(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self._namespace().__dict__


current_uow: Any = _CurrentUnitOfWork()
g: Any = _DomainGlobals()
