"""Splits: leave-one-out and temporal, and the k-core filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import kcore_filter, make_split
from recdash.errors import RecdashError


def _dataset(rows, catalog=None):
    cols = [S.USER, S.ITEM] + ([S.TIME] if len(rows[0]) > 2 else [])
    ds, report = prepare_dataset("d", pd.DataFrame(rows, columns=cols).astype(str), catalog)
    assert report.ok
    return ds


def test_leave_one_out_by_time():
    ds = _dataset([("u1", "a"), ("u1", "b"), ("u1", "c"), ("u1", "d"), ("u2", "a"), ("u2", "c"),
                   ("u3", "b")])
    sp = make_split(ds.interactions, ds.catalog, "loo")
    items = list(sp.items)
    name = lambda idx: [items[i] for i in idx]  # noqa: E731
    u1 = list(sp.users).index("u1")
    assert name(sp.train()[u1]) == ["a", "b"]
    assert list(sp.users[sp.test.users]) == ["u1", "u2"]
    assert name(sp.test.targets.items) == ["d", "c"]
    assert list(sp.test.cut) == [3, 1]  # history for test = everything before the target
    assert list(sp.users[sp.valid.users]) == ["u1"] and name(sp.valid.targets.items) == ["c"]
    assert sp.train_len.tolist() == [2, 1, 1]
    assert any("one event" in n for n in sp.notes)


def test_temporal_split_has_no_future_in_histories():
    day = 86400
    rows = [(f"u{u}", f"i{(u + t) % 7}", str(1_700_000_000 + t * day)) for u in range(5)
            for t in range(10)]
    ds = _dataset(rows)
    sp = make_split(ds.interactions, ds.catalog, "temporal", test_days=2, valid_days=2)
    t_test = 1_700_000_000 + 9 * day - 2 * day
    for row, u in enumerate(sp.test.users):
        hist_times = sp.sequences.times[sp.sequences.offsets[u]:][: sp.test.cut[row]]
        assert (hist_times < t_test).all()
    tgt_times = sp.test.targets.times
    assert (tgt_times >= t_test).all() and len(tgt_times) == 5 * 3  # days 7, 8, 9
    assert (sp.train().times < t_test - 2 * day).all()


def test_temporal_split_needs_timestamps():
    ds = _dataset([("u1", "a"), ("u1", "b")])
    with pytest.raises(RecdashError, match="leave-one-out"):
        make_split(ds.interactions, ds.catalog, "temporal")


def test_kcore_repeats_until_stable():
    # Removing item z (1 event) leaves u3 with 1 event, which must then go too.
    ev = pd.DataFrame({S.USER: ["u1", "u1", "u2", "u2", "u3", "u3"],
                       S.ITEM: ["x", "y", "x", "y", "x", "z"]})
    kept, removed = kcore_filter(ev, 2)
    assert set(kept[S.USER]) == {"u1", "u2"} and set(kept[S.ITEM]) == {"x", "y"}
    assert removed == {"events": 2, "users": 1, "items": 1}


def test_candidates_catalog_includes_items_without_events():
    catalog = pd.DataFrame({S.ITEM: ["a", "b", "new"], S.TITLE: ["A", "B", "New"]})
    ds = _dataset([("u1", "a"), ("u1", "b"), ("u1", "a")], catalog)
    assert "new" in make_split(ds.interactions, ds.catalog).items
    assert "new" not in make_split(ds.interactions, ds.catalog, candidates="interacted").items


def test_sequences_prefix_matches_python_slicing():
    from recdash.data.sequences import Sequences
    rng = np.random.default_rng(0)
    lists = [rng.integers(0, 50, rng.integers(0, 9)).tolist() for _ in range(40)]
    seqs = Sequences.from_lists(lists)
    cut = rng.integers(0, 10, 40)
    pre = seqs.prefix(cut)
    assert [pre[i].tolist() for i in range(40)] == [s[:c] for s, c in zip(lists, cut)]


def test_every_position_trains_on_every_event_but_the_validation_targets():
    from recdash.data.sequences import Sequences
    from recdash.data.splits import every_position

    rows = [(f"s{u:03d}", f"i{(u + t) % 9}") for u in range(200) for t in range(2 + u % 4)]
    ds, _ = prepare_dataset("s", pd.DataFrame(rows, columns=[S.USER, S.ITEM]))
    base = make_split(ds.interactions, ds.catalog, "loo")
    split = every_position(base, valid_share=0.1, seed=3)
    n = split.sequences.lengths
    held = np.zeros(len(n), bool)
    held[split.valid.users] = True
    assert 5 < held.sum() < 40  # about 10% of 200
    assert (split.train_len[~held] == n[~held]).all()  # every event of the others
    assert (split.train_len[held] == n[held] - 1).all()  # all but the validation target
    assert (split.valid.cut == n[held] - 1).all()
    last = split.sequences.items[split.sequences.offsets[1:][held] - 1]
    assert (split.valid.targets.items == last).all()
    assert len(split.test.users) == 0 and isinstance(split.train(), Sequences)
