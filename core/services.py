"""Domain services (logic spanning aggregates) and application services (use cases).

Both are as thin as Protean makes them: a domain service holds the aggregates it was
built with (``self._aggregates``) and checks its invariants around every public method;
an application service's ``@use_case`` methods each run in one unit of work, so what
they save is committed together or not at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.core._model import ElementMeta, derive_class
from workbench.core.context import active_domain
from workbench.core.exceptions import ConfigurationError, IncorrectUsageError, NotSupportedError
from workbench.core.invariants import check, collect_invariants
from workbench.core.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from workbench.core.domain import Domain

SERVICE_OPTIONS = frozenset({"part_of", "suppress_checks", "abstract"})


class BaseDomainService:
    """Base of domain services: ``Service(order, inventory)`` then call its methods."""

    meta_: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is BaseDomainService:
            raise NotSupportedError("BaseDomainService cannot be instantiated")
        return super().__new__(cls)

    def __init__(self, *aggregates: Any) -> None:
        self._aggregates = aggregates


class BaseApplicationService:
    """Base of application services: a class of ``@use_case`` methods."""

    meta_: Any

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is BaseApplicationService:
            raise NotSupportedError("BaseApplicationService cannot be instantiated")
        return super().__new__(cls)


def use_case(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` in one unit of work (joining the caller's, if one is in progress).

    Raises:
        ConfigurationError: called with no domain active (outside ``domain.domain_context()``
            and outside the workbench).
    """

    @functools.wraps(method)
    def run_use_case(*args: Any, **kwargs: Any) -> Any:
        domain = active_domain()
        if domain is None:
            raise ConfigurationError(
                f"use case `{method.__qualname__}` needs an active domain (domain.domain_context())"
            )
        with UnitOfWork(domain):
            return method(*args, **kwargs)

    run_use_case._use_case = True  # type: ignore[attr-defined]
    return run_use_case


def _with_invariants(method: Callable[..., Any], invariants: dict[str, tuple[Any, ...]]) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        check(self, invariants, "pre")
        result = method(self, *args, **kwargs)
        check(self, invariants, "post")
        return result

    return checked


def register_domain_service(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseDomainService]:
    """Derive a domain service; its public methods (and ``__call__``) check its invariants.

    Raises:
        IncorrectUsageError: ``part_of`` does not name two or more aggregates.
    """
    from workbench.core._registry import _options

    opts = _options(cls, given, SERVICE_OPTIONS, "domain service")
    part_of = opts.get("part_of")
    if not isinstance(part_of, (list, tuple)) or len(part_of) < 2:
        raise IncorrectUsageError(f"Domain Service `{cls.__name__}` needs to be associated with two or more Aggregates")
    new_cls: Any = derive_class(cls, BaseDomainService)
    invariants = collect_invariants(new_cls)
    if invariants:
        for name, value in list(vars(new_cls).items()):
            public = not name.startswith("_") or name == "__call__"
            if public and callable(value) and not hasattr(value, "_invariant") and not isinstance(value, type):
                setattr(new_cls, name, _with_invariants(value, invariants))
    meta = ElementMeta(kind="DOMAIN_SERVICE", domain=domain, part_of=list(part_of), options=opts)
    meta.invariants = invariants
    meta.fqn = f"{new_cls.__module__}.{new_cls.__qualname__}"
    new_cls.meta_ = meta
    return new_cls  # type: ignore[no-any-return]


def register_application_service(domain: Domain, cls: type, given: dict[str, Any]) -> type[BaseApplicationService]:
    """Derive an application service.

    Raises:
        IncorrectUsageError: no ``part_of`` aggregate.
    """
    from workbench.core._registry import _options

    opts = _options(cls, given, SERVICE_OPTIONS, "application service")
    if not opts.get("part_of"):
        raise IncorrectUsageError(f"Application Service `{cls.__name__}` needs to be associated with an aggregate")
    new_cls: Any = derive_class(cls, BaseApplicationService)
    meta = ElementMeta(kind="APPLICATION_SERVICE", domain=domain, part_of=opts["part_of"], options=opts)
    meta.fqn = f"{new_cls.__module__}.{new_cls.__qualname__}"
    new_cls.meta_ = meta
    return new_cls  # type: ignore[no-any-return]
