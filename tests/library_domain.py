"""The new user's library from issue 16: members, a `$any` auditor, and code with bugs in it.

Used by the CLI tests as a domain file (``--domain tests/library_domain.py``).
"""

from protean import Domain, current_domain, handle, read
from protean.fields import Boolean, Identifier, Integer, String

domain = Domain()
domain.config["event_processing"] = "sync"


@domain.event(part_of="Member")
class MemberJoined:
    member_id: Identifier(required=True)
    name: String(required=True)


@domain.event(part_of="Book")
class BookLent:
    book_id: Identifier(required=True)
    member_id: Identifier(required=True)


@domain.aggregate
class Member:
    name: String(required=True)
    suspended: Boolean(default=False)
    loans: Integer(default=0)

    def join(self):
        self.raise_(MemberJoined(member_id=self.id, name=self.name))

    def suspend(self, reason: str):
        if not reason:
            raise ValueError("a suspension needs a reason")
        self.suspended = True

    def look_up_card(self):
        return {}["lid"]  # a bug: the KeyError is the user's, not an unknown name

    def fail(self):
        raise ValueError("members cannot do that")


@domain.aggregate
class Book:
    title: String(required=True)


@domain.event_handler(part_of=Member, stream_category="book")
class Lending:
    @handle(BookLent)
    def count_loan(self, event):
        repo = current_domain.repository_for(Member)
        member = repo.get(event.member_id)
        member.loans += 1
        repo.add(member)


@domain.projection
class MemberCard:
    member_id = Identifier(identifier=True)
    name = String()


@domain.query(part_of=MemberCard)
class CardsByName:
    name = String(required=True)


@domain.query_handler(part_of=MemberCard)
class CardQueries:
    @read(CardsByName)
    def by_name(self, query):
        return 1 / 0  # a bug in a query handler


domain.init()
