"""Tests of the dataset charts on tiny hand-made interaction tables with known counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from recdash import charts


@pytest.fixture
def events() -> pd.DataFrame:
    """Seven events over three days (Jan 2 has none): 4 views, 2 carts, 1 purchase.

    Items: a has 4 events, b has 2, c has 1.
    """
    rows = [
        ("u1", "a", "2025-01-01 09:00", "view"), ("u1", "a", "2025-01-01 09:05", "cart"),
        ("u1", "a", "2025-01-01 09:10", "purchase"), ("u2", "b", "2025-01-01 23:59", "view"),
        ("u2", "a", "2025-01-03 00:01", "view"), ("u3", "b", "2025-01-03 12:00", "cart"),
        ("u3", "c", "2025-01-03 12:30", "view"),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "event_type"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["event_type"] = pd.Categorical(frame["event_type"], ["view", "cart", "purchase"])
    return frame


def test_events_over_time_counts_each_type_per_day(events: pd.DataFrame) -> None:
    fig = charts.events_over_time(events)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["view", "cart", "purchase"]
    days = pd.to_datetime(fig.data[0].x)
    assert list(days.strftime("%Y-%m-%d")) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    by_type = {t.name: list(t.y) for t in fig.data}
    assert by_type == {"view": [2, 0, 2], "cart": [1, 0, 1], "purchase": [1, 0, 0]}


def test_events_over_time_skips_unknown_times(events: pd.DataFrame) -> None:
    events.loc[6, "timestamp"] = pd.NaT
    fig = charts.events_over_time(events)
    assert sum(sum(t.y) for t in fig.data) == 6


def test_events_over_time_without_timestamps_says_so(events: pd.DataFrame) -> None:
    events["timestamp"] = pd.NaT
    fig = charts.events_over_time(events)
    assert len(fig.data) == 0
    assert "no timestamps" in fig.layout.annotations[0].text


def test_event_funnel_counts_view_cart_purchase(events: pd.DataFrame) -> None:
    fig = charts.event_funnel(events)
    (trace,) = fig.data
    assert isinstance(trace, go.Funnel)
    assert list(trace.y) == ["view", "cart", "purchase"]
    assert list(trace.x) == [4, 2, 1]


def test_event_funnel_counts_missing_types_as_zero(events: pd.DataFrame) -> None:
    views = events[events["event_type"] == "view"]
    assert list(charts.event_funnel(views).data[0].x) == [4, 0, 0]


def test_popularity_long_tail_ranks_items_on_log_axes(events: pd.DataFrame) -> None:
    fig = charts.popularity_long_tail(events)
    (trace,) = fig.data
    assert list(trace.x) == [1, 2, 3]
    assert list(trace.y) == [4, 2, 1]
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    # The top 20% of 3 items is 1 item (a), with 4 of the 7 events.
    assert "57%" in fig.layout.title.text


def test_popularity_long_tail_thins_long_catalogs() -> None:
    n = charts.MAX_TAIL_POINTS * 5
    # Item i has i + 1 events, so the most popular item has n.
    items = np.repeat(np.arange(n), np.arange(1, n + 1))
    fig = charts.popularity_long_tail(pd.DataFrame({"item_id": items}))
    (trace,) = fig.data
    assert len(trace.x) <= charts.MAX_TAIL_POINTS
    assert trace.x[0] == 1 and trace.x[-1] == n
    assert trace.y[0] == n and trace.y[-1] == 1
    assert np.all(np.diff(trace.y) < 0)


@pytest.mark.parametrize("build, needed", [
    (charts.events_over_time, "timestamp, event_type"),
    (charts.event_funnel, "event_type"),
    (charts.popularity_long_tail, "item_id"),
])
def test_builders_name_the_missing_columns(build, needed: str) -> None:
    wrong = pd.DataFrame({"user": ["u1"], "sku": ["a"]})
    with pytest.raises(ValueError, match=f"needs columns {needed}") as info:
        build(wrong)
    assert "user, sku" in str(info.value)  # says what the table has instead


@pytest.mark.parametrize("build", [charts.events_over_time, charts.event_funnel,
                                   charts.popularity_long_tail])
def test_builders_reject_non_frames(build) -> None:
    with pytest.raises(ValueError, match="needs a pandas DataFrame"):
        build([("u1", "a")])
