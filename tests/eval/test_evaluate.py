"""Full-ranking evaluation end to end, with a model whose rankings are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.eval import evaluate as E
from recdash.models.base import Recommender, TrainData


class Fixed(Recommender):
    """Scores item i as -i (item 0 first), whatever the history."""

    name = "fixed"

    def _fit(self, data, progress):
        pass

    def _score(self, histories):
        return np.tile(-np.arange(self.n_items, dtype=np.float32), (len(histories), 1))


@pytest.fixture
def split():
    # Items are named so that sorted ID order = internal index order: i0 < i1 < ...
    rows = [("a", "i3"), ("a", "i1"), ("a", "i0"),    # test target i0, history i3 i1
            ("b", "i0"), ("b", "i4"), ("b", "i2"),    # target i2, i0 is seen -> rank 2
            ("c", "i2"), ("c", "i0"), ("c", "i0")]    # repeat target i0: unreachable if excluded
    ds, _ = prepare_dataset("e", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    return make_split(ds.interactions, ds.catalog, "loo")


def test_known_ranks_and_protocol(split):
    model = Fixed().fit(TrainData.from_split(split))
    res = E.evaluate(model, split, ks=(1, 2))
    # a: i0 at rank 1. b: i0 excluded, so i1 then i2 -> rank 2. c: i0 excluded -> miss.
    assert res.metrics["HR@1"] == pytest.approx(1 / 3)
    assert res.metrics["HR@2"] == pytest.approx(2 / 3)
    assert res.metrics["MRR@2"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert res.protocol.ranking == "full" and res.protocol.n_candidates == 5
    assert "full ranking of 5" in res.protocol.label() and "seen items excluded" in \
        res.protocol.label()
    assert any("unreachable" in n for n in res.notes)
    # c's target repeats its history: 1 of 3 users, said with or without the seen filter.
    assert any(n.startswith("33.3% of the targets repeat an item") for n in res.notes)
    kept = E.evaluate(model, split, ks=(1,), exclude_seen=False)
    assert any(n.startswith("33.3% of the targets repeat") for n in kept.notes)
    assert kept.metrics["HR@1"] == pytest.approx(2 / 3)  # a and c hit i0; b's target is i2


def test_batches_do_not_change_results(split, monkeypatch):
    model = Fixed().fit(TrainData.from_split(split))
    whole = E.evaluate(model, split, ks=(1, 2, 3))
    monkeypatch.setattr(E, "SCORE_BUDGET_BYTES", 4 * split.n_items)  # one user per batch
    assert E.evaluate(model, split, ks=(1, 2, 3)).metrics == whole.metrics


def test_segments_split_users_and_targets(split):
    model = Fixed().fit(TrainData.from_split(split))
    seg = E.evaluate(model, split, ks=(1,)).segments
    assert seg["all"]["users"] == 3
    assert seg["cold users"]["users"] + seg["warm users"]["users"] == 3
    assert seg["head items"]["users"] + seg["tail items"]["users"] + seg["cold items"]["users"] \
        == 3


def test_a_million_item_catalog_is_scored_in_bounded_batches():
    n_items, n_users = 1_000_000, 300
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({S.USER: np.repeat([f"u{u}" for u in range(n_users)], 3),
                         S.ITEM: [f"i{k:07d}" for k in rng.integers(0, 2000, 3 * n_users)]})
    catalog = pd.DataFrame({S.ITEM: [f"i{k:07d}" for k in range(n_items)]})
    ds, _ = prepare_dataset("big", rows, catalog)
    split = make_split(ds.interactions, ds.catalog, "loo")
    assert split.n_items == n_items
    shapes = []

    class Recording(Fixed):
        def _score(self, histories):
            shapes.append(len(histories))
            return super()._score(histories)

    res = E.evaluate(Recording().fit(TrainData.from_split(split)), split, ks=(10,))
    assert res.protocol.n_users == n_users and res.protocol.n_candidates == n_items
    # Never a users x items matrix: each batch stays within the score budget.
    assert len(shapes) > 1 and max(shapes) * n_items * 4 <= E.SCORE_BUDGET_BYTES
