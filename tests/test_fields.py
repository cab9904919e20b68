"""Field validation as a user sees it: messages per field, coercion, assignment checks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbench.core import Domain
from workbench.core.exceptions import ValidationError
from workbench.core.fields import Boolean, Date, DateTime, Dict, Float, Identifier, Integer, List, String, Text


@pytest.fixture(scope="module")
def Thing():
    domain = Domain(name="Fields")

    @domain.aggregate
    class Thing:
        name = String(required=True, max_length=5)
        code = String(min_length=2)
        note = Text()
        count = Integer(min_value=0, max_value=10)
        price = Float(min_value=0, max_value=100.0)
        ratio = Float(max_value=1.5)
        active = Boolean(default=False)
        status = String(choices=["PENDING", "SHIPPED", "DELIVERED"], default="PENDING")
        born = Date()
        seen = DateTime()
        tags = List(content_type=String)
        extra = Dict()
        ref = Identifier()
        serial = String(unique=True)

    domain.init()
    return Thing


def messages(callable_):
    with pytest.raises(ValidationError) as info:
        callable_()
    return info.value.messages


def test_every_bad_field_is_reported_at_once(Thing):
    errors = messages(lambda: Thing(count="x", status="NOPE", price="free", colour="red"))
    assert errors == {
        "name": ["is required"],
        "count": ["Input should be a valid integer, unable to parse string as an integer"],
        "price": ["Input should be a valid number, unable to parse string as a number"],
        "status": ["Input should be 'PENDING', 'SHIPPED' or 'DELIVERED'"],
        "colour": ["Extra inputs are not permitted"],
    }


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": "toolong"}, "name", "String should have at most 5 characters"),
        ({"name": ""}, "name", "String should have at least 1 character"),
        ({"name": 5}, "name", "Input should be a valid string"),
        ({"name": "a", "code": "x"}, "code", "String should have at least 2 characters"),
        ({"name": "a", "count": 1.5}, "count", "Input should be a valid integer, got a number with a fractional part"),
        ({"name": "a", "count": -1}, "count", "Input should be greater than or equal to 0"),
        ({"name": "a", "count": 11}, "count", "Input should be less than or equal to 10"),
        ({"name": "a", "active": "perhaps"}, "active", "Input should be a valid boolean, unable to interpret input"),
        ({"name": "a", "active": 2}, "active", "Input should be a valid boolean, unable to interpret input"),
        ({"name": "a", "active": [1]}, "active", "Input should be a valid boolean"),
        ({"name": "a", "active": 2.5}, "active", "Input should be a valid boolean"),
        ({"name": "a", "price": 101}, "price", "Input should be less than or equal to 100"),
        ({"name": "a", "price": -1}, "price", "Input should be greater than or equal to 0"),
        ({"name": "a", "ratio": 2}, "ratio", "Input should be less than or equal to 1.5"),
        (
            {"name": "a", "born": dt.datetime(2026, 5, 6, 7, 8)},
            "born",
            "Datetimes provided to dates should have zero time - e.g. be exact dates",
        ),
        (
            {"name": "a", "born": "2026-05-06T07:08:00"},
            "born",
            "Datetimes provided to dates should have zero time - e.g. be exact dates",
        ),
        ({"name": "a", "born": "yesterday"}, "born", "Input should be a valid date"),
        ({"name": "a", "seen": "noon"}, "seen", "Input should be a valid datetime"),
        ({"name": "a", "tags": "x"}, "tags", "Input should be a valid list"),
        ({"name": "a", "tags": ["ok", 3]}, "tags", "item 1: Input should be a valid string"),
        ({"name": "a", "extra": [1]}, "extra", "Input should be a valid dictionary"),
        ({"name": None}, "name", "is required"),
    ],
)
def test_messages_name_the_problem(Thing, values, field, message):
    assert messages(lambda: Thing(**values)) == {field: [message]}


def test_a_midnight_datetime_is_an_exact_date(Thing):
    assert Thing(name="a", born=dt.datetime(2026, 5, 6)).born == dt.date(2026, 5, 6)
    assert Thing(name="a", born="2026-05-06T00:00:00").born == dt.date(2026, 5, 6)
    assert Thing(name="a", active=1.0).active is True


def test_a_misspelt_annotation_fails_at_decoration_naming_class_field_and_name(tmp_path):
    source = tmp_path / "misspelt.py"
    source.write_text(
        "from __future__ import annotations\n"
        "from protean import Domain\n"
        "from protean.fields import Integer, String\n"
        "domain = Domain(name='Parcels')\n"
        "@domain.aggregate\n"
        "class Parcel:\n"
        "    label: String(max_length=20)\n"
        "    weight: Integr(min_value=0)\n"
    )
    from workbench.core.exceptions import DomainLoadError, IncorrectUsageError
    from workbench.core.loader import load_domain

    with pytest.raises((IncorrectUsageError, DomainLoadError), match=r"`Parcel\.weight`: unknown name `Integr`"):
        load_domain(str(source))


def test_values_are_coerced_as_protean_does(Thing):
    thing = Thing(
        name="a",
        count="5",
        price=3,
        active="yes",
        born="2026-01-02",
        seen="2026-01-02T03:04:05",
        ref=7,
        extra={"k": 1},
        tags=("a", "b"),
    )
    assert thing.count == 5 and thing.price == 3.0 and thing.active is True
    assert thing.born == dt.date(2026, 1, 2)
    assert thing.seen == dt.datetime(2026, 1, 2, 3, 4, 5)
    assert thing.ref == "7" and thing.tags == ["a", "b"]
    assert Thing(name="a", count=True).count == 1


def test_defaults_and_auto_id(Thing):
    thing = Thing(name="a")
    assert thing.status == "PENDING" and thing.active is False and thing.tags == []
    assert isinstance(thing.id, str) and len(thing.id) == 36
    assert thing._version == -1
    other = Thing(name="b")
    assert other.id != thing.id
    thing.tags.append("x")
    assert other.tags == []  # mutable defaults are not shared


def test_assignment_is_validated(Thing):
    thing = Thing(name="a")
    with pytest.raises(ValidationError) as info:
        thing.status = "NOPE"
    assert info.value.messages == {"status": ["Input should be 'PENDING', 'SHIPPED' or 'DELIVERED'"]}
    assert thing.status == "PENDING"
    thing.count = "3"
    assert thing.count == 3


def test_to_dict_is_json_with_version(Thing):
    thing = Thing(name="a", born=dt.date(2026, 5, 6), seen=dt.datetime(2026, 5, 6, 7, 8))
    data = thing.to_dict()
    assert data["born"] == "2026-05-06" and data["seen"] == "2026-05-06T07:08:00"
    assert list(data)[-2:] == ["id", "_version"] and data["_version"] == -1


def test_template_dict_is_accepted(Thing):
    assert Thing({"name": "a"}, count=2).count == 2


def test_plain_type_annotations_make_fields():
    domain = Domain(name="Plain")

    @domain.aggregate
    class Note:
        title: str
        pages: int = 1

    domain.init()
    assert Note(title="t").pages == 1
    assert messages(lambda: Note()) == {"title": ["is required"]}


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_integers_round_trip_through_strings(value):
    field = Integer()
    assert field.clean(str(value)) == value == field.clean(value)


@given(st.text(max_size=40))
def test_strings_within_bounds_are_kept(value):
    field = String(max_length=40)
    assert field.clean(value) == value
