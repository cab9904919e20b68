"""Exceptions raised by the workbench engine.

The names follow Protean's (``protean.exceptions``) so that domain code written for
Protean catches the same classes here.
"""

from __future__ import annotations

from typing import Any


class ProteanException(Exception):
    """Base of every engine error (named after Protean's root exception)."""


WorkbenchError = ProteanException


class ConfigurationError(ProteanException):
    """The domain or one of its elements is configured wrongly."""


class IncorrectUsageError(ProteanException):
    """An API was used in a way it does not support."""


class NotSupportedError(ProteanException):
    """The feature exists in Protean but this engine does not offer it."""


class ValidationError(ProteanException):
    """Field values failed validation.

    Attributes:
        messages: ``{field_name: [message, ...]}`` for every bad field at once.
    """

    def __init__(self, messages: dict[str, list[str]]) -> None:
        super().__init__(messages)
        self.messages = messages


class ObjectNotFoundError(ProteanException):
    """No aggregate matched a ``get`` or ``find_by``."""


class TooManyObjectsError(ProteanException):
    """More than one aggregate matched a ``find_by``."""


class ExpectedVersionError(ProteanException):
    """A write was based on a stale version of a stream or aggregate."""


class TransactionError(ProteanException):
    """A unit of work could not complete.

    Attributes:
        extra_info: details about the failure (Protean's attribute name).
    """

    def __init__(self, message: str, extra_info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.extra_info = extra_info or {}


class HandlerError(TransactionError):
    """One or more event handlers failed while processing committed events.

    The commit that raised the events is durable; only the failing handler methods were
    rolled back. Each failure is also recorded in the store.

    Attributes:
        failures: the recorded failures, one per failing handler method.
    """

    def __init__(self, message: str, failures: list[Any]) -> None:
        super().__init__(message, {"failures": failures})
        self.failures = failures


class CascadeDepthError(TransactionError):
    """A chain of sync handlers kept raising events past ``config["max_cascade_depth"]``."""


class ImmediateStop(BaseException):
    """The operator asked the engine to stop *now* (a second Ctrl-C or SIGTERM).

    A ``BaseException`` so that domain code's ``except Exception`` does not swallow it;
    the engine lets it through while everything else a handler raises is that handler's
    failure. The message in progress is rolled back and not acknowledged.
    """


class DeserializationError(ProteanException):
    """A stored message could not be turned back into its domain object."""


class StoreError(ProteanException):
    """The store on disk cannot be used as asked."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock."""


class StoreCorruptError(StoreError):
    """The store's files are damaged in a way that cannot be repaired safely."""


class StoreFormatError(StoreError):
    """The store was written by a newer (or unknown) format version."""


class DomainLoadError(ProteanException):
    """A domain file or module could not be loaded."""


# The rest of Protean 0.18's exception classes, so domain code that imports or catches
# them loads; the engine itself raises few of them.


class InvalidDataError(ProteanException):
    """Data could not be turned into a domain object."""


class InvalidOperationError(ProteanException):
    """An operation is not allowed in the object's current situation."""


class InvalidStateError(ProteanException):
    """An object is in a state that does not allow the operation."""


class InsufficientDataError(ProteanException):
    """Not enough data was given to perform the operation."""


class SendError(ProteanException):
    """A message (e-mail, broker publish) could not be sent."""


class DatabaseError(ProteanException):
    """The persistence layer failed."""


class DuplicateCommandError(ProteanException):
    """A command with the same idempotency key was already processed.

    ``original_result`` is what the first processing returned.
    """

    def __init__(self, message: str, original_result: Any = None) -> None:
        super().__init__(message)
        self.original_result = original_result


class CommandExpiredError(ProteanException):
    """A command arrived after its deadline."""


class NoDomainException(ProteanException):
    """No domain is active."""


class ProteanExceptionWithMessage(ProteanException):
    """An engine error carrying a dict of messages (Protean's shape)."""

    def __init__(self, messages: Any = None, **kwargs: Any) -> None:
        super().__init__(messages)
        self.messages = messages
