"""Protean features the workbench does not offer yet, as stand-ins that fail clearly when used.

A Protean domain file may import anything Protean 0.18 exports. Importing one of these
always works; *using* it (calling it, subclassing it, decorating with it, declaring a
field of its type) raises :class:`NotSupportedError` with one line naming the feature,
so loading the file stops at the user's line instead of deep inside the engine.
"""

from __future__ import annotations

from typing import Any, NoReturn

from workbench.core.exceptions import NotSupportedError

# Domain decorators Protean 0.18 has and the workbench does not (yet).
DOMAIN_DECORATORS = {
    "repository": "custom repositories",
    "process_manager": "process managers",
    "upcaster": "upcasters",
    "database_model": "database models",
    "model": "database models",
    "email": "e-mails",
}


def not_supported(feature: str) -> NotSupportedError:
    """The error for using ``feature``: one line, naming it."""
    return NotSupportedError(f"{feature} is not supported yet by the workbench")


class _UnsupportedAttribute(NotSupportedError, AttributeError):
    def __init__(self, feature: str) -> None:
        super().__init__(f"{feature} is not supported yet by the workbench")


class Unsupported:
    """A stand-in for a Protean name: importable, but any use raises NotSupportedError.

    Args:
        name: the Protean name, e.g. ``invariant``.
        feature: what it is, for the message, e.g. ``invariants (@invariant)``.
    """

    def __init__(self, name: str, feature: str | None = None) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_feature", feature or f"`{name}`")

    def _fail(self) -> NoReturn:
        raise not_supported(object.__getattribute__(self, "_feature"))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._fail()

    def __getattr__(self, attribute: str) -> NoReturn:
        if attribute.startswith("__"):
            raise AttributeError(attribute)  # keep introspection (copy, pickle, inspect) working
        # Also an AttributeError, so `hasattr(invariant, "x")` in tools stays False, not a crash.
        raise _UnsupportedAttribute(str(object.__getattribute__(self, "_feature")))

    def __mro_entries__(self, bases: tuple[Any, ...]) -> NoReturn:
        # `class Address(BaseValueObject)`: fail at the class statement.
        self._fail()

    def __enter__(self) -> NoReturn:
        self._fail()

    def __exit__(self, *exc: object) -> None:
        return None

    def __repr__(self) -> str:
        return f"<not supported yet: {object.__getattribute__(self, '_name')}>"


class UnsupportedField(Unsupported):
    """A field type the workbench lacks: declaring a field of it fails at decoration."""

    def __call__(self, *args: Any, **kwargs: Any) -> UnsupportedField:
        return self  # the declaration itself is checked by collect_fields, which names the field

    @property
    def feature(self) -> str:
        """What the field type is, for the error message."""
        return str(object.__getattribute__(self, "_feature"))


FIELD_TYPES = {
    "Decimal": "the `Decimal` field",
    "Status": "the `Status` field",
    "Custom": "the `Custom` field",
    "ValueObjectFromEntity": "value objects (`ValueObjectFromEntity`)",
    "Method": "the `Method` field",
    "Nested": "the `Nested` field",
}


def unsupported_fields() -> dict[str, UnsupportedField]:
    """Stand-ins for Protean's field types the workbench does not have."""
    return {name: UnsupportedField(name, feature) for name, feature in FIELD_TYPES.items()}


def module_getattr(module: str, known: frozenset[str]) -> Any:
    """A module ``__getattr__``: names Protean 0.18 has in ``module`` become stand-ins.

    Any other name raises AttributeError, so ``from protean.x import Typo`` still fails
    as Python's ImportError names it.
    """

    def getattr_(name: str) -> Any:
        if name in known:
            return Unsupported(name, f"`{module}.{name}`")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return getattr_
