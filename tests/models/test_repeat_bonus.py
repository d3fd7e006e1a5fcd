"""The attention ranker's repeat bonus: a learned score for items already in the history, by how
recently they were seen, added the same way in training (full and sampled softmax), serving,
target scoring and explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.eval.evaluate import evaluate
from recdash.models.attention.config import AttentionConfig, TrainConfig
from recdash.models.attention.features import pad_batch
from recdash.models.attention.model import N_REPEAT_BUCKETS, AttentionRankerNet
from recdash.models.attention.ranker import AttentionRanker
from recdash.models.attention.train import _loss
from recdash.models.base import TrainData

N_ITEMS = 40


def net_with_weights(**kw) -> AttentionRankerNet:
    torch.manual_seed(0)
    cfg = AttentionConfig(n_items=10, max_len=5, dim=8, dropout=0.0, repeat_bonus="on",
                          use_category=False, use_brand=False, use_price=False, **kw)
    net = AttentionRankerNet(cfg).eval()
    with torch.no_grad():  # bucket b weighs b + 1, so every sum below names its buckets
        net.repeat_bonus.copy_(torch.arange(N_REPEAT_BUCKETS, dtype=torch.float32) + 1)
    return net


def test_the_bonus_by_hand():
    """History (padding, 3, 5, 3, 2), newest last: item 3 was seen 1 and 3 events ago (buckets 1
    and 3: 2 + 4), item 5 two ago (3), item 2 just now (1); every other item gets nothing."""
    net = net_with_weights()
    items = torch.tensor([[0, 3, 5, 3, 2], [1, 2, 3, 4, 5]])
    with torch.no_grad():
        hidden, _ = net.encode(items, last_only=True)
        plain = net.session_vectors(hidden[:, -1]) @ net.item_table()[1:].T
        bonus = (net.score_last(items) - plain).numpy()
    want = np.zeros((2, 10))
    want[0, [2, 4, 1]] = [6, 3, 1]  # internal index = item - 1
    want[1, [4, 3, 2, 1, 0]] = [1, 2, 3, 4, 5]
    assert np.allclose(bonus, want, atol=1e-5)


def test_older_events_share_log2_buckets():
    net = net_with_weights()
    items = torch.tensor([[7] + [1] * 19])  # item 7 seen 19 events ago: bucket 2 + log2(19) = 6
    pairs = net.repeat_pairs(items, last_only=True)
    seven = pairs.items == 6
    assert pairs.weights[seven].tolist() == [7.0]


def test_the_bonus_is_off_by_default_in_the_network():
    net = AttentionRankerNet(AttentionConfig(n_items=10, max_len=5, dim=8))
    assert net.repeat_bonus is None and net.repeat_pairs(torch.tensor([[1, 1]])) is None


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_training_scores_repeats_as_serving_does(loss):
    """The loss reads the bonus at every position as serving reads it at the newest one: the
    full softmax's loss is the cross-entropy of the served scores, and the sampled one is that
    of the served scores of the target and of the same drawn negatives, logQ-corrected."""
    net = net_with_weights()
    hist = [np.array([2, 4, 2, 1]), np.array([0, 1, 0]), np.array([5, 5, 5, 5, 6])]
    nexts = torch.tensor([2, 0, 5])  # repeats, internal indices
    batch = pad_batch(hist, None, None, 5)
    targets = torch.zeros_like(batch["items"])
    targets[:, -1] = nexts + 1  # only the newest position has a next item
    with torch.no_grad():
        served = net.score_last(batch["items"], batch["events"], batch["gaps"])  # (3, 10)
        log_q = torch.log(torch.linspace(1, 2, 10) / torch.linspace(1, 2, 10).sum())
        cfg = TrainConfig(loss=loss, n_negatives=25)
        got = _loss(net, batch, targets, cfg, log_q, torch.Generator().manual_seed(3))
        if loss == "full":
            want = torch.nn.functional.cross_entropy(served, nexts)
        else:
            neg = torch.multinomial(log_q.exp(), 25, replacement=True,
                                    generator=torch.Generator().manual_seed(3))
            pos = served[torch.arange(3), nexts] - log_q[nexts]
            negs = (served[:, neg] - log_q[neg]).masked_fill(neg[None] == nexts[:, None],
                                                             float("-inf"))
            want = torch.nn.functional.cross_entropy(torch.cat([pos[:, None], negs], 1),
                                                     torch.zeros(3, dtype=torch.long))
    assert float(got) == pytest.approx(float(want), rel=1e-5)


def repeat_data(n_users: int = 150, length: int = 9):
    """Each shopper alternates two random items a, b, a, b, ...: the next item is always the
    one before the newest, which only a reading of the history's own items can know (the bonus
    learns it in a few steps, attention alone more slowly)."""
    rng = np.random.default_rng(1)
    rows = []
    for u in range(n_users):
        a, b = rng.choice(N_ITEMS, 2, replace=False)
        rows += [(f"u{u:03d}", f"i{(a, b)[t % 2]:02d}") for t in range(length)]
    items = [f"i{k:02d}" for k in range(N_ITEMS)]
    catalog = pd.DataFrame({S.ITEM: items, S.TITLE: items})
    ds, _ = prepare_dataset("rep", pd.DataFrame(rows, columns=[S.USER, S.ITEM]), catalog)
    return ds, make_split(ds.interactions, ds.catalog, "loo")


def fit(split, ds, tmp_path, bonus: str) -> AttentionRanker:
    model = AttentionConfig(n_items=0, max_len=8, dim=16, n_layers=1, dropout=0.0,
                            repeat_bonus=bonus)
    train = TrainConfig(epochs=5, batch_size=16, lr=1e-2, patience=5, device="cpu",
                        checkpoint_minutes=0, tune=False, valid_exclude_seen=False)
    return AttentionRanker(model, train, run_dir=tmp_path / bonus).fit(
        TrainData.from_split(split, ds.catalog))


@pytest.fixture(scope="module")
def repeat_runs(tmp_path_factory):
    ds, split = repeat_data()
    tmp = tmp_path_factory.mktemp("repeat")
    return ds, split, fit(split, ds, tmp, "auto"), fit(split, ds, tmp, "off")


def test_auto_switches_it_on_for_a_repeat_heavy_log_and_it_learns_the_repeat(repeat_runs):
    ds, split, auto, off = repeat_runs
    assert auto.model_config.repeat_bonus == "on"  # resolved at fit time, stored so
    assert off.model_config.repeat_bonus == "off"
    w = auto.net.repeat_bonus.detach().numpy()
    # The next item is the one seen 1 and 3 events ago, never the newest (0) or 2 ago.
    assert min(w[1], w[3]) > 0.3 and max(w[0], w[2]) < -0.1
    hit_on = evaluate(auto, split, ks=(1,), exclude_seen=False).metrics["HR@1"]
    hit_off = evaluate(off, split, ks=(1,), exclude_seen=False).metrics["HR@1"]
    assert hit_on > 0.9 and hit_on > hit_off + 0.2


def test_a_log_without_repeats_keeps_it_off(tmp_path):
    from tests.models.test_attention import cyclic_data

    ds, split = cyclic_data()
    assert fit(split, ds, tmp_path, "auto").model_config.repeat_bonus == "off"


def test_every_scoring_path_adds_it(repeat_runs):
    """`score` (the catalog), `score_targets` (search, SHAP) and a reload from the checkpoint
    give the same scores, the bonus included."""
    ds, split, auto, _ = repeat_runs
    hist = [split.train()[u] for u in range(6)]
    events = [np.zeros(len(h), dtype=np.int64) for h in hist]
    times = [np.full(len(h), np.nan) for h in hist]
    full = auto.score(hist)
    targets = np.array([hist[0][-2], 5, hist[1][-1], 5, 0])  # a repeat twice, copies allowed
    some = auto.score_targets(hist, events, times, targets)
    assert np.allclose(some, full[:, targets], atol=1e-4)
    users = auto.user_vectors(hist).numpy()
    plain = users @ auto.item_vectors()[targets].T
    assert np.abs(some - plain)[0, 0] > 1.0  # the bonus is there, not only the vectors
    again = AttentionRanker.load(auto.run_dir, TrainData.from_split(split, ds.catalog))
    assert again.model_config.repeat_bonus == "on"
    assert np.allclose(again.score(hist), full, atol=1e-5)


def test_removing_a_history_event_removes_its_bonus(repeat_runs):
    """What SHAP and the counterfactuals do: the item's score falls by its bonus when the only
    event that holds it is removed."""
    _, split, auto, _ = repeat_runs
    hist = split.train()[0]
    item = hist[-2]  # the next item, seen two events ago
    kept = hist[hist != item]
    z = [np.zeros(len(hist), dtype=np.int64), np.zeros(len(kept), dtype=np.int64)]
    t = [np.full(len(hist), np.nan), np.full(len(kept), np.nan)]
    with_it, without = auto.score_targets([hist, kept], z, t, np.array([item]))[:, 0]
    assert with_it - without > 1.0
