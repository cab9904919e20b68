"""A domain file written for Protean, with commands and an event-sourced aggregate, loads
unchanged and behaves as its author expects (the shape of Protean's event-sourcing tutorial)."""

from __future__ import annotations

from workbench.core.engine import Engine
from workbench.core.loader import load_domain
from workbench.core.store import open_store

BANK = '''
from protean import Domain, apply, handle
from protean.core.aggregate import BaseAggregate
from protean.core.command import BaseCommand
from protean.exceptions import ValidationError
from protean.fields import Float, Identifier, String
from protean.utils.globals import current_domain

domain = Domain(name="Bank")
domain.config["event_processing"] = "sync"
domain.config["command_processing"] = "sync"


@domain.event(part_of="Account")
class AccountOpened:
    account_id = Identifier(required=True)
    holder_name = String(required=True)
    opening_deposit = Float(required=True)


@domain.event(part_of="Account")
class DepositMade:
    account_id = Identifier(required=True)
    amount = Float(required=True)


@domain.aggregate(is_event_sourced=True)
class Account(BaseAggregate):
    account_number = String(required=True, identifier=True)
    holder_name = String()
    balance = Float()

    @classmethod
    def open(cls, number, holder, deposit):
        account = cls(account_number=number, holder_name=holder, balance=0.0)
        account.raise_(AccountOpened(account_id=number, holder_name=holder, opening_deposit=deposit))
        return account

    def deposit(self, amount):
        if amount <= 0:
            raise ValidationError({"amount": ["Deposit amount must be positive"]})
        self.raise_(DepositMade(account_id=self.account_number, amount=amount))

    @apply
    def opened(self, event: AccountOpened) -> None:
        self.account_number = event.account_id
        self.holder_name = event.holder_name
        self.balance = event.opening_deposit

    @apply
    def deposited(self, event: DepositMade) -> None:
        self.balance += event.amount


@domain.command(part_of=Account)
class OpenAccount(BaseCommand):
    account_number = String(required=True)
    holder_name = String(required=True)
    opening_deposit = Float(required=True)


@domain.command(part_of=Account)
class MakeDeposit:
    account_id = Identifier(required=True)
    amount = Float(required=True)


@domain.command_handler(part_of=Account)
class AccountCommandHandler:
    @handle(OpenAccount)
    def open_account(self, command: OpenAccount):
        account = Account.open(command.account_number, command.holder_name, command.opening_deposit)
        current_domain.repository_for(Account).add(account)
        return account.account_number

    @handle(MakeDeposit)
    def make_deposit(self, command: MakeDeposit):
        repo = current_domain.repository_for(Account)
        account = repo.get(command.account_id)
        account.deposit(command.amount)
        repo.add(account)
        return account.balance


@domain.event_handler(part_of=Account)
class Statements:
    lines = []

    @handle(DepositMade)
    def record(self, event: DepositMade):
        Statements.lines.append((event.account_id, event.amount, event._metadata.domain.origin_stream))
'''


def test_the_protean_bank_loads_unchanged_and_processes_its_commands(tmp_path):
    path = tmp_path / "bank.py"
    path.write_text(BANK)
    domain = load_domain(str(path), store=open_store(tmp_path / "store"))
    open_account, make_deposit = domain.registry.commands["OpenAccount"], domain.registry.commands["MakeDeposit"]
    with domain.domain_context():
        assert domain.process(open_account(account_number="A-1", holder_name="Ann", opening_deposit=100.0)) == "A-1"
        assert domain.process(make_deposit(account_id="A-1", amount=25.0)) == 125.0
    statements = domain.registry.event_handlers["Statements"]
    ((account, amount, origin),) = statements.lines
    assert (account, amount) == ("A-1", 25.0) and origin.startswith("account:command-")
    assert [m.type for m in domain.event_store.read("account-A-1")] == ["Bank.AccountOpened.v1", "Bank.DepositMade.v1"]
    domain.close()

    # A fresh process on the same store: the account is its stream, replayed.
    again = load_domain(str(path), store=open_store(tmp_path / "store"))
    with again.domain_context():
        assert again.repository_for("Account").get("A-1").balance == 125.0
        again.config["command_processing"] = "async"
        position = again.process(again.registry.commands["MakeDeposit"](account_id="A-1", amount=5.0))
        assert position == 0
    Engine(again).process_until_idle()
    assert again.repository_for("Account").get("A-1").balance == 130.0
    again.close()
