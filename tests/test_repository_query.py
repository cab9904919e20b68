"""Protean's repository query API: repo.query, lookups, Q objects, ResultSet, get_or_none."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.core import Domain
from workbench.core.criteria import F, Q
from workbench.core.exceptions import IncorrectUsageError
from workbench.core.fields import Identifier, Integer, List, String
from workbench.core.store import open_store

BOOKS = [
    ("b1", "Dune", 5, "SCIFI"),
    ("b2", "Emma", 12, "CLASSIC"),
    ("b3", "Dracula", 0, "CLASSIC"),
    ("b4", "Neuromancer", 7, "SCIFI"),
    ("b5", "Ulysses", None, "CLASSIC"),
]


def library(store, limit=None):
    domain = Domain(name="Library")
    options = {} if limit is None else {"limit": limit}

    @domain.aggregate(**options)
    class Book:
        book_id = Identifier(identifier=True)
        title = String(required=True)
        copies = Integer()
        genre = String()
        tags = List(content_type=String)

    domain.init()
    domain.bind_store(store)
    repo = domain.repository_for(Book)
    for book_id, title, copies, genre in BOOKS:
        repo.add(Book(book_id=book_id, title=title, copies=copies, genre=genre, tags=[genre.lower()]))
    return domain, repo


def ids(items):
    return [b.book_id for b in items]


def test_filter_exclude_order_limit_on_disk(store_dir):
    domain, repo = library(open_store(store_dir))
    result = repo.query.filter(genre="CLASSIC").exclude(copies__lt=1).order_by("-copies").all()
    assert ids(result.items) == ["b5", "b2"]  # no value sorts first going down, as in SQL
    assert result.total == 2 and result.first.title == "Ulysses"
    page = repo.query.order_by("title").limit(2).offset(2).all()
    assert ids(page) == ["b2", "b4"]
    assert (page.total, page.has_next, page.has_prev, page.page, page.total_pages) == (5, True, True, 2, 3)
    assert repo.query.filter(title="nothing").all().first is None
    domain.close()


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"copies__gt": 5}, ["b2", "b4"]),
        ({"copies__gte": 5}, ["b1", "b2", "b4"]),
        ({"copies__lt": 5}, ["b3"]),
        ({"copies__lte": 5}, ["b1", "b3"]),
        ({"book_id__in": ["b3", "b1", "zz"]}, ["b1", "b3"]),
        ({"genre__in": ["SCIFI"]}, ["b1", "b4"]),
        ({"title__contains": "ra"}, ["b3"]),
        ({"title__icontains": "DR"}, ["b3"]),
        ({"title__startswith": "D"}, ["b1", "b3"]),
        ({"title__endswith": "a"}, ["b2", "b3"]),
        ({"title__iexact": "emma"}, ["b2"]),
        ({"copies__isnull": True}, ["b5"]),
        ({"tags__any": ["scifi"]}, ["b1", "b4"]),
        ({"copies": 0}, ["b3"]),
    ],
)
def test_lookups(criteria, expected):
    _, repo = library(open_store(None))
    assert sorted(ids(repo.query.filter(**criteria).all())) == expected


def test_q_objects_combine_with_and_or_not():
    _, repo = library(open_store(None))
    either = repo.query.filter(Q(genre="SCIFI") | Q(copies__gte=10)).all()
    assert ids(either) == ["b1", "b2", "b4"]
    assert ids(repo.query.filter(~Q(genre="SCIFI") & Q(copies__gt=0)).all()) == ["b2"]
    assert repo.query.filter(Q(genre="CLASSIC"), title__startswith="U").count() == 1
    assert repo.count(genre="CLASSIC") == 3
    assert ids(repo.filter(Q(copies=5) | Q(copies=7))) == ["b1", "b4"]


def test_default_page_is_the_aggregate_limit_option():
    _, repo = library(open_store(None), limit=2)
    result = repo.query.all()
    assert len(result.items) == 2 and result.total == 5 and result.has_next
    assert len(repo.query.limit(None).all().items) == 5


def test_get_or_none_and_clear_errors():
    _, repo = library(open_store(None))
    assert repo.get_or_none("b1").title == "Dune"
    assert repo.get_or_none("nope") is None
    with pytest.raises(IncorrectUsageError, match="unknown lookup `near`"):
        repo.query.filter(copies__near=3).all()
    with pytest.raises(IncorrectUsageError, match="has no field `pages`"):
        repo.query.filter(pages=3).all()


def test_equality_on_an_indexed_field_probes_the_index(monkeypatch):
    domain, repo = library(open_store(None))
    rows = domain.store.rows(repo.table)
    touched = []

    class Counting(dict):
        def keys(self):  # a scan would iterate every key
            touched.append("scan")
            return super().keys()

    monkeypatch.setattr(domain.store, "rows", lambda table: Counting(rows))
    assert ids(repo.query.filter(genre="SCIFI", copies__gt=5).all()) == ["b4"]
    assert ids(repo.query.filter(Q(genre="CLASSIC") & ~Q(copies=0)).all()) == ["b2", "b5"]
    assert touched == []
    repo.query.filter(copies__gt=5).all()
    assert touched == ["scan"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(-3, 3)), max_size=12),
    st.sampled_from(["A", "B", "C"]),
    st.integers(-3, 3),
)
def test_query_agrees_with_a_plain_python_filter(rows, genre, threshold):
    domain = Domain(name="Prop")

    @domain.aggregate
    class Item:
        genre = String()
        n = Integer()

    domain.init()
    domain.bind_store(open_store(None))
    repo = domain.repository_for(Item)
    for g, n in rows:
        repo.add(Item(genre=g, n=n))
    found = repo.query.filter(Q(genre=genre) | ~Q(n__lte=threshold)).order_by("-n").limit(None).all()
    expected = sorted((n for g, n in rows if g == genre or n > threshold), reverse=True)
    assert [i.n for i in found] == expected
    assert found.total == len(expected)


def test_exclude_without_conditions_excludes_nothing():
    _, repo = library(open_store(None))
    assert repo.query.exclude().count() == 5
    assert ids(repo.query.filter(copies__gt=F("copies")).all()) == []
    assert sorted(ids(repo.query.filter(copies__gte=F("copies")).all())) == ["b1", "b2", "b3", "b4"]
