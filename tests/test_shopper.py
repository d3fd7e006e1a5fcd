"""The Shopper page's engine: lists of interesting shoppers on a hand-made log, recommendations
for an edited history with titles, and the diff against the original list (known answers on a
two-taste checkerboard)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash import shopper
from recdash.data import schema as S
from recdash.data.dataset import Dataset, prepare_dataset
from recdash.data.splits import make_split
from recdash.errors import RecdashError
from recdash.models import ItemKNN
from recdash.models.base import TrainData


def log() -> pd.DataFrame:
    """u1: 5 events, 1 purchase; u2: 1 event; u3: 3 events, 3 purchases; u4: 2 views."""
    rows = [("u1", "view"), ("u1", "view"), ("u1", "cart"), ("u1", "purchase"), ("u1", "view"),
            ("u2", "view"),
            ("u3", "purchase"), ("u3", "purchase"), ("u3", "purchase"),
            ("u4", "view"), ("u4", "view")]
    frame = pd.DataFrame(rows, columns=[S.USER, S.EVENT])
    frame[S.EVENT] = frame[S.EVENT].astype(pd.CategoricalDtype(S.EVENT_TYPES))
    frame[S.ITEM] = "p"
    return frame


def test_interesting_shopper_lists() -> None:
    long = shopper.interesting_shoppers(log(), "long history", n=2)
    assert long[S.USER].tolist() == ["u1", "u3"] and long["events"].tolist() == [5, 3]
    assert shopper.interesting_shoppers(log(), "cold start")[S.USER].tolist() == \
        ["u2", "u4", "u3", "u1"]
    buyers = shopper.interesting_shoppers(log(), "heavy buyers")
    assert buyers[S.USER].tolist() == ["u3", "u1"]  # u2 and u4 never bought
    assert buyers["purchases"].tolist() == [3, 1]
    with pytest.raises(RecdashError, match="choose one of"):
        shopper.interesting_shoppers(log(), "loyal")


def test_search_users_puts_exact_matches_first() -> None:
    assert shopper.search_users(["u10", "u1", "x"], "U1") == ["u1", "u10"]
    assert shopper.search_users(["a", "b"], "", limit=1) == ["a"]


def checkerboard() -> tuple[ItemKNN, Dataset]:
    """Two tastes: users 'a*' use items A0..A4, users 'b*' items B0..B4."""
    rng = np.random.default_rng(0)
    rows = [(f"{g}{u:02d}", f"{g.upper()}{i}") for g in "ab" for u in range(20)
            for i in rng.permutation(5)[:4]]
    catalog = pd.DataFrame({S.ITEM: [f"{g}{i}" for g in "AB" for i in range(5)],
                            S.TITLE: [f"Taste {g} product {i}" for g in "AB" for i in range(5)],
                            S.CATEGORY: [g for g in "AB" for _ in range(5)],
                            S.PRICE: [float(i + 1) for _ in "AB" for i in range(5)]})
    ds, _ = prepare_dataset("c", pd.DataFrame(rows, columns=[S.USER, S.ITEM]), catalog)
    sp = make_split(ds.interactions, ds.catalog, "loo")
    return ItemKNN().fit(TrainData(sp.items, sp.users, sp.sequences)), ds


@pytest.fixture(scope="module")
def fitted() -> tuple[ItemKNN, Dataset]:
    return checkerboard()


def test_recommend_for_history_names_items_and_excludes_seen(fitted) -> None:
    model, ds = fitted
    t = pd.Timestamp("2025-01-01", tz="UTC")
    recs = shopper.recommend_for_history(model, ds, ["A0", "A1", "GONE"],
                                         ["view", "purchase", "view"], [t, t, pd.NaT], k=3)
    assert list(recs.columns) == list(shopper.RECOMMENDATION_COLUMNS)
    assert recs["rank"].tolist() == [1, 2, 3]
    assert set(recs[S.ITEM]) == {"A2", "A3", "A4"}  # the rest of taste A, seen items left out
    assert recs[S.TITLE].str.startswith("Taste A product").all()
    kept = shopper.recommend_for_history(model, ds, ["A0", "A1"], ["view"] * 2, [t, t], k=10,
                                         exclude_seen=False)
    assert {"A0", "A1"} <= set(kept[S.ITEM]) and len(kept) == 10


def test_adding_items_of_the_other_taste_changes_the_list(fitted) -> None:
    model, ds = fitted
    original = shopper.history_of(ds.interactions, "a00").head(1)  # one taste-A product
    before = shopper.recommend_for_frame(model, ds, original, k=3)
    assert before[S.ITEM].str.startswith("A").all()
    edited = shopper.add_event(original, "B0", S.PURCHASE)
    edited = shopper.add_event(edited, "B1", S.PURCHASE)
    after = shopper.recommend_for_frame(model, ds, edited, k=3)
    assert after[S.ITEM].str.startswith("B").all()  # two B purchases outweigh one A
    diff = shopper.diff_recommendations(before, after)
    assert (diff["change"] == "new").all() and diff["was"].isna().all()
    assert len(shopper.dropped_items(before, after)) == 3
    assert len(original) == 1 and len(edited) == 3  # edits return new frames


def test_an_empty_history_gets_popular_items(fitted) -> None:
    model, ds = fitted
    recs = shopper.recommend_for_frame(model, ds, shopper.empty_history(), k=10)
    popularity = ds.interactions[S.ITEM].value_counts()
    assert recs[S.ITEM].iloc[0] in set(popularity[popularity == popularity.max()].index)


def test_diff_marks_new_items_and_rank_changes() -> None:
    before = pd.DataFrame({"rank": [1, 2, 3], S.ITEM: ["x", "y", "z"]})
    after = pd.DataFrame({"rank": [1, 2, 3], S.ITEM: ["y", "x", "w"]})
    diff = shopper.diff_recommendations(before, after)
    assert diff["change"].tolist() == ["up 1", "down 1", "new"]
    assert diff["was"].tolist()[:2] == [2, 1] and pd.isna(diff["was"].iloc[2])
    assert shopper.dropped_items(before, after)[S.ITEM].tolist() == ["z"]


def test_editing_a_history() -> None:
    t = pd.Timestamp("2025-01-01 10:00", tz="UTC")
    hist = pd.DataFrame({S.TIME: [t, t + pd.Timedelta(hours=1)], S.ITEM: ["a", "b"],
                         S.EVENT: ["view", "cart"]})
    added = shopper.add_event(hist, "c", S.PURCHASE)
    assert added[S.ITEM].tolist() == ["a", "b", "c"]
    assert added[S.TIME].iloc[-1] == t + pd.Timedelta(hours=1) + shopper.ADDED_GAP
    assert shopper.remove_event(added, 0)[S.ITEM].tolist() == ["b", "c"]
    assert len(hist) == 2
    with pytest.raises(RecdashError, match="unknown event type"):
        shopper.add_event(hist, "c", "like")
    with pytest.raises(RecdashError, match="no event at position 5"):
        shopper.remove_event(hist, 5)
