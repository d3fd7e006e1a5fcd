"""The Shopper page's engine: lists of interesting shoppers on a hand-made log, history edits, and
the diff against the original list. (The lists themselves: tests/test_recommend.py.)"""

from __future__ import annotations

import pandas as pd
import pytest

from recdash import shopper
from recdash.data import schema as S
from recdash.errors import RecdashError


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
