"""A Protean-written domain with value objects, invariants and services (tests load it unchanged)."""

from protean import Domain, atomic_change, invariant, use_case
from protean.exceptions import ValidationError
from protean.fields import Float, HasMany, HasOne, Identifier, Integer, String, ValueObject, ValueObjectList

domain = Domain(name="Bank")
domain.config["event_processing"] = "sync"


@domain.value_object
class Address:
    street = String(max_length=50, required=True)
    city = String(required=True)

    @invariant.post
    def city_is_not_blank(self):
        if self.city.strip() == "":
            raise ValidationError({"city": ["City cannot be blank"]})


@domain.event(part_of="Account")
class Withdrawn:
    account_id = Identifier(required=True)
    amount = Float(required=True)


@domain.aggregate
class Account:
    owner = String(required=True)
    balance = Float(default=0.0)
    overdraft = Float(default=0.0)
    address = ValueObject(Address)
    previous_addresses = ValueObjectList(Address)

    @invariant.post
    def balance_stays_within_overdraft(self):
        if self.balance < -self.overdraft:
            raise ValidationError({"balance": ["Balance cannot go below the overdraft limit"]})

    @invariant.pre
    def closed_accounts_do_not_change(self):
        if self.owner == "CLOSED":
            raise ValidationError({"_entity": ["Account is closed"]})

    def withdraw(self, amount):
        self.balance = self.balance - float(amount)
        self.raise_(Withdrawn(account_id=self.id, amount=float(amount)))

    def move(self, street, city):
        new = Address(street=street, city=city)
        with atomic_change(self):
            self.previous_addresses = [*self.previous_addresses, self.address] if self.address else []
            self.address = new


@domain.aggregate
class Ledger:
    name = String(required=True)
    total = Float(default=0.0)


@domain.domain_service(part_of=[Account, Ledger])
class Transfer:
    @invariant.pre
    def source_has_funds(self):
        account, _ledger = self._aggregates
        if account.balance <= 0:
            raise ValidationError({"_service": ["Nothing to transfer"]})

    def __call__(self, amount):
        account, ledger = self._aggregates
        account.withdraw(amount)
        ledger.total = ledger.total + float(amount)


@domain.application_service(part_of=Account)
class Onboarding:
    @use_case
    def open(self, owner, street, city):
        account = Account(owner=owner, address={"street": street, "city": city})
        domain.repository_for(Account).add(account)
        return account.id

    @use_case
    def open_two_then_fail(self, owner):
        domain.repository_for(Account).add(Account(owner=owner))
        domain.repository_for(Account).add(Account(owner=owner, balance=-1))


@domain.event(part_of="Order")
class LineAdded:
    order_id = Identifier(required=True)
    sku = String(required=True)


@domain.aggregate
class Order:
    customer = String(required=True)
    lines = HasMany("OrderLine")
    shipment = HasOne("Shipment")

    def add_line(self, sku, qty=1):
        self.add_lines(OrderLine(sku=sku, qty=int(qty)))


@domain.entity(part_of=Order)
class OrderLine:
    sku = String(required=True)
    qty = Integer(default=1)

    @invariant.post
    def quantity_is_positive(self):
        if self.qty <= 0:
            raise ValidationError({"qty": ["Quantity must be positive"]})

    def announce(self):
        self.raise_(LineAdded(order_id=self.order_id, sku=self.sku))


@domain.entity(part_of=Order)
class Shipment:
    carrier = String(required=True)
    address = ValueObject(Address)
