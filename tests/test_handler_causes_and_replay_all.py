"""Handler failures keep their cause; `replay '$all'` delivers exactly as live dispatch."""

from __future__ import annotations

import pytest
from workbench.core import Domain, UnitOfWork, current_domain, handle, on
from workbench.core.exceptions import HandlerError, ObjectNotFoundError, TransactionError, ValidationError
from workbench.core.fields import Identifier, Integer, String
from workbench.core.replay import replay
from workbench.core.store import open_store


def library(store, *, failing=()):
    domain = Domain(name="Lib")
    domain.config["event_processing"] = "sync"
    domain.seen = []  # type: ignore[attr-defined]

    @domain.aggregate
    class Book:
        title = String()

    @domain.aggregate
    class Member:
        name = String()

    @domain.event(part_of=Book)
    class Lent:
        title = String()

    @domain.event(part_of=Member)
    class Joined:
        name = String()

    @domain.projection
    class Activity:
        key = Identifier(identifier=True)
        count = Integer(default=0)

    @domain.event_handler(part_of=Book)
    class BookAudit:
        @handle("$any")
        def anything(self, event):
            domain.seen.append(("BookAudit", type(event).__name__))

    @domain.event_handler(part_of=Book)
    class BookChecks:
        @handle(Lent)
        def member_exists(self, event):
            if "missing" in failing:
                current_domain.repository_for(Member).get("nobody")

        @handle(Lent)
        def title_ok(self, event):
            if "value" in failing:
                raise ValueError("bad title")

    @domain.event_handler(part_of=Member)
    class Welcome:
        @handle(Joined)
        def welcome(self, event):
            domain.seen.append(("Welcome", type(event).__name__))
            if "validation" in failing:
                Member(name=5)

    @domain.projector(projector_for=Activity, aggregates=[Book, Member])
    class CountActivity:
        @on(Lent)
        def lent(self, event):
            domain.seen.append(("CountActivity", "Lent"))

        @on(Joined)
        def joined(self, event):
            domain.seen.append(("CountActivity", "Joined"))

    domain.init()
    domain.bind_store(store)
    return domain, Book, Member, Lent, Joined


def raise_both(domain, Book, Member, Lent, Joined):
    book, member = Book(title="Dune"), Member(name="Ann")
    book.raise_(Lent(title="Dune"))
    member.raise_(Joined(name="Ann"))
    domain.repository_for(Book).add(book)
    domain.repository_for(Member).add(member)


def test_one_failure_is_chained_as_the_cause():
    domain, *elements = library(open_store(None), failing=("validation",))
    with domain.domain_context():
        book_and_member = elements
        with pytest.raises(HandlerError) as info:
            raise_both(domain, *book_and_member)
    assert isinstance(info.value.__cause__, ValidationError)
    assert info.value.__cause__.messages == {"name": ["Input should be a valid string"]}


def test_several_failures_are_all_reachable_through_an_exception_group():
    domain, *elements = library(open_store(None), failing=("value", "missing"))
    with domain.domain_context(), pytest.raises(HandlerError) as info:
        book = elements[0](title="Dune")
        book.raise_(elements[2](title="Dune"))
        domain.repository_for(elements[0]).add(book)
    group = info.value.__cause__
    assert isinstance(group, ExceptionGroup)
    assert sorted(type(e).__name__ for e in group.exceptions) == ["ObjectNotFoundError", "ValueError"]
    assert any(isinstance(e, ObjectNotFoundError) for e in group.exceptions)


def test_a_failed_nested_unit_of_work_is_the_cause_of_the_transaction_error():
    domain, Book, *_ = library(open_store(None))
    with domain.domain_context(), pytest.raises(TransactionError) as info, UnitOfWork(domain):
        try:
            with UnitOfWork(domain):
                raise KeyError("inner")
        except KeyError:
            pass
    assert isinstance(info.value.__cause__, KeyError)


def test_replay_all_delivers_what_live_dispatch_delivered(store_dir):
    domain, *elements = library(open_store(store_dir))
    with domain.domain_context():
        raise_both(domain, *elements)
    live = sorted(domain.seen)
    assert live == [
        ("BookAudit", "Lent"),
        ("CountActivity", "Joined"),
        ("CountActivity", "Lent"),
        ("Welcome", "Joined"),
    ]
    domain.seen.clear()
    with domain.domain_context():
        report = replay(domain, "$all")
    assert sorted(domain.seen) == live  # no Joined to BookAudit's $any, no event twice to CountActivity
    assert report.failed == 0
    domain.close()
