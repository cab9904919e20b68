"""What aggregates and events share: field collection, validation and serialisation."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from workbench.core.exceptions import IncorrectUsageError, NotSupportedError, ValidationError
from workbench.core.fields import (
    MISSING,
    Date,
    DateTime,
    Dict,
    Field,
    FieldInvalid,
    HasMany,
    HasOne,
    List,
    NestedInvalid,
    ValueObject,
    ValueObjectList,
    python_type_field,
)
from workbench.core.unsupported import UnsupportedField

if TYPE_CHECKING:
    from workbench.core.domain import Domain

_CODEC_TYPES = (Date, DateTime, List, ValueObject, HasMany, HasOne)
_MUTABLE_TYPES = (List, Dict)


@dataclass
class ElementMeta:
    """Options and derived facts of one registered element (``cls.meta_``)."""

    kind: str
    domain: Domain | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    id_field: str | None = None
    part_of: Any = None
    stream_category: str | None = None
    abstract: bool = False
    version: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    # Fields whose JSON form differs from their Python value, and fields holding
    # mutable containers that must be copied so stored documents never alias objects.
    codec_fields: tuple[str, ...] = ()
    mutable_fields: tuple[str, ...] = ()
    unique_fields: tuple[str, ...] = ()
    fqn: str = ""
    subscription: Any = None  # the resolved SubscriptionConfig of an event handler
    stream_categories: list[str] = field(default_factory=list)  # what a handler or projector listens to
    invariants: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # stage -> methods

    def finish(self) -> None:
        """Derive the per-field lists used on hot paths."""
        self.codec_fields = tuple(n for n, f in self.fields.items() if isinstance(f, _CODEC_TYPES))
        # A list of value objects (or of dates) is rebuilt by its codec, never copied as raw JSON.
        self.mutable_fields = tuple(
            n
            for n, f in self.fields.items()
            if isinstance(f, _MUTABLE_TYPES)
            and not isinstance(f, ValueObjectList)
            and not isinstance(getattr(f, "content", None), _CODEC_TYPES)
        )
        self.unique_fields = tuple(n for n, f in self.fields.items() if f.unique and not f.identifier)


def _resolve_annotation(cls: type, name: str, value: Any) -> Any:
    if isinstance(value, str):
        # `from __future__ import annotations` turns `x: Integer()` into a string.
        module = sys.modules.get(cls.__module__)
        namespace = dict(vars(module)) if module else {}
        namespace.update(vars(cls))
        try:
            return eval(value, namespace)
        except NameError as exc:
            if name.startswith("_"):
                return None
            # A misspelt field type (`weight: Integr()`) must not silently drop the field.
            raise IncorrectUsageError(
                f"`{cls.__name__}.{name}`: unknown name `{exc.name}` in the annotation `{value}`"
            ) from None
        except Exception:
            return None
    return value


def _refuse_unsupported(cls: type, name: str, value: Any) -> None:
    if isinstance(value, UnsupportedField):
        raise NotSupportedError(f"`{cls.__name__}.{name}`: {value.feature} is not supported yet by the workbench")


def collect_fields(cls: type) -> dict[str, Field]:
    """The fields declared on ``cls`` and its bases, in declaration order.

    Fields may be written as annotations (``quantity: Integer()``), as class
    attributes (``quantity = Integer()``) or as plain types (``quantity: int``).
    """
    fields: dict[str, Field] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            value = _resolve_annotation(klass, name, annotation)
            _refuse_unsupported(klass, name, value)
            if isinstance(value, type) and issubclass(value, Field):
                value = value()
            if not isinstance(value, Field):
                if name.startswith("_"):
                    continue
                # `status: str = "PENDING"` is a String with a default, as in Pydantic.
                value = python_type_field(value, vars(klass).get(name, MISSING))
                if value is None:
                    continue
            fields[name] = value
        for name, value in vars(klass).items():
            if isinstance(value, Field):
                fields[name] = value
            else:
                _refuse_unsupported(klass, name, value)
    for name, value in fields.items():
        value.name = name
    return fields


def derive_class(cls: type, base: type) -> type:
    """Return ``cls`` rebuilt as a subclass of ``base`` (the user wrote a plain class)."""
    if issubclass(cls, base):
        return cls
    namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    bases = (*(b for b in cls.__bases__ if b is not object), base)
    new_cls = type(cls.__name__, bases, namespace)
    new_cls.__qualname__ = cls.__qualname__
    new_cls.__module__ = cls.__module__
    return new_cls


def field_errors(name: str, exc: FieldInvalid) -> dict[str, list[str]]:
    """``{field: messages}`` for one bad field; a bad value inside it names the inner field too.

    ``address.street`` is the ``street`` of the value object in ``address``;
    ``lines.0.sku`` is the ``sku`` of the first item of ``lines``.
    """
    if isinstance(exc, NestedInvalid):
        return {f"{name}.{inner}": messages for inner, messages in exc.errors.items()}
    return {name: exc.messages}


def copy_json(value: Any, name: str = "value") -> Any:
    """A deep copy of a JSON-shaped value (lists and dicts), fast.

    Raises:
        ValidationError: ``name``'s value cannot be stored (nested too deeply, or an
            integer beyond 64 bits).
    """
    try:
        return orjson.loads(orjson.dumps(value))
    except orjson.JSONEncodeError as exc:
        from workbench.core.exceptions import ValidationError

        raise ValidationError({name: [f"cannot be stored: {exc}"]}) from None


class BaseModel:
    """Validated, JSON-serialisable field container behind aggregates and events."""

    meta_: ClassVar[ElementMeta]

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        self._set_fields(template, kwargs)
        self._post_init()

    def _set_fields(self, template: tuple[dict[str, Any], ...], kwargs: dict[str, Any]) -> None:
        """Clean every field value (collecting all errors at once) and set them."""
        if template:
            merged: dict[str, Any] = {}
            for item in template:
                if not isinstance(item, dict):
                    raise IncorrectUsageError(f"`{type(self).__name__}` takes a dict of values or keyword arguments")
                merged.update(item)
            merged.update(kwargs)
            kwargs = merged
        errors: dict[str, list[str]] | None = None
        values = self.__dict__
        pop = kwargs.pop
        for name, fld in self.meta_.fields.items():
            try:
                values[name] = fld.clean(pop(name, MISSING))
            except FieldInvalid as exc:
                if errors is None:
                    errors = {}
                errors.update(field_errors(name, exc))
        if kwargs:
            if errors is None:
                errors = {}
            for name in kwargs:
                errors[name] = ["Extra inputs are not permitted"]
        if errors:
            raise ValidationError(errors)

    def _post_init(self) -> None:
        """Hook for subclasses, run after fields are set."""

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> Any:
        """Rebuild an instance from trusted stored JSON, without re-validating."""
        instance = cls.__new__(cls)
        values = instance.__dict__
        meta = cls.meta_
        for name in meta.fields:
            values[name] = data.get(name)
        for name in meta.mutable_fields:
            if values[name] is not None:
                values[name] = copy_json(values[name])
        for name in meta.codec_fields:
            values[name] = meta.fields[name].from_json(values[name])
        return instance

    def _fields_json(self) -> dict[str, Any]:
        meta = self.meta_
        values = self.__dict__
        data = {name: values[name] for name in meta.fields}
        for name in meta.mutable_fields:
            if data[name] is not None:
                data[name] = copy_json(data[name], name)
        for name in meta.codec_fields:
            data[name] = meta.fields[name].as_json(data[name])
        return data

    def _validated_set(self, name: str, value: Any) -> None:
        fld = self.meta_.fields.get(name)
        if fld is None:
            object.__setattr__(self, name, value)
            return
        try:
            cleaned = fld.clean(value)
        except FieldInvalid as exc:
            raise ValidationError(field_errors(name, exc)) from None
        self.__dict__[name] = cleaned

    def __repr__(self) -> str:
        id_field = self.meta_.id_field
        if id_field:
            return f"<{type(self).__name__}: {type(self).__name__} object (id: {self.__dict__.get(id_field)})>"
        return f"<{type(self).__name__}: {self._fields_json()}>"


class ImmutableModel(BaseModel):
    """A registered, validated value that cannot change once built (events, queries)."""

    __type__: ClassVar[str] = ""
    _immutable_kind: ClassVar[str] = "Event/Command"

    def __init__(self, *template: dict[str, Any], **kwargs: Any) -> None:
        if "meta_" not in type(self).__dict__:
            from workbench.core.exceptions import ConfigurationError

            raise ConfigurationError(f"`{type(self).__name__}` should be registered with a domain")
        self._set_fields(template, kwargs)
        self.__dict__["_frozen"] = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen"):
            raise IncorrectUsageError(
                f"{self._immutable_kind} Objects are immutable and cannot be modified once created"
            )
        object.__setattr__(self, name, value)
