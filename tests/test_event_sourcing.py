"""Event-sourced aggregates: `@apply`, loading by replay with the version check, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbench.core import Domain, apply
from workbench.core.exceptions import (
    ExpectedVersionError,
    IncorrectUsageError,
    ObjectNotFoundError,
    ValidationError,
)
from workbench.core.fields import Float, Identifier, String
from workbench.core.store import open_store


def bank(store=None, *, threshold: int = 10) -> Domain:
    domain = Domain(name="Bank")
    domain.config["event_processing"] = "sync"
    domain.config["snapshot_threshold"] = threshold

    @domain.event(part_of="Account")
    class Opened:
        account_id = Identifier(required=True)
        holder = String(required=True)

    @domain.event(part_of="Account")
    class Deposited:
        account_id = Identifier(required=True)
        amount = Float(required=True)

    @domain.event(part_of="Account")
    class Withdrawn:
        account_id = Identifier(required=True)
        amount = Float(required=True)

    @domain.aggregate(is_event_sourced=True)
    class Account:
        account_id = Identifier(identifier=True)
        holder = String()
        balance = Float(default=0.0)

        @classmethod
        def open(cls, account_id, holder):
            account = cls(account_id=account_id, holder=holder)
            account.raise_(Opened(account_id=account_id, holder=holder))
            return account

        def deposit(self, amount):
            self.raise_(Deposited(account_id=self.account_id, amount=amount))

        def withdraw(self, amount):
            self.raise_(Withdrawn(account_id=self.account_id, amount=amount))

        @apply
        def opened(self, event: Opened) -> None:
            self.account_id = event.account_id
            self.holder = event.holder
            self.balance = 0.0

        @apply
        def deposited(self, event: Deposited) -> None:
            self.balance += event.amount

        @apply
        def withdrawn(self, event: Withdrawn) -> None:
            if event.amount > self.balance:
                raise ValidationError({"amount": ["more than the balance"]})
            self.balance -= event.amount

    domain.init()
    domain.bind_store(store if store is not None else open_store(None))
    return domain


def test_raising_applies_at_once_and_saving_appends_the_events(tmp_path):
    domain = bank(open_store(tmp_path / "store"))
    account_cls = domain.registry.aggregates["Account"]
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        account.deposit(30)
        assert account.balance == 30 and account._version == 1  # applied before any save
        domain.repository_for(account_cls).add(account)
    messages = domain.event_store.read("account-a1")
    assert [m.type for m in messages] == ["Bank.Opened.v1", "Bank.Deposited.v1"]
    assert [m.metadata.domain.sequence_id for m in messages] == ["0", "1"]
    assert [m.metadata.domain.expected_version for m in messages] == [-1, 0]
    assert not domain.store.rows("aggregate:account")  # the stream is the state, no document


def test_loading_replays_the_stream_and_a_stale_copy_fails_the_version_check(tmp_path):
    domain = bank(open_store(tmp_path / "store"))
    account_cls = domain.registry.aggregates["Account"]
    repo = domain.repository_for(account_cls)
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        account.deposit(30)
        repo.add(account)
        first, second = repo.get("a1"), repo.get("a1")
        assert (first.balance, first._version) == (30, 1)
        first.withdraw(10)
        repo.add(first)
        second.deposit(5)
        with pytest.raises(
            ExpectedVersionError, match=r"Wrong expected version: 1 \(Stream: account-a1, Stream Version: 2\)"
        ):
            repo.add(second)
        assert repo.get("a1").balance == 20
        with pytest.raises(ObjectNotFoundError, match="`Account` object with identifier nope does not exist."):
            repo.get("nope")


def test_a_failing_apply_leaves_the_aggregate_and_the_store_unchanged(tmp_path):
    domain = bank(open_store(tmp_path / "store"))
    account_cls = domain.registry.aggregates["Account"]
    repo = domain.repository_for(account_cls)
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        account.deposit(10)
        repo.add(account)
        with pytest.raises(ValidationError, match="more than the balance"):
            account.withdraw(50)
        assert (account.balance, account._version, account._events) == (10, 1, [])
        repo.add(account)
    assert domain.store.event_count() == 2


def test_a_snapshot_every_threshold_events_and_loading_starts_from_it(tmp_path):
    domain = bank(open_store(tmp_path / "store"), threshold=5)
    account_cls = domain.registry.aggregates["Account"]
    repo = domain.repository_for(account_cls)
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        repo.add(account)
        for amount in range(1, 13):
            account = repo.get("a1")
            account.deposit(amount)
            repo.add(account)
    snapshot = domain.store.get("snapshot:account", "a1")
    # Written once 5 events (versions 0-4) were stored, then 5 past that one (version 9).
    assert snapshot is not None and snapshot["_version"] == 9
    assert snapshot["state"]["balance"] == sum(range(1, 10))
    # A snapshot that says something else than the stream proves which one loading used.
    domain.store.commit([_doctored(snapshot)])
    assert repo.get("a1").balance == 1000 + 10 + 11 + 12
    assert repo.load("a1", at_version=8).balance == sum(range(1, 9))  # before the snapshot: a full replay


def _doctored(snapshot):
    from workbench.core.store import Change

    doc = {**snapshot, "state": {**snapshot["state"], "balance": 1000.0}}
    return Change("snapshot:account", "id", "a1", doc)


def test_a_long_stream_written_without_the_aggregate_gets_a_snapshot_when_loaded(tmp_path):
    domain = bank(open_store(tmp_path / "store"), threshold=10)
    events = domain.registry.events
    with domain.domain_context():
        domain.event_store.append(events["Opened"](account_id="a1", holder="Ann"), aggregate_id="a1")
        for _ in range(14):
            domain.event_store.append(events["Deposited"](account_id="a1", amount=1), aggregate_id="a1")
        assert domain.store.get("snapshot:account", "a1") is None
        assert domain.repository_for("Account").get("a1").balance == 14
    assert domain.store.get("snapshot:account", "a1")["_version"] == 14


def test_replay_does_not_apply_field_defaults(tmp_path):
    domain = bank(open_store(tmp_path / "store"))
    account_cls = domain.registry.aggregates["Account"]
    blank = account_cls._blank()
    assert blank.balance is None and blank.holder is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(st.integers(min_value=-50, max_value=50), min_size=0, max_size=40),
    threshold=st.integers(min_value=1, max_value=12),
    batch=st.integers(min_value=1, max_value=7),
)
def test_replayed_state_equals_the_live_state_whatever_the_snapshots(amounts, threshold, batch):
    domain = bank(threshold=threshold)
    account_cls = domain.registry.aggregates["Account"]
    repo = domain.repository_for(account_cls)
    with domain.domain_context():
        live = account_cls.open("a1", "Ann")
        repo.add(live)
        for start in range(0, len(amounts), batch):
            live = repo.get("a1")
            for amount in amounts[start : start + batch]:
                if amount >= 0:
                    live.deposit(amount)
                elif -amount <= live.balance:
                    live.withdraw(-amount)
            repo.add(live)
        loaded = repo.get("a1")
        assert (loaded.balance, loaded._version) == (live.balance, live._version)
        for version in range(loaded._version + 1):
            replayed = repo.load("a1", at_version=version)
            assert replayed._version == version


def test_manual_snapshots_and_load_aggregate(tmp_path):
    domain = bank(open_store(tmp_path / "store"), threshold=100)
    account_cls = domain.registry.aggregates["Account"]
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        account.deposit(5)
        domain.repository_for(account_cls).add(account)
        assert domain.store.get("snapshot:account", "a1") is None  # 2 events: far from 100
        assert domain.create_snapshot(account_cls, "a1") is True
        assert domain.create_snapshot(account_cls, "a1") is False  # already current
        assert domain.store.get("snapshot:account", "a1")["_version"] == 1
        assert domain.create_snapshots(account_cls) == 0
        assert domain.event_store.load_aggregate(account_cls, "a1", at_version=0).balance == 0
        with pytest.raises(ObjectNotFoundError, match="identifier a2 does not exist"):
            domain.create_snapshot(account_cls, "a2")


def test_snapshots_of_a_state_based_aggregate_are_refused():
    domain = Domain(name="Plain")

    @domain.aggregate
    class Note:
        text = String()

    domain.init()
    with pytest.raises(IncorrectUsageError, match="`Note` is not an event-sourced aggregate"):
        domain.create_snapshot(Note, "x")


def test_an_aggregate_loaded_at_an_old_version_is_read_only(tmp_path):
    domain = bank(open_store(tmp_path / "store"))
    account_cls = domain.registry.aggregates["Account"]
    repo = domain.repository_for(account_cls)
    with domain.domain_context():
        account = account_cls.open("a1", "Ann")
        account.deposit(10)
        repo.add(account)
        past = repo.load("a1", at_version=0)
        with pytest.raises(IncorrectUsageError, match="Cannot raise events on a temporally-loaded aggregate"):
            past.deposit(1)
        latest = repo.load("a1", at_version=1)  # the latest version is the present: it may change
        latest.deposit(1)
        repo.add(latest)
    assert domain.store.event_count() == 3


def test_entities_of_an_aggregate_loaded_from_a_snapshot_point_back_at_it(tmp_path):
    from workbench.core.fields import HasMany

    domain = Domain(name="Boards")
    domain.config["snapshot_threshold"] = 2

    @domain.event(part_of="Board")
    class CardAdded:
        id = Identifier(required=True)
        card_id = Identifier()
        title = String()

    @domain.entity(part_of="Board")
    class Card:
        title = String()

    @domain.aggregate(is_event_sourced=True)
    class Board:
        cards = HasMany(Card)

        @apply
        def card_added(self, event: CardAdded) -> None:
            self.id = event.id
            self.add_cards(Card(id=event.card_id, title=event.title))

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    repo = domain.repository_for(Board)
    with domain.domain_context():
        board = Board(id="b1")
        board.raise_(CardAdded(id="b1", card_id="c0", title="first"))
        repo.add(board)
        for n in range(1, 4):
            board = repo.get("b1")
            board.raise_(CardAdded(id="b1", card_id=f"c{n}", title=f"card {n}"))
            repo.add(board)
        assert domain.store.get("snapshot:board", "b1") is not None
        board = repo.get("b1")
        assert [(card.id, card.board_id) for card in board.cards] == [(f"c{n}", "b1") for n in range(4)]
        board.cards[0].raise_(CardAdded(id="b1", card_id="c4", title="raised by a card"))
        repo.add(board)
        assert [card.title for card in repo.get("b1").cards][-1] == "raised by a card"
        assert repo.load("b1", at_version=3).cards[3].board_id == "b1"


def test_a_failing_atomic_change_takes_back_the_events_raised_inside_it(tmp_path):
    from workbench.core.fields import Integer
    from workbench.core.invariants import atomic_change, invariant

    domain = Domain(name="Wallets")

    @domain.event(part_of="Wallet")
    class Spent:
        id = Identifier(required=True)
        amount = Integer()

    @domain.aggregate(is_event_sourced=True)
    class Wallet:
        balance = Integer(default=10)

        @invariant.post
        def not_negative(self):
            if self.balance is not None and self.balance < 0:
                raise ValidationError({"balance": ["negative"]})

        @apply
        def spent(self, event: Spent) -> None:
            self.id = event.id
            self.balance = (10 if self.balance is None else self.balance) - event.amount

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    repo = domain.repository_for(Wallet)
    with domain.domain_context():
        wallet = Wallet(id="w1")
        wallet.raise_(Spent(id="w1", amount=1))
        repo.add(wallet)
        wallet = repo.get("w1")
        with pytest.raises(ValidationError, match="negative"), atomic_change(wallet):
            wallet.raise_(Spent(id="w1", amount=100))
        assert (wallet.balance, wallet._version, wallet._events) == (9, 0, [])
        repo.add(wallet)
        assert domain.event_store.stream_version("wallet-w1") == 0
        assert repo.get("w1").balance == 9


def test_a_failing_apply_undoes_a_list_it_changed_in_place(tmp_path):
    from workbench.core.fields import Integer, List

    domain = Domain(name="Ledgers")

    @domain.event(part_of="Ledger")
    class Posted:
        id = Identifier(required=True)
        amount = Integer()

    @domain.aggregate(is_event_sourced=True)
    class Ledger:
        amounts = List(content_type=Integer)

        @apply
        def posted(self, event: Posted) -> None:
            self.id = event.id
            if self.amounts is None:
                self.amounts = []
            self.amounts.append(event.amount)
            if event.amount < 0:
                raise ValidationError({"amount": ["must not be negative"]})

    domain.init()
    domain.bind_store(open_store(tmp_path / "store"))
    repo = domain.repository_for(Ledger)
    with domain.domain_context():
        ledger = Ledger(id="l1")
        ledger.raise_(Posted(id="l1", amount=5))
        with pytest.raises(ValidationError, match="negative"):
            ledger.raise_(Posted(id="l1", amount=-1))
        assert ledger.amounts == [5] and ledger._version == 0
        repo.add(ledger)
        assert repo.get("l1").amounts == [5]
