"""The library sample, tested with the workbench's pytest plugin: commands in, events and state out."""

import pytest

pytestmark = pytest.mark.workbench(domain="../domain.py")

ISBN = "978-0441013593"


def test_borrowing_through_the_desk_updates_the_member_and_the_catalogue(workbench_domain):
    commands = workbench_domain
    commands.when(commands["CatalogueBook"](isbn=ISBN, title="Dune", copies=2)).then_returned(ISBN)
    commands.when(commands["RegisterMember"](member_id="ann", name="Ann")).then_raised("MemberRegistered")

    outcome = commands.when(commands["BorrowBook"](member_id="ann", isbn=ISBN))

    outcome.then_returned([ISBN]).then_raised("BookBorrowed").then_succeeded("LendingDesk", "CopyAvailability")
    commands.then("Book", ISBN, on_loan=1)
    commands.then("Member", "ann", loans=[ISBN], borrowed_total=1)


def test_a_second_copy_of_the_same_book_is_refused(workbench_domain):
    commands = workbench_domain
    commands.when(commands["CatalogueBook"](isbn=ISBN, title="Dune", copies=2))
    commands.when(commands["RegisterMember"](member_id="ann", name="Ann"))
    commands.when(commands["BorrowBook"](member_id="ann", isbn=ISBN))

    outcome = commands.when(commands["BorrowBook"](member_id="ann", isbn=ISBN))

    outcome.then_failed("LendingDesk", "already has").then_raised()
    commands.then("Book", ISBN, on_loan=1)


def test_a_member_is_replayed_from_its_stream(workbench_domain):
    commands = workbench_domain
    commands.when(commands["CatalogueBook"](isbn=ISBN, title="Dune", copies=1))
    commands.when(commands["RegisterMember"](member_id="ann", name="Ann"))
    for _ in range(3):
        commands.when(commands["BorrowBook"](member_id="ann", isbn=ISBN))
        commands.when(commands["ReturnBook"](member_id="ann", isbn=ISBN))
    member = commands.then("Member", "ann", loans=[], borrowed_total=3)
    assert member._version == 6
    assert commands.repository("Member").load("ann", at_version=1).loans == [ISBN]


def test_a_book_has_its_copies_and_shelf_mark(workbench_domain):
    commands = workbench_domain
    book = commands["CatalogueBook"](isbn=ISBN, title="Dune", copies=2, location={"room": "SF", "shelf": 3})
    commands.when(book).then_returned(ISBN)
    catalogued = commands.then("Book", ISBN, on_loan=0)
    assert [c.barcode for c in catalogued.copies] == [f"{ISBN}/1", f"{ISBN}/2"]
    assert catalogued.location == commands["ShelfMark"](room="SF", shelf=3)  # equal by value


def test_the_lending_policy_refuses_a_reader_when_every_copy_is_out(workbench_domain):
    commands = workbench_domain
    commands.when(commands["CatalogueBook"](isbn=ISBN, title="Dune", copies=1))
    registration = commands.domain.registry.application_services["Registration"]
    with commands.domain.domain_context():
        registration().register("ann", "Ann")
        registration().register("bo", "Bo")
    commands.when(commands["BorrowBook"](member_id="ann", isbn=ISBN)).then_succeeded("LendingDesk")

    refused = commands.when(commands["BorrowBook"](member_id="bo", isbn=ISBN))

    refused.then_failed("LendingDesk", "copies of 'Dune' are on loan").then_raised()
    commands.then("Member", "bo", loans=[])
    commands.then("Book", ISBN, on_loan=1)
