"""Value objects, invariants and services, as a user of a Protean-written domain sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner
from workbench.cli.main import app
from workbench.core.exceptions import IncorrectUsageError, ValidationError
from workbench.core.loader import load_domain
from workbench.core.store import open_store

DOMAIN = Path(__file__).with_name("customer_domain.py")


@pytest.fixture
def bank(tmp_path):
    domain = load_domain(str(DOMAIN), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        yield domain
    domain.close()


def classes(domain):
    r = domain.registry
    return r.aggregates["Account"], r.aggregates["Ledger"], r.value_objects["Address"]


def test_value_objects_are_equal_by_value_and_immutable(bank):
    _, _, Address = classes(bank)
    home = Address(street="1 Main St", city="Pune")
    assert home == Address({"street": "1 Main St", "city": "Pune"})
    assert home != Address(street="2 Main St", city="Pune")
    assert len({home, Address(street="1 Main St", city="Pune")}) == 1
    with pytest.raises(IncorrectUsageError, match="Value Objects are immutable"):
        home.city = "Mumbai"
    assert home.city == "Pune"


def test_validation_errors_name_the_nested_field(bank):
    Account, _, Address = classes(bank)
    with pytest.raises(ValidationError) as missing:
        Account(owner="ann", address={"city": "Pune"})
    assert missing.value.messages == {"address.street": ["is required"]}
    with pytest.raises(ValidationError) as in_list:
        Account(owner="ann", previous_addresses=[{"street": "a", "city": "b"}, {"street": "x"}])
    assert in_list.value.messages == {"previous_addresses.1.city": ["is required"]}
    with pytest.raises(ValidationError) as blank:
        Address(street="a", city="  ")
    assert blank.value.messages == {"city": ["City cannot be blank"]}
    with pytest.raises(ValidationError) as extra:
        Address(street="a", city="b", zip="1")
    assert extra.value.messages == {"zip": ["Extra inputs are not permitted"]}


def test_value_objects_are_stored_with_their_aggregate_and_reloaded_intact(bank, tmp_path):
    Account, _, Address = classes(bank)
    account = Account(owner="ann", address=Address(street="1 Main", city="Pune"))
    account.move("2 Side", "Goa")
    bank.repository_for(Account).add(account)
    bank.close()
    again = load_domain(str(DOMAIN), store=open_store(tmp_path / "store"))
    with again.domain_context():
        Account2, _, Address2 = classes(again)
        loaded = again.repository_for(Account2).get(account.id)
        assert loaded.address == Address2(street="2 Side", city="Goa")
        assert loaded.previous_addresses == [Address2(street="1 Main", city="Pune")]
    again.close()


@settings(max_examples=40, deadline=None)
@given(street=st.text(min_size=1, max_size=50), city=st.text(min_size=1).filter(lambda c: c.strip() != ""))
def test_any_address_round_trips_through_its_json(street, city):
    domain = load_domain(str(DOMAIN))
    with domain.domain_context():
        Account, _, Address = classes(domain)
        account = Account(owner="x", address={"street": street, "city": city})
        stored = json.loads(json.dumps(account.to_dict()))
        assert Account._from_doc(stored).address == Address(street=street, city=city)
    domain.close()


def test_a_failing_post_invariant_leaves_the_aggregate_and_the_store_unchanged(bank):
    Account, _, _ = classes(bank)
    account = Account(owner="ann", balance=10.0, overdraft=5.0)
    bank.repository_for(Account).add(account)
    events_before = bank.store.event_count()
    loaded = bank.repository_for(Account).get(account.id)
    with pytest.raises(ValidationError) as exc:
        loaded.withdraw(20)
    assert exc.value.messages == {"balance": ["Balance cannot go below the overdraft limit"]}
    assert loaded.balance == 10.0
    assert loaded._events == []
    assert bank.store.event_count() == events_before
    assert bank.repository_for(Account).get(account.id).balance == 10.0


def test_invariants_run_when_built_and_pre_invariants_before_a_change(bank):
    Account, _, _ = classes(bank)
    with pytest.raises(ValidationError, match="overdraft"):
        Account(owner="ann", balance=-1.0)
    closed = Account(owner="ann")
    closed.owner = "CLOSED"
    with pytest.raises(ValidationError) as exc:
        closed.balance = 5.0
    assert exc.value.messages == {"_entity": ["Account is closed"]}
    assert closed.balance == 0.0


def test_atomic_change_checks_once_at_the_end_and_rolls_back_on_failure(bank):
    from protean import atomic_change

    Account, _, _ = classes(bank)
    account = Account(owner="ann", balance=5.0)
    with atomic_change(account):
        account.balance = -100.0  # breaks the rule for a moment
        account.overdraft = 200.0
    assert (account.balance, account.overdraft) == (-100.0, 200.0)
    with pytest.raises(ValidationError), atomic_change(account):
        account.overdraft = 0.0
        account.owner = "bob"
    assert (account.overdraft, account.owner) == (200.0, "ann")


def test_domain_service_checks_its_invariants_around_each_call(bank):
    Account, Ledger, _ = classes(bank)
    account, ledger = Account(owner="ann", balance=10.0), Ledger(name="main")
    Transfer = bank.registry.domain_services["Transfer"]
    Transfer(account, ledger)(4)
    assert (account.balance, ledger.total) == (6.0, 4.0)
    empty = Account(owner="bob")
    with pytest.raises(ValidationError) as exc:
        Transfer(empty, ledger)(1)
    assert exc.value.messages == {"_service": ["Nothing to transfer"]}
    assert ledger.total == 4.0


def test_domain_service_needs_two_aggregates():
    from workbench.core import Domain

    domain = Domain(name="X")

    @domain.aggregate
    class A:
        pass

    with pytest.raises(IncorrectUsageError, match="Domain Service `S` needs to be associated with two or more"):

        @domain.domain_service(part_of=[A])
        class S:
            pass

    with pytest.raises(IncorrectUsageError, match="Application Service `T` needs to be associated with an aggregate"):

        @domain.application_service
        class T:
            pass


def test_a_use_case_is_one_unit_of_work(bank):
    Account, _, _ = classes(bank)
    Onboarding = bank.registry.application_services["Onboarding"]
    account_id = Onboarding().open("ann", "1 Main", "Pune")
    assert bank.repository_for(Account).get(account_id).address.city == "Pune"
    count = bank.repository_for(Account).query.all().total
    with pytest.raises(ValidationError):
        Onboarding().open_two_then_fail("bob")
    assert bank.repository_for(Account).query.all().total == count  # the first save was rolled back too


def cli(store, *args):
    return CliRunner().invoke(app, ["--domain", str(DOMAIN), "--store", str(store), *args])


def test_cli_takes_nested_values_and_names_a_bad_one(tmp_path):
    store = tmp_path / "s"
    made = cli(store, "new", "--json", "Account", "owner=ann", "address.street=1 Main", "address.city=Pune")
    assert made.exit_code == 0, made.output
    doc = json.loads(made.stdout)["data"]["aggregate"]
    assert doc["address"] == {"street": "1 Main", "city": "Pune"}
    as_json = cli(store, "new", "Account", "owner=bob", 'address={"street": "x", "city": "y"}')
    assert as_json.exit_code == 0, as_json.output
    bad = cli(store, "new", "Account", "owner=cy", "address.city=Pune")
    assert bad.exit_code != 0
    assert "address.street: is required" in bad.output
    assert "Traceback" not in bad.output
    wrong = cli(store, "new", "Account", "owner=cy", "owner.first=x")
    assert wrong.exit_code == 2 and "field `owner` of Account has no fields inside it" in wrong.output
    listed = cli(store, "show", "--json", "Account")
    assert json.loads(listed.stdout)["data"]["total"] == 2


def test_cli_call_that_breaks_an_invariant_changes_nothing(tmp_path):
    store = tmp_path / "s"
    made = cli(store, "new", "--json", "Account", "owner=ann", "balance=3")
    account_id = json.loads(made.stdout)["data"]["aggregate"]["id"]
    broke = cli(store, "call", "Account", account_id, "withdraw", "50")
    assert broke.exit_code == 1
    assert "Balance cannot go below the overdraft limit" in broke.output
    shown = cli(store, "show", "--json", "Account", account_id)
    assert json.loads(shown.stdout)["data"]["items"][0]["balance"] == 3.0
    assert "Store: 0 events" in cli(store, "info").output


def test_info_shows_value_objects_services_and_invariants(tmp_path):
    out = cli(tmp_path / "s", "info", "--json")
    data = json.loads(out.stdout)["data"]
    assert data["value_objects"][0]["name"] == "Address"
    assert data["value_objects"][0]["invariants"] == {"post": ["city_is_not_blank"]}
    assert data["invariants"]["Account"] == {
        "post": ["balance_stays_within_overdraft"],
        "pre": ["closed_accounts_do_not_change"],
    }
    assert data["domain_services"] == [
        {"name": "Transfer", "part_of": ["Account", "Ledger"], "invariants": {"pre": ["source_has_funds"]}}
    ]
    assert data["application_services"][0]["use_cases"] == ["open", "open_two_then_fail"]
    mermaid = cli(tmp_path / "s", "info", "--mermaid").output
    assert "Account -- address --> Address" in mermaid
    assert "Account -- many previous_addresses --> Address" in mermaid
    assert "Transfer -. spans .-> Ledger" in mermaid


TAGGED = '''
from protean import Domain, invariant
from protean.exceptions import ValidationError
from protean.fields import List, String

domain = Domain()


@domain.aggregate
class Post:
    title: String()
    tags: List(content_type=String)

    @invariant.post
    def at_most_two_tags(self):
        if self.tags and len(self.tags) > 2:
            raise ValidationError({"tags": ["too many tags"]})
'''


def test_atomic_change_undoes_a_list_changed_in_place(tmp_path):
    from workbench.core.invariants import atomic_change

    path = tmp_path / "tagged.py"
    path.write_text(TAGGED)
    domain = load_domain(str(path), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        Post = domain.registry.aggregates["Post"]
        repo = domain.repository_for(Post)
        post = Post(title="t", tags=["a"])
        repo.add(post)
        post = repo.get(post.id)
        with pytest.raises(ValidationError, match="too many tags"), atomic_change(post):
            post.tags.append("b")
            post.tags.extend(["c", "d"])
        assert post.tags == ["a"]
        repo.add(post)
        assert repo.get(post.id).tags == ["a"]
    domain.close()


PRICED = '''
from datetime import date

from protean import Domain
from protean.fields import Date, Integer, List, String, ValueObject

domain = Domain()


@domain.value_object
class Money:
    amount: Integer()
    currency: String(default="EUR")


@domain.event(part_of="Product")
class Repriced:
    prices = List(content_type=ValueObject(Money))


@domain.aggregate
class Product:
    prices = List(content_type=ValueObject(Money))
    sale_days = List(content_type=Date)

    def reprice(self, *amounts):
        self.prices = [Money(amount=a) for a in amounts]
        self.raise_(Repriced(prices=self.prices))
'''


def test_a_list_of_value_objects_or_dates_is_stored_and_reloaded(tmp_path):
    import datetime as dt

    path = tmp_path / "priced.py"
    path.write_text(PRICED)
    domain = load_domain(str(path), store=open_store(tmp_path / "store"))
    with domain.domain_context():
        Product = domain.registry.aggregates["Product"]
        Money = domain.registry.value_objects["Money"]
        repo = domain.repository_for(Product)
        product = Product(sale_days=[dt.date(2026, 1, 2)])
        product.reprice(1, 2)
        repo.add(product)
        again = repo.get(product.id)
        assert again.prices == [Money(amount=1), Money(amount=2, currency="EUR")]
        assert again.sale_days == [dt.date(2026, 1, 2)]
        [event] = domain.event_store.read(f"product-{product.id}")
        assert event.data["prices"] == [{"amount": 1, "currency": "EUR"}, {"amount": 2, "currency": "EUR"}]
    domain.close()
