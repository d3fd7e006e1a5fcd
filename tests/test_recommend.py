"""The one serving path (`recdash.recommend`): lists with the shop's IDs and product details,
seen items, unknown items and shoppers, batches and bounded memory, re-ranking hooks, and the
export of every shopper; known answers on a two-taste checkerboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash import shopper
from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.errors import RecdashError
from recdash.models import ItemKNN
from recdash.models.base import TrainData
from recdash.recommend import LIST_COLUMNS, RECOMMENDATION_COLUMNS, History, Service, top_k


def checkerboard() -> Service:
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
    model = ItemKNN().fit(TrainData(sp.items, sp.users, sp.sequences))
    return Service(model, ds, sp)


@pytest.fixture(scope="module")
def fitted() -> Service:
    return checkerboard()


def test_a_history_frame_gets_named_items_without_seen_ones(fitted) -> None:
    service = fitted
    t = pd.Timestamp("2025-01-01", tz="UTC")
    frame = pd.DataFrame({S.ITEM: ["A0", "A1", "GONE"], S.EVENT: ["view", "purchase", "view"],
                          S.TIME: [t, t, pd.NaT]})
    recs = service.recommend_frame(frame, k=3)
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    assert recs["rank"].tolist() == [1, 2, 3]
    assert set(recs[S.ITEM]) == {"A2", "A3", "A4"}  # the rest of taste A, seen items left out
    assert recs[S.TITLE].str.startswith("Taste A product").all()
    kept = service.recommend_frame(frame.head(2), k=10, exclude_seen=False)
    assert {"A0", "A1"} <= set(kept[S.ITEM]) and len(kept) == 10


def test_adding_items_of_the_other_taste_changes_the_list(fitted) -> None:
    service = fitted
    original = shopper.history_of(service.dataset.interactions, "a00").head(1)  # one taste-A product
    before = service.recommend_frame(original, k=3)
    assert before[S.ITEM].str.startswith("A").all()
    edited = shopper.add_event(original, "B0", S.PURCHASE)
    edited = shopper.add_event(edited, "B1", S.PURCHASE)
    after = service.recommend_frame(edited, k=3)
    assert after[S.ITEM].str.startswith("B").all()  # two B purchases outweigh one A
    diff = shopper.diff_recommendations(before, after)
    assert (diff["change"] == "new").all() and diff["was"].isna().all()
    assert len(shopper.dropped_items(before, after)) == 3
    assert len(original) == 1 and len(edited) == 3  # edits return new frames


def test_an_empty_history_gets_popular_items(fitted) -> None:
    service = fitted
    recs = service.recommend_frame(shopper.empty_history(), k=10)
    popularity = service.dataset.interactions[S.ITEM].value_counts()
    assert recs[S.ITEM].iloc[0] in set(popularity[popularity == popularity.max()].index)


def test_stored_histories_are_whole_and_unknown_shoppers_get_popular_items(fitted) -> None:
    service = fitted
    events = service.dataset.interactions
    a00 = service.history_of("a00")
    assert len(a00) == (events[S.USER] == "a00").sum()  # every stage, not only training
    recs = service.recommend_users(["a00", "nobody"], k=3)
    assert list(recs.columns) == list(LIST_COLUMNS)
    assert recs.groupby(S.USER)["rank"].apply(list).to_dict() == {"a00": [1, 2, 3],
                                                                   "nobody": [1, 2, 3]}
    assert not set(recs.loc[recs[S.USER] == "a00", S.ITEM]) & set(
        events.loc[events[S.USER] == "a00", S.ITEM])
    assert service.knows("a00") and not service.knows("nobody")


def test_batches_give_the_same_lists_in_bounded_memory(fitted, monkeypatch) -> None:
    service = fitted
    histories = service.histories_of(list(service.split.users))
    whole = top_k(service.model, histories, 4, batch=1000)
    shapes = []
    score = service.model.score
    monkeypatch.setattr(service.model, "score",
                        lambda h, e=None, t=None: shapes.append(len(h)) or score(h, e, t))
    small = top_k(service.model, histories, 4, batch=7)
    assert np.array_equal(whole[0], small[0]) and np.allclose(whole[1], small[1])
    assert max(shapes) == 7 and sum(shapes) == len(histories)


def test_encoding_keeps_known_events_and_reads_labels(fitted) -> None:
    h, kept = fitted.encode(["A0", "GONE", "B1"], ["purchase", "view", "like"],
                            [pd.Timestamp("2025-01-01", tz="UTC"), None, None])
    assert kept.tolist() == [True, False, True] and len(h) == 2
    assert h.events.tolist() == [S.EVENT_TYPES.index("purchase"), 0]  # "like": a view
    assert h.times[0] == pd.Timestamp("2025-01-01", tz="UTC").timestamp() and np.isnan(h.times[1])
    with pytest.raises(RecdashError, match="differ in length"):
        fitted.encode(["A0"], ["view", "view"], [None])
    for bad in (0, 1001, 2.5, True):
        with pytest.raises(RecdashError, match="ask for 1 to 1,000"):
            fitted.recommend([History.empty()], k=bad)


def test_a_reranker_sees_the_candidates_and_orders_the_list(fitted) -> None:
    seen = []

    def reverse(candidates, scores, history):
        seen.append((len(candidates), list(history)))
        return candidates[::-1]

    history, _ = fitted.encode(["A0"])
    plain = fitted.recommend([history], k=3)
    reranked = fitted.recommend([history], k=3, rerank=(reverse, 6))
    assert seen == [(6, [int(fitted.model.codes_of(["A0"])[0])])]
    pool = fitted.recommend([history], k=6)
    assert reranked[S.ITEM].tolist() == pool[S.ITEM].tolist()[::-1][:3]
    assert reranked[S.ITEM].tolist() != plain[S.ITEM].tolist()
    assert reranked["rank"].tolist() == [1, 2, 3]


def test_every_shopper_is_served_once_in_the_export_batches(fitted) -> None:
    progress = []
    parts = list(fitted.recommend_all(k=2, batch=7, progress=lambda f, m: progress.append(f)))
    recs = pd.concat(parts)
    assert sorted(recs[S.USER].unique()) == sorted(fitted.split.users)
    assert (recs.groupby(S.USER).size() == 2).all()
    assert progress[-1] == 1.0 and len(parts) == -(-len(fitted.split.users) // 7)
