"""Opening a store builds the same indexes as committing its events one by one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from workbench.core.store.state import StoreState

streams = st.sampled_from(["a-1", "a-2", "b-1", "ab-1", "a-b-1"])


def indexes(state: StoreState) -> tuple:
    return (
        {name: list(state.stream_indexes(name)) for name in state.streams},
        list(state.streams),
        {name: list(positions) for name, positions in state.categories.items()},
        state.stream_counts,
        state.event_ids,
    )


@given(st.lists(streams, max_size=40), st.integers(min_value=0, max_value=40))
def test_loading_in_batches_equals_appending_one_by_one(names, split):
    seen: dict[str, int] = {}
    records = []
    for i, name in enumerate(names):
        # As stored: every record carries its position in its stream.
        seen[name] = seen.get(name, -1) + 1
        records.append(
            {"id": f"e{i}", "stream_name": name, "stream_category": name.rpartition("-")[0], "position": seen[name]}
        )
    one_by_one, batches = StoreState(), StoreState()
    for record in records:
        one_by_one.apply([["ev", record]])
    batches.load_events(records[:split])
    batches.load_events(records[split:])
    assert indexes(batches) == indexes(one_by_one)
    for name in {*names}:
        assert batches.stream_last_position(name) == len([n for n in names if n == name]) - 1
