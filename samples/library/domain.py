"""A lending library that uses every element of a Protean domain model.

* `Book` is a state-based aggregate with `Copy` entities (`HasMany`), a `ShelfMark`
  value object and an invariant (never more loans than copies); librarians catalogue
  books through the `CatalogueBook` command.
* `Member` is an event-sourced aggregate: its state is the stream of `MemberRegistered`,
  `BookBorrowed` and `BookReturned`, applied by its `@apply` methods (a snapshot every
  `snapshot_threshold` events keeps loading cheap).
* Commands (`RegisterMember`, `BorrowBook`, `ReturnBook`) are handled by
  `LendingDesk`; the borrowing commands live in the `lending` stream, so
  `CopyAvailability` only reacts to loans that came through the desk.
* `LendingPolicy` is a domain service over a `Member` and a `Book` (its invariants check
  the member's limit and that a copy is free); `Registration` is an application service
  whose `@use_case` registers a member in one unit of work.
"""

from protean import Domain, apply, current_domain, handle, invariant, use_case
from protean.exceptions import ValidationError
from protean.fields import HasMany, Identifier, Integer, List, String, ValueObject

domain = Domain()
domain.config["event_processing"] = "sync"
domain.config["command_processing"] = "sync"
domain.config["snapshot_threshold"] = 5


# -- the catalogue ---------------------------------------------------------------------

@domain.value_object
class ShelfMark:
    room = String(required=True, max_length=20)
    shelf = Integer(required=True)

    @invariant.post
    def shelves_are_numbered_from_one(self):
        if self.shelf < 1:
            raise ValidationError({"shelf": ["Shelves are numbered from 1"]})


@domain.aggregate
class Book:
    isbn: Identifier(identifier=True)
    title: String(required=True, max_length=200)
    location = ValueObject(ShelfMark)
    copies = HasMany("Copy")
    on_loan: Integer(default=0)

    @invariant.post
    def never_more_loans_than_copies(self):
        if self.on_loan > len(self.copies):
            raise ValidationError({"on_loan": [f"all {len(self.copies)} copies of {self.title!r} are on loan"]})

    def lend(self) -> None:
        self.on_loan += 1

    def take_back(self) -> None:
        self.on_loan -= 1


@domain.entity(part_of=Book)
class Copy:
    barcode = String(required=True, max_length=30)
    condition = String(choices=["good", "worn", "damaged"], default="good")


@domain.command(part_of=Book)
class CatalogueBook:
    isbn: Identifier(identifier=True)
    title: String(required=True)
    copies: Integer(default=1)
    location = ValueObject(ShelfMark)


@domain.command_handler(part_of=Book)
class Cataloguing:
    @handle(CatalogueBook)
    def catalogue(self, command: CatalogueBook):
        book = Book(isbn=command.isbn, title=command.title, location=command.location)
        for n in range(1, command.copies + 1):
            book.add_copies(Copy(barcode=f"{command.isbn}/{n}"))
        current_domain.repository_for(Book).add(book)
        return book.isbn


# -- members: an event-sourced aggregate ------------------------------------------------

@domain.event(part_of="Member")
class MemberRegistered:
    member_id: Identifier(required=True)
    name: String(required=True)


@domain.event(part_of="Member")
class BookBorrowed:
    member_id: Identifier(required=True)
    isbn: Identifier(required=True)


@domain.event(part_of="Member")
class BookReturned:
    member_id: Identifier(required=True)
    isbn: Identifier(required=True)


@domain.aggregate(is_event_sourced=True)
class Member:
    member_id: Identifier(identifier=True)
    name: String()
    loans: List(content_type=String)
    borrowed_total: Integer()

    @classmethod
    def register(cls, member_id: str, name: str) -> "Member":
        member = cls(member_id=member_id, name=name)
        member.raise_(MemberRegistered(member_id=member_id, name=name))
        return member

    def borrow(self, isbn: str) -> None:
        if isbn in self.loans:
            raise ValidationError({"isbn": [f"{self.name} already has {isbn}"]})
        self.raise_(BookBorrowed(member_id=self.member_id, isbn=isbn))

    def give_back(self, isbn: str) -> None:
        if isbn not in self.loans:
            raise ValidationError({"isbn": [f"{self.name} has not borrowed {isbn}"]})
        self.raise_(BookReturned(member_id=self.member_id, isbn=isbn))

    @apply
    def registered(self, event: MemberRegistered) -> None:
        self.member_id = event.member_id
        self.name = event.name
        self.loans = []
        self.borrowed_total = 0

    @apply
    def borrowed(self, event: BookBorrowed) -> None:
        self.loans = [*self.loans, event.isbn]
        self.borrowed_total += 1

    @apply
    def returned(self, event: BookReturned) -> None:
        self.loans = [isbn for isbn in self.loans if isbn != event.isbn]


@domain.domain_service(part_of=[Member, Book])
class LendingPolicy:
    """A member holds at most three books, and only a book with a free copy is lent."""

    @invariant.pre
    def member_is_under_the_limit(self):
        member, _book = self._aggregates
        if len(member.loans) >= 3:
            raise ValidationError({"loans": [f"{member.name} already holds 3 books"]})

    @invariant.pre
    def a_copy_is_free(self):
        _member, book = self._aggregates
        if book.on_loan >= len(book.copies):
            raise ValidationError({"copies": [f"all {len(book.copies)} copies of {book.title!r} are on loan"]})

    def __call__(self):
        member, book = self._aggregates
        member.borrow(book.isbn)


@domain.application_service(part_of=Member)
class Registration:
    @use_case
    def register(self, member_id: str, name: str):
        member = Member.register(member_id, name)
        current_domain.repository_for(Member).add(member)
        return member.member_id


@domain.command(part_of=Member)
class RegisterMember:
    member_id: Identifier(identifier=True)
    name: String(required=True)


@domain.command(part_of=Member, stream_category="lending")
class BorrowBook:
    member_id: Identifier(required=True)
    isbn: Identifier(required=True)


@domain.command(part_of=Member, stream_category="lending")
class ReturnBook:
    member_id: Identifier(required=True)
    isbn: Identifier(required=True)


@domain.command_handler(part_of=Member)
class LendingDesk:
    @handle(RegisterMember)
    def register(self, command: RegisterMember):
        return Registration().register(command.member_id, command.name)

    @handle(BorrowBook)
    def borrow(self, command: BorrowBook):
        members = current_domain.repository_for(Member)
        member = members.get(command.member_id)
        book = current_domain.repository_for(Book).get(command.isbn)  # an unknown book is refused here
        LendingPolicy(member, book)()
        members.add(member)
        return member.loans

    @handle(ReturnBook)
    def give_back(self, command: ReturnBook):
        members = current_domain.repository_for(Member)
        member = members.get(command.member_id)
        member.give_back(command.isbn)
        members.add(member)
        return member.loans


# -- keeping the catalogue in step -------------------------------------------------------

@domain.event_handler(part_of=Book, stream_category="member", source_stream="lending")
class CopyAvailability:
    """Counts copies on loan, for loans made at the lending desk only."""

    @handle(BookBorrowed)
    def lent(self, event: BookBorrowed):
        books = current_domain.repository_for(Book)
        book = books.get(event.isbn)
        book.lend()
        books.add(book)

    @handle(BookReturned)
    def returned(self, event: BookReturned):
        books = current_domain.repository_for(Book)
        book = books.get(event.isbn)
        book.take_back()
        books.add(book)


domain.init()
