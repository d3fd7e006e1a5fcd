"""Known-answer tests of the dataset profile (recdash.profile) and its charts, on hand-made tables.

The shop below has ten events over exactly ten days (Jan 1 to Jan 11), so "the last 10% of the
time range" starts on Jan 10 at midnight:

    u1: a a b a c b a   (7 events; a's last on Jan 10)
    u2: d c             (d first seen on Jan 10 00:00, exactly at the boundary: new)
    u3: x               (x first seen on Jan 9 23:59: not new; x is missing from the catalog)

The catalog lists a, b (Home), c (Garden), d (no category) and e (blank category, no events).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from recdash import charts, profile
from recdash.data import schema as S


@pytest.fixture
def events() -> pd.DataFrame:
    rows = [("u1", "a", "2025-01-01 00:00"), ("u1", "a", "2025-01-02 00:00"),
            ("u1", "b", "2025-01-03 00:00"), ("u1", "a", "2025-01-04 00:00"),
            ("u1", "c", "2025-01-05 00:00"), ("u1", "b", "2025-01-06 00:00"),
            ("u1", "a", "2025-01-10 00:00"), ("u2", "d", "2025-01-10 00:00"),
            ("u2", "c", "2025-01-11 00:00"), ("u3", "x", "2025-01-09 23:59")]
    frame = pd.DataFrame(rows, columns=[S.USER, S.ITEM, S.TIME])
    frame[S.TIME] = pd.to_datetime(frame[S.TIME], utc=True)
    frame[S.EVENT] = pd.Categorical(["view"] * len(frame), categories=S.EVENT_TYPES)
    return frame


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame({S.ITEM: ["a", "b", "c", "d", "e"],
                         S.CATEGORY: pd.array(["Home > Kitchen > Mugs", "Home > Bath", " Garden ",
                                               None, "  "], dtype="string")})


def test_sequence_lengths_count_events_per_user(events):
    assert profile.sequence_lengths(events).to_dict() == {"u1": 7, "u2": 2, "u3": 1}


def test_length_histogram_bins_of_equal_width():
    bins = profile.length_histogram(pd.Series([1, 1, 2, 3, 10]), max_bins=3, clip_quantile=1.0)
    # width ceil(10 / 3) = 4: 1-4, 5-8, 9-10
    assert bins.to_dict("list") == {"low": [1, 5, 9], "high": [4, 8, 10], "users": [4, 0, 1]}


def test_length_histogram_puts_the_longest_sequences_in_the_last_bin():
    bins = profile.length_histogram(pd.Series([1, 2, 3, 4, 100]), clip_quantile=0.5)
    # the median is 3: bins 1, 2, and 3 up to the longest (100)
    assert bins.to_dict("list") == {"low": [1, 2, 3], "high": [1, 2, 100], "users": [1, 1, 3]}


def test_length_histogram_of_one_length_and_of_nothing():
    assert profile.length_histogram(pd.Series([5, 5])).to_dict("list") == {
        "low": [5], "high": [5], "users": [2]}
    assert profile.length_histogram(pd.Series([], dtype="int64")).empty


def test_top_category_takes_the_first_level_of_the_path():
    paths = pd.Series(["Home > Kitchen > Mugs", " Garden ", "Toys", "", None, "> Orphan"],
                      dtype="string")
    assert profile.top_category(paths).tolist() == [
        "Home", "Garden", "Toys", profile.NO_CATEGORY, profile.NO_CATEGORY, profile.NO_CATEGORY]


def test_category_mix_counts_items_and_events_per_top_level(events, catalog):
    mix = profile.category_mix(events, catalog)
    # Home: items a, b with 4 + 2 events; no category: d, e (items) and d, x (events; x is not
    # in the catalog); Garden: c with 2 events. Ties on events go to the category with more items.
    assert mix[["category", "items", "events"]].values.tolist() == [
        ["Home", 2, 6], [profile.NO_CATEGORY, 2, 2], ["Garden", 1, 2]]
    assert mix["item_share"].tolist() == pytest.approx([0.4, 0.4, 0.2])
    assert mix["event_share"].tolist() == pytest.approx([0.6, 0.2, 0.2])


def test_category_mix_sums_the_rest_into_other(events, catalog):
    mix = profile.category_mix(events, catalog, top=1)
    assert mix[["category", "items", "events"]].values.tolist() == [
        ["Home", 2, 6], [profile.OTHER, 3, 4]]


def test_cold_start_counts(events, catalog):
    cold = profile.cold_start(events, catalog)
    assert (cold.users, cold.cold_users) == (3, 2)  # u2 and u3 have at most 5 events
    assert cold.items == 6  # a-e in the catalog, plus x seen only in the events
    assert cold.items_without_events == 1  # e
    assert cold.new_items == 1  # d (on the boundary); x came a minute too early
    assert cold.cold_user_share == pytest.approx(2 / 3)
    assert cold.without_events_share == pytest.approx(1 / 6)
    assert cold.new_item_share_of_items == pytest.approx(1 / 6)


def test_cold_start_thresholds_are_parameters(events, catalog):
    cold = profile.cold_start(events, catalog, cold_user_max=1, new_item_share=0.5)
    assert cold.cold_users == 1  # only u3
    # the last half starts on Jan 6: a (Jan 1), b (Jan 3), c (Jan 5) are older; d and x are new
    assert cold.new_items == 2


def test_cold_start_without_timestamps_or_time_range(events, catalog):
    no_time = events.assign(**{S.TIME: pd.NaT})
    assert profile.cold_start(no_time, catalog).new_items is None
    assert profile.cold_start(no_time, catalog).new_item_share_of_items is None
    one_instant = events.assign(**{S.TIME: pd.Timestamp("2025-01-01", tz="UTC")})
    assert profile.cold_start(one_instant, catalog).new_items == 0


def test_profile_functions_name_the_columns_they_need(events):
    with pytest.raises(ValueError, match="category_mix needs columns item_id, category; "
                                         "missing category"):
        profile.category_mix(events, pd.DataFrame({S.ITEM: ["a"]}))
    with pytest.raises(ValueError, match="cold_start needs columns user_id, item_id, timestamp"):
        profile.cold_start(events.drop(columns=S.TIME), pd.DataFrame({S.ITEM: ["a"]}))


# The charts draw these numbers.

def test_sequence_lengths_chart(events):
    fig = charts.sequence_lengths(events)
    assert isinstance(fig, go.Figure)
    bars = dict(zip(fig.data[0].x, fig.data[0].y))
    assert bars["1"] == 1 and bars["2"] == 1 and sum(bars.values()) == 3
    assert "median 2" in fig.layout.title.text


def test_category_mix_chart(events, catalog):
    fig = charts.category_mix(events, catalog)
    assert [t.name for t in fig.data] == ["catalog items", "events"]
    by_category = dict(zip(fig.data[1].y, fig.data[1].x))
    assert by_category["Home"] == pytest.approx(0.6)
    no_categories = catalog.assign(**{S.CATEGORY: pd.NA})
    assert "no categories" in charts.category_mix(events, no_categories).layout.annotations[0].text


def test_cold_start_chart(events, catalog):
    fig = charts.cold_start_shares(events, catalog)
    shares = dict(zip(fig.data[0].y, fig.data[0].x))
    assert shares["users with 5 or fewer events"] == pytest.approx(2 / 3)
    assert shares["catalog items without events"] == pytest.approx(1 / 6)
    assert "67% (2 of 3 users)" in fig.data[0].text
    no_time = charts.cold_start_shares(events.assign(**{S.TIME: pd.NaT}), catalog)
    assert len(no_time.data[0].y) == 2  # no "new items" bar without timestamps


@pytest.mark.parametrize("build, bad_catalog", [
    (charts.category_mix, pd.DataFrame({S.ITEM: ["a"]})),
    (charts.cold_start_shares, pd.DataFrame({"sku": ["a"]})),
])
def test_profile_charts_name_the_catalog_columns_they_need(events, build, bad_catalog):
    with pytest.raises(ValueError, match=r"needs a catalog with columns item_id.*Dataset.catalog"):
        build(events, bad_catalog)


def test_profile_charts_name_the_event_columns_they_need(catalog):
    with pytest.raises(ValueError, match="sequence_lengths needs columns user_id"):
        charts.sequence_lengths(pd.DataFrame({"visitor": ["u1"]}))
    with pytest.raises(ValueError, match="cold_start_shares needs columns user_id, item_id, "
                                         "timestamp"):
        charts.cold_start_shares(pd.DataFrame({S.USER: ["u1"], S.ITEM: ["a"]}), catalog)
