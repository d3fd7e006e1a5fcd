"""Tests of the demo shop generator: determinism, format, size, and the structure it promises.

The scale-1 shop is generated once per module (well under a second); checks that need no volume
use a tiny shop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import readers, validation
from recdash.data import schema as S
from recdash.data.catalog import normalise_catalog
from recdash.data.demo import (DEMO_END, DEMO_START, LAUNCH_FROM, NEW_ARRIVAL,
                               generate_demo_shop)

SESSION_BREAK = pd.Timedelta(minutes=30)


@pytest.fixture(scope="module")
def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    events, catalog = generate_demo_shop(scale=1.0, seed=0)
    events = events.assign(t=pd.to_datetime(events[S.TIME], utc=True, format="ISO8601"))
    info = catalog.set_index(S.ITEM)
    events["leaf"] = events[S.ITEM].map(info[S.CATEGORY]).str.split(" > ").str[-1]
    events["dept"] = events[S.ITEM].map(info[S.CATEGORY]).str.split(" > ").str[0]
    new_session = (events[S.USER] != events[S.USER].shift()) | (
        events["t"] - events["t"].shift() > SESSION_BREAK)
    events["session"] = new_session.cumsum()
    return events, catalog


@pytest.fixture(scope="module")
def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_demo_shop(scale=0.05, seed=3)


def test_same_arguments_give_byte_identical_csv(tiny):
    again = generate_demo_shop(scale=0.05, seed=3)
    for first, second in zip(tiny, again):
        assert first.to_csv(index=False) == second.to_csv(index=False)
    other = generate_demo_shop(scale=0.05, seed=4)
    assert tiny[0].to_csv(index=False) != other[0].to_csv(index=False)
    assert tiny[1].to_csv(index=False) != other[1].to_csv(index=False)


def test_columns_ids_and_types(tiny):
    events, catalog = tiny
    assert list(events.columns) == [S.USER, S.ITEM, S.TIME, S.EVENT, S.VALUE]
    assert list(catalog.columns) == [S.ITEM, S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND, S.PRICE]
    assert events[S.USER].str.fullmatch(r"u\d{5}").all()
    assert events[S.ITEM].str.fullmatch(r"p\d{5}").all()
    assert events[S.TIME].str.fullmatch(r"2025-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert set(events[S.EVENT]) == set(S.EVENT_TYPES)
    assert catalog[S.ITEM].is_unique and events[S.ITEM].isin(catalog[S.ITEM]).all()
    assert catalog[S.PRICE].dtype == np.float64 and (catalog[S.PRICE] > 0).all()
    bought = events[S.EVENT] == S.PURCHASE
    assert events.loc[~bought, S.VALUE].isna().all()
    paid = events.loc[bought, S.ITEM].map(catalog.set_index(S.ITEM)[S.PRICE])
    assert np.allclose(events.loc[bought, S.VALUE], paid)


def test_csv_round_trip_through_the_importer_is_clean(tiny):
    events, catalog = tiny
    raw = readers.read_table(events.to_csv(index=False).encode(), "demo_events.csv")
    table, report = validation.normalise_interactions(raw, "demo_events.csv")
    assert report.ok and table is not None and len(table) == len(events)
    assert not report.warnings, [f.code for f in report.warnings]
    raw = readers.read_table(catalog.to_csv(index=False).encode(), "demo_catalog.csv")
    items, report = normalise_catalog(raw, "demo_catalog.csv")
    assert report.ok and items is not None and len(items) == len(catalog)


def test_sizes_at_scale_one_and_growth_with_scale(shop, tiny):
    events, catalog = shop
    assert 2_700 <= len(catalog) <= 3_300
    assert events[S.USER].nunique() == 2_500
    assert 80_000 <= len(events) <= 150_000
    assert events["t"].min() >= pd.Timestamp(str(DEMO_START), tz="UTC")
    assert events["t"].max() < pd.Timestamp(str(DEMO_END), tz="UTC")
    assert events["t"].max() - events["t"].min() > pd.Timedelta(days=170)
    assert 0.02 < len(tiny[0]) / len(events) < 0.1 and len(tiny[1]) < len(catalog)


def test_rejects_a_non_positive_scale():
    with pytest.raises(ValueError, match="scale"):
        generate_demo_shop(scale=0)


def test_progress_is_reported_from_zero_to_one():
    calls: list[tuple[float, str]] = []
    generate_demo_shop(scale=0.02, seed=1, progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and all(m for _, m in calls)


def test_events_are_sorted_and_never_share_a_second(shop):
    events, _ = shop
    assert not events.duplicated([S.USER, S.TIME]).any()
    same_user = events[S.USER] == events[S.USER].shift()
    assert (events["t"].diff()[same_user] > pd.Timedelta(0)).all()
    assert events[S.USER].is_monotonic_increasing


def test_every_purchase_follows_a_view_of_the_item_in_the_same_session(shop):
    events, _ = shop
    key = ["session", S.ITEM]
    first_view = events[events[S.EVENT] == S.VIEW].groupby(key)["t"].min()
    purchases = events[events[S.EVENT] == S.PURCHASE].set_index(key)["t"]
    assert (first_view.reindex(purchases.index) < purchases).all()
    carts = events[events[S.EVENT] == S.CART].groupby(key)["t"].min()
    assert (carts.reindex(purchases.index) < purchases).mean() > 0.8  # mostly through the basket


def test_funnel_proportions(shop):
    share = shop[0][S.EVENT].value_counts(normalize=True)
    assert share[S.VIEW] > share[S.CART] > share[S.PURCHASE]
    assert 0.65 < share[S.VIEW] < 0.85
    assert 0.08 < share[S.CART] < 0.20
    assert 0.04 < share[S.PURCHASE] < 0.12


def test_popularity_has_a_long_tail(shop):
    events, catalog = shop
    counts = events[S.ITEM].value_counts()
    head = counts.iloc[: len(catalog) // 10].sum() / len(events)
    assert head >= 0.40
    assert head <= 0.80  # a tail, not a handful of items


def test_new_arrivals_have_no_events_before_launch(shop):
    events, catalog = shop
    late = catalog.loc[catalog[S.DESCRIPTION].str.startswith(NEW_ARRIVAL), S.ITEM]
    assert 0.03 <= len(late) / len(catalog) <= 0.07
    first_seen = events.groupby(S.ITEM)["t"].min()
    june = pd.Timestamp(str(LAUNCH_FROM), tz="UTC")
    assert (first_seen.reindex(late).dropna() >= june).all()
    assert first_seen.reindex(late).notna().mean() > 0.7  # launched items do sell
    first_in_june = first_seen.index[first_seen >= june]
    assert first_in_june.isin(late).mean() > 0.6


def test_chains_make_order_matter(shop):
    events, _ = shop
    buys = events[events[S.EVENT] == S.PURCHASE]
    for step, nxt in (("Smartphones", "Phone Cases"), ("Tents", "Sleeping Bags"),
                      ("Coffee Makers", "Coffee Beans")):
        first_step = buys[buys["leaf"] == step].groupby(S.USER)["t"].min()
        last_next = buys[buys["leaf"] == nxt].groupby(S.USER)["t"].max()
        after = (last_next.reindex(first_step.index) > first_step).mean()
        others = events.loc[~events[S.USER].isin(first_step.index), S.USER].unique()
        baseline = pd.Index(others).isin(last_next.index).mean()
        assert len(first_step) >= 30 and after > 3 * baseline, (step, after, baseline)


def test_shoppers_have_lasting_tastes_and_focused_sessions(shop):
    events, _ = shop
    per_user = events.groupby([S.USER, "dept"]).size()
    top_share = per_user.groupby(level=0).max() / per_user.groupby(level=0).sum()
    assert top_share.mean() > 0.5  # a favourite department, not random browsing
    views = events[events[S.EVENT] == S.VIEW]
    same_session = views["session"] == views["session"].shift()
    assert (views["leaf"] == views["leaf"].shift())[same_session].mean() > 0.6


def test_consumables_are_rebought_modestly(shop):
    events, _ = shop
    buys = events[events[S.EVENT] == S.PURCHASE]
    again = buys.duplicated([S.USER, S.ITEM])
    assert 0.01 < again.mean() < 0.15
    consumable = buys["dept"].isin(["Grocery", "Beauty"]) | (buys["leaf"] == "Descalers")
    assert consumable[again].all()  # nobody buys the same phone twice


def test_catalog_looks_like_a_shop(shop):
    _, catalog = shop
    levels = catalog[S.CATEGORY].str.split(" > ")
    assert (levels.str.len() == 3).all()
    departments = levels.str[0]
    assert 6 <= departments.nunique() <= 8
    assert (levels.str[1].groupby(departments).nunique() >= 2).all()
    assert (catalog[S.BRAND].groupby(departments).nunique() >= 5).all()
    assert catalog[S.TITLE].str.len().gt(10).all() and catalog[S.DESCRIPTION].str.len().gt(20).all()
    assert catalog[S.TITLE].duplicated().mean() < 0.03
    assert (catalog[S.PRICE].mul(100).round() % 100 == 99).all()  # 19.99, not 19.73
    spread = catalog.groupby([S.CATEGORY, S.BRAND])[S.PRICE].median().groupby(level=0)
    assert (spread.max() / spread.min()).median() > 1.5  # budget and premium brands


def test_large_scale_grows_the_log():
    events, catalog = generate_demo_shop(scale=2.0, seed=0)
    assert 160_000 <= len(events) <= 300_000 and events[S.USER].nunique() == 5_000
    assert 4_000 <= len(catalog) <= 4_500
