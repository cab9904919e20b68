"""Testing a domain: load it on a fresh store, then given / when / then.

The pytest plugin (:mod:`workbench.pytest_plugin`) hands these out as fixtures, but they
work in any test runner::

    harness = DomainHarness.open("samples/shop/domain.py", tmp_path / "store")
    harness.given(Inventory(book_id="b-1", in_stock=100))
    outcome = harness.when(OrderShipped(order_id="o-1", book_id="b-1", quantity=10, total_amount=100))
    outcome.then_succeeded("ManageInventory").then(Inventory, book_id="b-1", in_stock=90)

Ids and times are deterministic (``000000-0001``, ``2026-01-01T00:00:00``) and time is
a :class:`~workbench.core.clock.VirtualClock`: ``harness.clock.advance(30)`` makes
retries scheduled 30 seconds later due, without sleeping. Failed expectations raise
``AssertionError`` with a message saying what was expected and what happened.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.aggregate import BaseAggregate
from workbench.core.clock import VirtualClock
from workbench.core.command import BaseCommand
from workbench.core.context import handler_context
from workbench.core.dead_letters import DeadLetter, list_dead_letters
from workbench.core.domain import Domain
from workbench.core.engine import Engine
from workbench.core.event import BaseEvent
from workbench.core.exceptions import HandlerError, IncorrectUsageError
from workbench.core.loader import load_domain
from workbench.core.message import Message
from workbench.core.store import Change, open_store
from workbench.core.subscription import PENDING, Tally
from workbench.core.trace import Outcome as HandlerOutcome
from workbench.core.trace import outcomes_for
from workbench.core.unit_of_work import UnitOfWork

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PROCESSING_MODES = ("sync", "async")


def short_type(type_string: str) -> str:
    """``Shop.OrderShipped.v1`` -> ``OrderShipped``."""
    parts = type_string.split(".")
    return parts[-2] if len(parts) >= 3 else parts[-1]


def _type_name(item: str | type) -> str:
    return item if isinstance(item, str) else item.__name__


@dataclass
class Outcome:
    """What one ``when`` led to: the messages stored and what every handler made of them.

    Attributes:
        message: the message ``when`` stored.
        raised: the messages stored after it while it was processed (events raised by handlers).
        handlers: each handler's outcome for each message (``ok``, ``failed``, ``retrying``,
            ``dead-lettered``, ``waiting``, ``queued``).
        result: what ``domain.process`` returned for a command (the handler's value in
            sync mode, the command's stream position in async mode).
    """

    harness: DomainHarness
    message: Message
    raised: list[Message] = field(default_factory=list)
    handlers: list[tuple[Message, HandlerOutcome]] = field(default_factory=list)
    result: Any = None

    def then_returned(self, expected: Any) -> Outcome:
        """Assert what processing the command returned."""
        if self.result != expected:
            command = short_type(self.message.type)
            raise AssertionError(f"expected {command} to return {expected!r}, got {self.result!r}")
        return self

    @property
    def raised_types(self) -> list[str]:
        """Short type names of the raised events, in order."""
        return [short_type(m.type) for m in self.raised]

    def outcome_of(self, handler: str | type) -> list[HandlerOutcome]:
        """Every outcome of ``handler`` (one per message it should have received)."""
        name = _type_name(handler)
        return [o for _, o in self.handlers if o.handler == name or o.handler.startswith(f"{name}@")]

    def then_raised(self, *events: str | type) -> Outcome:
        """Assert that exactly these events (names or classes, in order) were raised."""
        expected = [_type_name(e) for e in events]
        if self.raised_types != expected:
            raise AssertionError(f"expected raised events {expected}, got {self.raised_types}")
        return self

    def then_succeeded(self, *handlers: str | type) -> Outcome:
        """Assert that each handler ran on every message it listens to, without failing."""
        for handler in handlers:
            outcomes = self.outcome_of(handler)
            if not outcomes:
                raise AssertionError(f"{_type_name(handler)} did not receive {short_type(self.message.type)}")
            bad = [o for o in outcomes if o.status != "ok"]
            if bad:
                raise AssertionError(f"expected {_type_name(handler)} to succeed, got {self._describe(bad)}")
        return self

    def then_failed(self, handler: str | type, error: str | type[BaseException] | None = None) -> Outcome:
        """Assert that ``handler`` failed (retrying, dead-lettered or recorded), optionally with ``error``.

        Args:
            handler: the handler class or its name.
            error: the exception class, or text that the failure's description contains.
        """
        name = _type_name(handler)
        failed = [
            (m, o)
            for m, o in self.handlers
            if (o.handler == name or o.handler.startswith(f"{name}@"))
            and o.status in ("failed", "retrying", "dead-lettered")
        ]
        outcomes = [o for _, o in failed]
        if not outcomes:
            raise AssertionError(
                f"expected {_type_name(handler)} to fail, got {self._describe(self.outcome_of(handler)) or 'nothing'}"
            )
        if error is not None:
            wanted = error if isinstance(error, str) else error.__name__
            store = self.harness.domain.store
            # A retry's outcome text has no exception type; its pending entry does.
            pending = [store.get(PENDING, f"{o.handler}:{m.id}") or {} for m, o in failed]
            details = [o.detail for o in outcomes] + [f"{p.get('error_type')}: {p.get('error')}" for p in pending if p]
            if not any(wanted in detail for detail in details):
                raise AssertionError(
                    f"expected {_type_name(handler)} to fail with {wanted}, got {self._describe(outcomes)}"
                )
        return self

    def then(self, aggregate: type[BaseAggregate], identifier: Any = None, /, **expected: Any) -> Outcome:
        """Assert an aggregate's state; see :meth:`DomainHarness.then`."""
        self.harness.then(aggregate, identifier, **expected)
        return self

    @staticmethod
    def _describe(outcomes: Iterable[HandlerOutcome]) -> str:
        return "; ".join(f"{o.handler} {o.status}" + (f" ({o.detail})" if o.detail else "") for o in outcomes)


class DomainHarness:
    """A domain loaded on its own store, with deterministic ids and a virtual clock.

    Args:
        domain: the loaded domain, bound to its store.
        clock: the virtual clock installed as the domain's clock.
    """

    def __init__(self, domain: Domain, clock: VirtualClock) -> None:
        self.domain = domain
        self.clock = clock
        self._engine: Engine | None = None

    @classmethod
    def open(
        cls,
        domain_file: str | os.PathLike[str],
        store: str | os.PathLike[str] | None,
        *,
        processing: str | None = None,
        deterministic: bool = True,
    ) -> DomainHarness:
        """Load ``domain_file`` (Protean imports work) on a fresh store.

        Args:
            domain_file: a domain file or module, as ``workbench --domain`` takes.
            store: the store folder (None: in memory).
            processing: ``"sync"`` or ``"async"`` to override the domain's ``event_processing``.
            deterministic: counting ids (``000000-0001``) instead of uuid4s. Time is always
                a virtual clock starting at 2026-01-01.
        """
        if processing is not None and processing not in PROCESSING_MODES:
            raise IncorrectUsageError(f"processing must be 'sync' or 'async', not {processing!r}")
        domain = load_domain(str(domain_file), store=open_store(store))
        if processing is not None:
            domain.config["event_processing"] = processing
        if deterministic:
            ids = itertools.count(1)
            domain.identity_function = lambda: f"000000-{next(ids):04d}"
        clock = VirtualClock(EPOCH)
        domain.clock = clock
        return cls(domain, clock)

    def close(self) -> None:
        """Close the store."""
        self.domain.close()

    def __enter__(self) -> DomainHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- access -----------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The async engine over this domain."""
        if self._engine is None:
            self._engine = Engine(self.domain)
        return self._engine

    @property
    def is_async(self) -> bool:
        """True when events are stored and delivered by the engine."""
        return bool(self.domain.config.get("event_processing") == "async")

    def __getitem__(self, name: str) -> Any:
        """A registered element by name: ``harness["Order"]``."""
        registry = self.domain.registry
        # Every kind of element (aggregates, events, commands, value objects, services ...).
        for table in vars(registry).values():
            if isinstance(table, dict) and name in table:
                return table[name]
        raise KeyError(f"{self.domain!r} has no element named {name!r}")

    def repository(self, aggregate: type[BaseAggregate] | str) -> Any:
        """The repository of an aggregate (or projection) class or name."""
        return self.domain.repository_for(aggregate)

    def get(self, aggregate: type[BaseAggregate] | str, identifier: Any = None, /, **filters: Any) -> Any:
        """One aggregate by id, or the one matching ``filters`` (``book_id="b-1"``)."""
        with self.domain.domain_context():
            repo = self.repository(aggregate)
            return repo.get(identifier) if identifier is not None else repo.find_by(**filters)

    # -- given / when / then ------------------------------------------------------------

    def given(self, *items: BaseAggregate | BaseEvent, aggregate_id: Any = None) -> DomainHarness:
        """Set the scene: save aggregates, store events; then process them fully.

        Aggregates are saved (their raised events go to handlers as usual); events are
        appended to their aggregate's stream (``aggregate_id`` names it). In async mode
        the engine then runs until idle, so ``when`` starts from a settled store.

        Raises:
            AssertionError: a handler failed while setting the scene.
        """
        with self.domain.domain_context():
            for item in items:
                try:
                    if isinstance(item, BaseAggregate):
                        self.domain.repository_for(type(item)).add(item)
                    elif isinstance(item, BaseEvent):
                        self.domain.event_store.append(item, aggregate_id=aggregate_id)
                    else:
                        raise IncorrectUsageError(f"given() takes aggregates and events, not {type(item).__name__}")
                except HandlerError as exc:
                    raise AssertionError(f"a handler failed during given(): {exc}") from exc
        if self.is_async:
            tally = self.process()
            if tally.failed:
                raise AssertionError(f"a handler failed during given(): {tally.by_handler}")
        return self

    def when(self, event: BaseEvent | BaseCommand, *, aggregate_id: Any = None, **options: Any) -> Outcome:
        """Store ``event`` (or process a command) and process it (sync: inline; async: the
        engine runs until idle).

        Handler failures do not raise: they are in the outcome, for ``then_failed``.

        Args:
            event: the event, or a command (``domain.process`` runs it; the outcome's
                ``result`` is what it returned).
            aggregate_id: the aggregate instance whose stream receives an event.
            options: ``origin_stream`` or ``correlation_id``, as ``workbench raise`` takes them
                (for a command: ``domain.process``'s options).
        """
        if not isinstance(event, (BaseEvent, BaseCommand)):
            raise IncorrectUsageError(f"when() takes an event or a command, not {type(event).__name__}")
        before = self.domain.store.event_count()
        result = None
        with self.domain.domain_context():
            try:
                if isinstance(event, BaseCommand):
                    result = self.domain.process(event, **options)
                else:
                    self.domain.event_store.append(event, aggregate_id=aggregate_id, **options)
            except HandlerError:
                pass  # recorded in the store; the outcome reports it
            except Exception:
                if not isinstance(event, BaseCommand) or self.domain.store.event_count() == before:
                    raise  # not a handler's failure: the command was refused before it was stored
        if self.is_async or self.domain.config.get("command_processing") == "async":
            self.process()
        messages = list(self.domain.event_store.read_all("$all", position=before + 1))
        outcome = Outcome(self, messages[0], raised=messages[1:], result=result)
        for message in messages:
            outcome.handlers.extend((message, o) for o in outcomes_for(self.domain, message))
        return outcome

    def then(self, aggregate: type[BaseAggregate] | str, identifier: Any = None, /, **expected: Any) -> Any:
        """Assert an aggregate's fields; returns the aggregate.

        The aggregate is found by ``identifier`` or, without one, by the expected fields
        that are indexed lookups: pass ``then(Inventory, book_id="b-1", in_stock=90)`` and
        the first field (``book_id``) finds it, the rest are checked.
        """
        lookup = dict(list(expected.items())[:1]) if identifier is None else {}
        found = self.get(aggregate, identifier, **lookup)
        actual = found.to_dict()
        wrong = {k: (v, actual.get(k)) for k, v in expected.items() if actual.get(k) != v}
        if wrong:
            diffs = ", ".join(f"{k}: expected {e!r}, got {a!r}" for k, (e, a) in wrong.items())
            raise AssertionError(f"{_type_name(aggregate) if not isinstance(aggregate, str) else aggregate}: {diffs}")
        return found

    # -- the async engine and the DLQ ---------------------------------------------------

    def process(self, limit: int | None = None) -> Tally:
        """Run the async engine until idle (or ``limit`` messages); retries not yet due wait for the clock."""
        with self.domain.domain_context():
            if limit is not None:
                return self.engine.process(limit)
            return self.engine.process_until_idle()

    def advance(self, seconds: float) -> Tally:
        """Move the virtual clock forward by ``seconds``, then process what became due."""
        self.clock.advance(seconds)
        return self.process()

    def dead_letters(self, handler: str | type | None = None) -> list[DeadLetter]:
        """The dead letters, oldest first (of one handler when given)."""
        return list_dead_letters(self.engine, handler=None if handler is None else _type_name(handler))

    def pending_retries(self, handler: str | type | None = None) -> list[dict[str, Any]]:
        """Messages waiting for another attempt, with their ``due`` time (epoch seconds)."""
        return [
            entry
            for sub in self.engine.subscriptions
            if handler is None or sub.handler.__name__ == _type_name(handler)
            for entry in sub.pending()
        ]

    # -- regression tests from dead letters --------------------------------------------------

    def restore(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Write aggregate and projection documents as they were exported (``{table: [doc, ...]}``)."""
        key_fields = {
            cls.meta_.options["table"]: cls.meta_.id_field
            for cls in [*self.domain.registry.aggregates.values(), *self.domain.registry.projections.values()]
        }
        changes: list[Change] = []
        for table, docs in tables.items():
            if table not in key_fields:
                raise IncorrectUsageError(f"{self.domain!r} has no aggregate or projection stored in {table!r}")
            key_field = key_fields[table]
            changes.extend(Change(table, key_field, doc[key_field], dict(doc)) for doc in docs)
        if changes:
            self.domain.store.commit(changes)

    def deliver(self, handler: str | type, record: dict[str, Any]) -> None:
        """Run ``handler``'s methods for a stored message record in one unit of work, as the engine would.

        Unlike the engine, the handler's exception propagates, so a test shows the
        original error and traceback.
        """
        name = _type_name(handler)
        found = [h for h in self.domain.registry.consumers if h.__name__ == name]
        if not found:
            raise IncorrectUsageError(f"{self.domain!r} has no handler named {name!r}")
        handler_cls = found[0]
        message = Message(record)
        methods = handler_cls.methods_for(message.type)
        if not methods:
            raise IncorrectUsageError(f"{name} does not handle {message.type}")
        with handler_context(self.domain, message), UnitOfWork(self.domain):
            event = self.domain.event_from_message(message)
            for method in methods:
                getattr(handler_cls(), method)(event)


def resolve_domain_file(spec: str | os.PathLike[str], *, relative_to: Iterable[Path]) -> str:
    """A domain file given relative to the test file, or to the project root, made absolute.

    Module names (``shop.domain``) are returned as they are.
    """
    text = str(spec)
    path = Path(text)
    if path.is_absolute() or not (text.endswith(".py") or "/" in text or os.sep in text):
        return text
    for folder in relative_to:
        candidate = folder / path
        if candidate.exists():
            return str(candidate)
    return text
