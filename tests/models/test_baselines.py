"""The recommender contract, checked for every baseline through one mixin (the implicit habit),
plus each model's own known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.errors import CapacityError, NotFittedError
from recdash.models import (EASE, EASEConfig, ItemKNN, Popularity, PopularityConfig,
                            RulesConfig, SequentialRules, SessionKNN, SessionKNNConfig)
from recdash.models.base import TrainData
from recdash.recommend import LIST_COLUMNS, Service


def recommend(model, users=(), k=10, histories=None, exclude_seen=True):
    """Lists through the serving path: stored users, then given histories (user -> item IDs)."""
    service = Service(model)
    histories = dict(histories or {})
    keys = list(users) + list(histories)
    given = [service.encode(h)[0] for h in histories.values()]
    return service.recommend(service.histories_of(list(users)) + given, keys, k, exclude_seen)


def checkerboard() -> TrainData:
    """Two tastes: users 'a*' use items A0..A4, users 'b*' items B0..B4; B0 is the most popular."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(20):
        for i in rng.permutation(5)[:4]:
            rows.append((f"a{u:02d}", f"A{i}"))
    for u in range(30):
        for i in rng.permutation(5)[:4]:
            rows.append((f"b{u:02d}", f"B{i}"))
        rows.append((f"b{u:02d}", "B0"))
    ds, _ = prepare_dataset("c", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    sp = make_split(ds.interactions, ds.catalog, "loo")
    return TrainData(sp.items, sp.users, sp.sequences)  # train on everything


class RecommenderContract:
    """Every Recommender must pass these."""

    def make(self):
        raise NotImplementedError

    @pytest.fixture
    def fitted(self):
        return self.make().fit(checkerboard())

    def test_returns_shop_ids_and_ranks(self, fitted):
        recs = recommend(fitted, ["a00", "b00"], k=3)
        assert list(recs.columns) == list(LIST_COLUMNS)
        assert recs.groupby(S.USER)["rank"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]
        assert set(recs[S.ITEM]) <= {f"{g}{i}" for g in "AB" for i in range(5)}
        assert (recs.groupby(S.USER)["score"].diff().dropna() <= 0).all()

    def test_seen_items_are_excluded_unless_kept(self, fitted):
        hist = {"x": ["A1", "A2"]}
        recs = recommend(fitted, k=10, histories=hist)
        assert not set(recs[S.ITEM]) & {"A1", "A2"} and len(recs) == 8
        assert len(recommend(fitted, k=10, histories=hist, exclude_seen=False)) == 10

    def test_unknown_users_and_items_degrade_to_popular_items(self, fitted):
        recs = recommend(fitted, ["nobody"], k=1, histories={"ghost": ["NOT-AN-ITEM"]})
        assert recs[S.ITEM].tolist() == ["B0", "B0"]  # the most popular item

    def test_not_fitted_says_what_to_do(self):
        with pytest.raises(NotFittedError, match="call fit"):
            recommend(self.make(), ["a00"])


class TestPopularity(RecommenderContract):
    def make(self):
        return Popularity()

    def test_same_list_for_everyone(self, fitted):
        recs = recommend(fitted, ["a00", "b00"], k=5, exclude_seen=False)
        lists = recs.groupby(S.USER)[S.ITEM].apply(list)
        assert lists["a00"] == lists["b00"] and lists["a00"][0] == "B0"

    def test_recent_window_counts_only_recent_events(self):
        day = 86400
        rows = [("u1", "old", 0), ("u2", "old", 1), ("u3", "old", 2), ("u1", "new", 100 * day),
                ("u2", "new", 100 * day + 1)]
        ev = pd.DataFrame(rows, columns=[S.USER, S.ITEM, S.TIME]).astype(str)
        ds, _ = prepare_dataset("p", ev)
        sp = make_split(ds.interactions, ds.catalog, "loo")
        data = TrainData(sp.items, sp.users, sp.sequences)
        assert recommend(Popularity().fit(data), ["x"], k=1)[S.ITEM][0] == "old"
        recent = Popularity(PopularityConfig(window_days=30)).fit(data)
        assert recommend(recent, ["x"], k=1)[S.ITEM][0] == "new"


class PersonalisedContract(RecommenderContract):
    def test_checkerboard_known_answer(self, fitted):
        for hist, group in ((["A1", "A2"], "A"), (["B3", "B4"], "B")):
            top = recommend(fitted, k=3, histories={"x": hist})[S.ITEM]
            assert all(i.startswith(group) for i in top), (hist, list(top))


class TestItemKNN(PersonalisedContract):
    def make(self):
        return ItemKNN()

    def test_similarity_is_cosine_of_co_occurrence(self):
        seqs = [["x", "y"], ["x", "y"], ["x", "z"]]
        rows = [(f"u{u}", i) for u, s in enumerate(seqs) for i in s]
        ds, _ = prepare_dataset("k", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
        sp = make_split(ds.interactions, ds.catalog, "loo")
        m = ItemKNN().fit(TrainData(sp.items, sp.users, sp.sequences))
        idx = {i: k for k, i in enumerate(sp.items)}
        sim = m.sim_.toarray()
        # x has 3 users, y 2, co-occurring in 2: cos = 2 / sqrt(3 * 2).
        assert sim[idx["x"], idx["y"]] == pytest.approx(2 / np.sqrt(6))
        assert sim[idx["y"], idx["z"]] == 0 and sim[idx["x"], idx["x"]] == 0


class TestEASE(PersonalisedContract):
    def make(self):
        return EASE(EASEConfig(l2=10.0))

    def test_weights_solve_the_ridge_problem(self):
        data = checkerboard()
        m = EASE(EASEConfig(l2=10.0)).fit(data)
        from recdash.models.base import history_matrix
        x = history_matrix([data.sequences[u] for u in range(len(data.sequences))],
                           data.n_items).toarray().astype(np.float64)
        b = m.weights_.astype(np.float64)
        assert np.allclose(np.diag(b), 0)
        # Stationarity of ||X - XB||^2 + l2 ||B||^2 off the diagonal: (G + l2 I) B - G is
        # zero except on the diagonal (where the constraint's multiplier acts).
        g = x.T @ x
        resid = (g + 10.0 * np.eye(len(g))) @ b - g
        assert np.allclose(resid - np.diag(np.diag(resid)), 0, atol=1e-4)

    def test_refuses_catalogs_above_the_limit_with_the_size(self):
        with pytest.raises(CapacityError, match=r"10 x 10 .* limit is 5 items"):
            EASE(EASEConfig(max_items=5)).fit(checkerboard())


def _train(seqs: list[list[str]]) -> tuple[TrainData, dict[str, int]]:
    """Training sequences in this order (oldest first), each its own session."""
    rows = [(f"s{u:03d}", i) for u, s in enumerate(seqs) for i in s]
    ds, _ = prepare_dataset("s", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    sp = make_split(ds.interactions, ds.catalog, "loo")
    return TrainData(sp.items, sp.users, sp.sequences), {i: k for k, i in enumerate(sp.items)}


class TestSessionKNN(PersonalisedContract):
    def make(self):
        return SessionKNN(SessionKNNConfig(neighbors=10))

    def test_scores_are_summed_cosines_of_the_nearest_sessions(self):
        data, idx = _train([["a", "b", "c"], ["a", "d"], ["x", "y"]])
        m = SessionKNN(SessionKNNConfig(neighbors=2)).fit(data)
        scores = m.score([np.array([idx["a"], idx["b"]])])[0]
        # Query weights: a 1/2, b 2/2 (latest counts most); |q| = sqrt(5)/2.
        # Session 0 {a,b,c}: dot 1.5, cos = 1.5 / (sqrt(3) * sqrt(5)/2); session 1 {a,d}:
        # dot 0.5, cos = 0.5 / (sqrt(2) * sqrt(5)/2); session 2 shares nothing.
        s0, s1 = 1.5 / (np.sqrt(3) * np.sqrt(5) / 2), 0.5 / (np.sqrt(2) * np.sqrt(5) / 2)
        assert scores[idx["c"]] == pytest.approx(s0, rel=1e-5)
        assert scores[idx["d"]] == pytest.approx(s1, rel=1e-5)
        assert scores[idx["a"]] == pytest.approx(s0 + s1, rel=1e-5)  # repeats can be scored
        assert scores[idx["x"]] <= 0 and scores[idx["y"]] <= 0  # no evidence: below all

    def test_only_the_k_nearest_count_and_the_later_stored_wins_a_tie(self):
        data, idx = _train([["a", "old"], ["a", "new"]])
        scores = SessionKNN(SessionKNNConfig(neighbors=1)).fit(data).score(
            [np.array([idx["a"]])])[0]
        assert scores[idx["new"]] > 0 and scores[idx["old"]] <= 0

    def test_only_the_last_events_form_the_query(self):
        data, idx = _train([["a", "b"], ["z", "y"]])
        m = SessionKNN(SessionKNNConfig(last=1)).fit(data)
        scores = m.score([np.array([idx["a"], idx["z"]])])[0]  # only z is read
        assert scores[idx["y"]] > 0 and scores[idx["b"]] <= 0


class TestSequentialRules(PersonalisedContract):
    def make(self):
        return SequentialRules()

    def test_rules_follow_the_last_item_with_weight_one_over_the_gap(self):
        data, idx = _train([["a", "b", "c"], ["a", "c"], ["c", "a"]])
        m = SequentialRules(RulesConfig(window=2)).fit(data)
        scores = m.score([np.array([idx["c"], idx["a"]])])[0]  # the last item, a, counts
        # After a: b at gap 1 (1), c at gap 2 (1/2) and gap 1 (1): b 1, c 1.5; nothing else.
        assert scores[idx["b"]] == pytest.approx(1.0)
        assert scores[idx["c"]] == pytest.approx(1.5)
        assert scores[idx["a"]] <= 0  # no rule a -> a: popularity - 1, below every rule
        assert SequentialRules(RulesConfig(window=1)).fit(data).score(
            [np.array([idx["a"]])])[0][idx["c"]] == pytest.approx(1.0)
