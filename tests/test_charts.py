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


def test_an_order_exports_funnel_starts_at_its_purchases(events: pd.DataFrame) -> None:
    bought = events[events["event_type"] == "purchase"]
    (trace,) = charts.event_funnel(bought).data
    assert list(trace.y) == ["purchase"] and list(trace.x) == [1]  # not a share of 0 views
    carts = events[events["event_type"] != "view"]
    assert list(charts.event_funnel(carts).data[0].y) == ["cart", "purchase"]


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


# Readability: ranges around a single point, labels that are not clipped, one number format.

def runs_table(values: dict[str, list]) -> pd.DataFrame:
    """A tiny `runs_view.runs_table`: one row per run."""
    n = len(next(iter(values.values())))
    return pd.DataFrame({"run": [f"run #{i + 1}" for i in range(n)], "model": ["pop"] * n,
                         "badge": ["LOO"] * n, **values})


def test_a_single_run_is_drawn_on_a_narrow_range_around_its_point() -> None:
    fig = charts.tradeoff_scatter(runs_table({"Coverage@10": [0.25], "NDCG@10": [0.05]}),
                                  "Coverage@10", "NDCG@10")
    for axis, value in ((fig.layout.xaxis, 0.25), (fig.layout.yaxis, 0.05)):
        low, high = axis.range
        assert 0.0 <= low < value < high and high - low <= 0.2  # not plotly's -0.5..1
    assert fig.data[0].cliponaxis is False  # the run's name above the point stays visible
    spread = charts.tradeoff_scatter(runs_table({"Coverage@10": [0.2, 0.4],
                                                 "NDCG@10": [0.05, 0.06]}),
                                     "Coverage@10", "NDCG@10")
    assert spread.layout.xaxis.range is None  # several values: plotly's autorange


def test_single_value_range_pads_the_value_and_stays_non_negative() -> None:
    assert charts.single_value_range([0.5, 0.5]) == pytest.approx([0.4, 0.6])
    assert charts.single_value_range([0.0]) == pytest.approx([0.0, 0.01])
    assert charts.single_value_range([-2.0]) == pytest.approx([-2.4, -1.6])
    assert charts.single_value_range([0.1, 0.2]) is None
    assert charts.single_value_range([float("nan")]) is None


def test_metric_bars_label_every_bar_the_same_way_and_leave_room_for_the_labels() -> None:
    fig = charts.metric_bars(runs_table({"NDCG@10": [0.05, 0.123456, 1.2e-5, float("nan")]}),
                             "NDCG@10")
    (bar,) = fig.data
    assert list(bar.text) == ["0.0500", "0.1235", "0.0000", ""]
    assert bar.textposition == "outside" and bar.cliponaxis is False
    assert fig.layout.yaxis.range[1] > 0.123456 * 1.1  # headroom for the tallest label


def test_numbers_never_print_negative_zero() -> None:
    assert charts.fixed(-0.0) == "0.0000" and charts.fixed(-0.00003) == "0.0000"
    assert charts.fixed(-0.1234567) == "-0.1235" and charts.fixed(float("nan")) == ""
    table = charts.zero_rounded(pd.DataFrame({"ILD": [-0.0, -2e-16, 0.5], "run": list("abc")}))
    assert [f"{v:.4f}" for v in table["ILD"]] == ["0.0000", "0.0000", "0.5000"]
    assert table["run"].tolist() == list("abc")


def test_charts_grow_their_margins_to_fit_long_labels(events: pd.DataFrame) -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b", "c", "d"],
                            "category": ["Home > Kitchen", "Home", None, "Garden"]})
    figs = [charts.events_over_time(events), charts.event_funnel(events),
            charts.popularity_long_tail(events), charts.sequence_lengths(events),
            charts.category_mix(events, catalog), charts.cold_start_shares(events, catalog),
            charts.metric_bars(runs_table({"m": [0.1]}), "m")]
    for fig in figs:
        assert fig.layout.xaxis.automargin and fig.layout.yaxis.automargin, fig.layout.title
    cold = charts.cold_start_shares(events, catalog)
    assert cold.data[0].cliponaxis is False  # a count beside a short bar is not cut off
