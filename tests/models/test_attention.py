"""The attention ranker: causality, a task with a known answer, cold items, checkpoints,
normalised (NISER) scores, positions and the learning-rate schedule."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.splits import make_split
from recdash.errors import RecdashError
from recdash.eval.evaluate import evaluate
from recdash.models.attention import AttentionConfig, AttentionRanker, AttentionRankerNet, \
    TrainConfig
from recdash.models.attention.checkpoint import WEIGHTS, find_checkpoint
from recdash.models.base import TrainData
from recdash.recommend import Service

N_ITEMS = 12


def cyclic_data(n_users: int = 120, length: int = 8, cold: bool = False):
    """Each user walks i, i+1, i+2, ... (mod 12): the next item is always known.

    With cold=True the catalog also holds item 'c' (no events) in category 'even' like the
    even items; categories are 'even' and 'odd'.
    """
    rng = np.random.default_rng(0)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(N_ITEMS))
        rows += [(f"u{u:03d}", f"i{(start + t) % N_ITEMS:02d}") for t in range(length)]
    items = [f"i{k:02d}" for k in range(N_ITEMS)] + (["c"] if cold else [])
    catalog = pd.DataFrame({S.ITEM: items, S.TITLE: items,
                            S.CATEGORY: ["even" if k % 2 == 0 else "odd"
                                         for k in range(N_ITEMS)] + (["even"] if cold else [])})
    ds, _ = prepare_dataset("cyc", pd.DataFrame(rows, columns=[S.USER, S.ITEM]), catalog)
    split = make_split(ds.interactions, ds.catalog, "loo")
    return ds, split


def small(**kw) -> AttentionConfig:
    return AttentionConfig(n_items=0, max_len=10, dim=32, n_layers=2, n_heads=2, dropout=0.0,
                           **kw)


def fast(**kw) -> TrainConfig:
    base = dict(epochs=30, batch_size=32, lr=5e-3, patience=30, device="cpu", seed=0,
                checkpoint_minutes=0, tune=False)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ds, split = cyclic_data()
    run = tmp_path_factory.mktemp("run")
    ranker = AttentionRanker(small(), fast(), run_dir=run)
    ranker.fit(TrainData.from_split(split, ds.catalog))
    return ds, split, ranker, run


def test_causality_later_events_never_change_earlier_outputs():
    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=20, max_len=8, dim=16, n_heads=2,
                                             dropout=0.0)).eval()
    items = torch.tensor([[0, 0, 3, 5, 7, 2, 9, 4]])
    changed = items.clone()
    changed[0, 6] = 11
    a, _ = net.encode(items)
    b, _ = net.encode(changed)
    assert torch.allclose(a[:, :6], b[:, :6], atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-3)


def test_attention_weights_are_causal_distributions(trained):
    _, split, ranker, _ = trained
    maps = ranker.attention(split.train()[0])
    assert len(maps) == 2 and maps[0].shape[0] == 2  # layers, heads
    w = maps[-1]
    assert np.allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(w, k=1), 0.0)


def test_learns_a_task_whose_next_item_is_known(trained):
    _, split, ranker, _ = trained
    res = evaluate(ranker, split, ks=(1,))
    assert res.metrics["HR@1"] > 0.9, res.metrics
    assert ranker.result.best_ndcg > 0.9


def test_checkpoint_roundtrip_gives_identical_scores(trained):
    ds, split, ranker, run = trained
    data = TrainData.from_split(split, ds.catalog)
    loaded = AttentionRanker.load(run, data)
    hist = [split.train()[u] for u in range(5)]
    assert np.array_equal(loaded.score(hist), ranker.score(hist))
    assert Service(loaded).recommend_users(["u000"], k=3).equals(
        Service(ranker).recommend_users(["u000"], k=3))


def test_training_is_deterministic_under_a_seed(tmp_path):
    ds, split = cyclic_data(n_users=40)
    data = TrainData.from_split(split, ds.catalog)
    scores = []
    for k in range(2):
        r = AttentionRanker(small(), fast(epochs=2), run_dir=tmp_path / str(k)).fit(data)
        scores.append(r.score([split.train()[0]]))
    assert np.array_equal(scores[0], scores[1])


def taste_data():
    """Even-lovers use random even items, odd-lovers odd ones; item 'c' (category 'even') has
    no events at all: only its category can tell the model who would like it."""
    rng = np.random.default_rng(1)
    rows = []
    for u in range(160):
        group = np.arange(u % 2, N_ITEMS, 2)
        rows += [(f"u{u:03d}", f"i{k:02d}") for k in rng.permutation(group)[:5]]
    items = [f"i{k:02d}" for k in range(N_ITEMS)] + ["c"]
    cats = ["even" if k % 2 == 0 else "odd" for k in range(N_ITEMS)] + ["even"]
    catalog = pd.DataFrame({S.ITEM: items, S.TITLE: items, S.CATEGORY: cats})
    ds, _ = prepare_dataset("taste", pd.DataFrame(rows, columns=[S.USER, S.ITEM]), catalog)
    return ds, make_split(ds.interactions, ds.catalog, "loo")


def test_cold_item_is_scored_by_content_and_can_be_recommended(tmp_path):
    ds, split = taste_data()
    data = TrainData.from_split(split, ds.catalog)
    ranker = AttentionRanker(small(), fast(epochs=20), run_dir=tmp_path).fit(data)
    cold = list(split.items).index("c")
    assert ranker.popularity[cold] == 0
    tower = ranker.net.items
    assert tower.id_mask[cold + 1, 0] == 0  # its untrained ID embedding is switched off
    with torch.no_grad():  # so its ID weights cannot move its score
        before = ranker.score([split.train()[0]])[0, cold]
        tower.id.weight[cold + 1] += 5.0
        assert ranker.score([split.train()[0]])[0, cold] == pytest.approx(before)
    # Content alone puts it in the even-lovers' top 4 (3 unseen even items + c), ahead of
    # every odd item, and in no odd-lover's.
    recs = Service(ranker).recommend_users(list(split.users), k=4)
    with_c = set(recs.loc[recs[S.ITEM] == "c", S.USER])
    even_lovers = {u for u in split.users if int(u[1:]) % 2 == 0}
    assert len(with_c & even_lovers) > 0.8 * len(even_lovers)
    assert not with_c - even_lovers


def test_sampled_softmax_trains(tmp_path):
    ds, split = cyclic_data()
    ranker = AttentionRanker(small(), fast(loss="sampled", n_negatives=6, epochs=30),
                             run_dir=tmp_path).fit(TrainData.from_split(split, ds.catalog))
    assert evaluate(ranker, split, ks=(3,)).metrics["HR@3"] > 0.7


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_corrupt_checkpoint_gives_a_clear_error(trained, tmp_path, damage):
    import shutil
    _, _, _, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    weights = find_checkpoint(copy) / WEIGHTS
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "garbage":
        weights.write_bytes(b"\x00" * 64)
    else:
        weights.unlink()
    with pytest.raises(RecdashError, match=r"(corrupt or truncated|missing).*Fix: retrain"):
        AttentionRanker.load(copy)


def test_last_position_serving_path_matches_the_full_forward():
    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=30, max_len=9, dim=16, n_heads=2,
                                             dropout=0.0)).eval()
    items = torch.tensor([[0, 0, 0, 3, 5, 7, 2, 9, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9]])
    full, _ = net.encode(items)
    last, _ = net.encode(items, last_only=True)
    assert last.shape == (2, 1, 16)
    assert torch.allclose(full[:, -1:], last, atol=1e-6)


def test_a_time_limit_stops_mid_epoch_and_keeps_the_best_weights(tmp_path):
    ds, split = cyclic_data(n_users=400)
    ranker = AttentionRanker(small(), fast(epochs=50, batch_size=4, max_minutes=0.02),
                             run_dir=tmp_path).fit(TrainData.from_split(split, ds.catalog))
    res = ranker.result
    assert res.stopped == "time limit" and res.epochs_run < 50
    assert res.history and res.history[-1]["seconds"] < 60  # not one full pass per epoch cap
    assert find_checkpoint(tmp_path, "best") is not None


def test_the_eta_never_runs_past_the_time_limit():
    from recdash.models.attention.train import _event

    state = {"epoch": 0, "batch": 1, "best": -1.0}
    # 10% done after 60 s: 540 s to go by the epochs, but the 3-minute limit leaves 120 s.
    capped = _event("step", state, TrainConfig(epochs=10, max_minutes=3.0), 10, 1.0, None, 100,
                    60.0, 0.1)
    assert capped.eta_s == pytest.approx(120.0)
    free = _event("step", state, TrainConfig(epochs=10), 10, 1.0, None, 100, 60.0, 0.1)
    assert free.eta_s == pytest.approx(540.0)
    over = _event("step", state, TrainConfig(epochs=10, max_minutes=0.5), 10, 1.0, None, 100,
                  60.0, 0.1)
    assert over.eta_s == 0.0


def test_settings_are_checked_where_they_are_built():
    from recdash.errors import SettingError
    from recdash.models.attention.config import AttentionSettings

    for bad, field in (({"dim": 30, "n_heads": 4}, "AttentionConfig.dim"),
                       ({"lr": -1.0}, "TrainConfig.lr"), ({"epochs": 2.5}, "TrainConfig.epochs"),
                       ({"loss": "bpr"}, "TrainConfig.loss"), ({"dropout": 1.0},
                                                               "AttentionConfig.dropout"),
                       ({"epochs": True}, "TrainConfig.epochs"), ({"colour": "red"}, "colour")):
        with pytest.raises(SettingError) as caught:
            AttentionSettings.from_flat(bad)
        assert caught.value.field == field, bad
    ok = AttentionSettings.from_flat({"dim": 32, "n_heads": 2, "text": False, "epochs": 3})
    assert AttentionSettings.from_dict(ok.to_dict()) == ok


@pytest.mark.parametrize("target", ["../../outside", "/etc", "ckpt-1-2/../../x", 7])
def test_a_checkpoint_pointer_outside_its_run_folder_is_refused(trained, tmp_path, target):
    import json
    import shutil
    _, _, _, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (tmp_path / "outside").mkdir()
    for pointer in ("best.json", "latest.json"):
        (copy / pointer).write_text(json.dumps({"checkpoint": target}))
    with pytest.raises(RecdashError, match="not a checkpoint folder of this run"):
        AttentionRanker.load(copy)


def test_auto_loss_is_full_for_small_catalogs_and_sampled_for_large_ones(tmp_path):
    from recdash.models.attention.config import AUTO_FULL_MAX_ITEMS, resolve_loss

    assert resolve_loss("auto", AUTO_FULL_MAX_ITEMS["cpu"], "cpu") == "full"
    assert resolve_loss("auto", AUTO_FULL_MAX_ITEMS["cpu"] + 1, "cpu") == "sampled"
    assert resolve_loss("auto", AUTO_FULL_MAX_ITEMS["cpu"] + 1, "cuda") == "full"
    assert resolve_loss("full", 10**7, "cpu") == "full"
    ds, split = cyclic_data()
    ranker = AttentionRanker(small(), fast(epochs=1), run_dir=tmp_path).fit(
        TrainData.from_split(split, ds.catalog))
    assert ranker.train_config.loss == "full"  # the run records what was used, not "auto"


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_normalised_scores_are_bounded_and_served_as_trained(tmp_path, loss):
    """NISER scoring: a score is a cosine times score_scale, in training and serving alike."""
    from recdash.models.attention.features import pad_batch
    from recdash.models.attention.train import _loss

    ds, split = cyclic_data()
    ranker = AttentionRanker(small(score_scale=8.0), fast(loss=loss, n_negatives=6),
                             run_dir=tmp_path).fit(TrainData.from_split(split, ds.catalog))
    assert evaluate(ranker, split, ks=(1,)).metrics["HR@1"] > 0.9  # it still learns the task
    hist = [split.train()[u] for u in range(8)]
    served = ranker.score(hist)  # (8, I)
    assert np.abs(served).max() <= 8.0 + 1e-4
    assert np.abs(served).max() > 4.0  # the scale is applied, not only the normalisation
    net = ranker.net.eval()
    batch = pad_batch(hist, None, None, net.cfg.max_len)
    with torch.no_grad():
        hidden, table, _ = net(batch["items"], batch["events"], batch["gaps"])  # what _loss reads
        trained = (hidden[:, -1] @ table[1:].T).numpy()
        cand = torch.arange(1, N_ITEMS + 1)
        _, vecs, _ = net(batch["items"], batch["events"], batch["gaps"], cand)  # sampled path
        sampled = (hidden[:, -1] @ vecs.T).numpy()
        targets = torch.zeros_like(batch["items"])
        targets[:, -1] = torch.arange(1, len(hist) + 1)  # one next item per history
        full = replace(ranker.train_config, loss="full")
        loss = _loss(net, batch, targets, full, None, torch.Generator())
    assert float(loss) == pytest.approx(float(torch.nn.functional.cross_entropy(
        torch.as_tensor(served), torch.arange(len(hist)))), rel=1e-4)
    assert np.allclose(served, trained, atol=1e-4)
    assert np.allclose(served, sampled, atol=1e-4)


def test_score_scale_zero_keeps_the_dot_product():
    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=20, max_len=6, dim=16, dropout=0.0)).eval()
    items = torch.tensor([[0, 0, 3, 5, 7, 2]])
    hidden, _ = net.encode(items, last_only=True)
    with torch.no_grad():
        assert torch.allclose(net.score_last(items), hidden[:, -1] @ net.items()[1:].T)
        assert net.score_last(items).abs().max() > 0  # and nothing is normalised away


def test_recency_positions_do_not_depend_on_the_batch_width():
    """Left padding widens a history to its batch's longest one; positions counted from the
    newest event keep its state the same whatever shares its batch."""
    items = torch.tensor([[3, 5, 7]])
    wide = torch.tensor([[0, 0, 0, 3, 5, 7]])
    for recency in (True, False):
        torch.manual_seed(0)
        net = AttentionRankerNet(AttentionConfig(n_items=20, max_len=6, dim=16, dropout=0.0,
                                                 recency_positions=recency)).eval()
        with torch.no_grad():
            same = torch.allclose(net.score_last(items), net.score_last(wide), atol=1e-5)
        assert same == recency


def test_a_linear_schedule_decays_the_rate_to_zero_by_the_last_epoch_or_time_limit():
    from recdash.models.attention.train import lr_factor

    linear = TrainConfig(epochs=4, lr_schedule="linear")
    assert [lr_factor(linear, s, 10) for s in (0, 10, 20, 39, 40)] == \
        pytest.approx([1.0, 0.75, 0.5, 0.025, 0.0])
    assert lr_factor(TrainConfig(epochs=4), 39, 10) == 1.0
    timed = TrainConfig(epochs=100, max_minutes=2.0, lr_schedule="linear")
    assert lr_factor(timed, 10, 10, elapsed_s=90.0) == pytest.approx(0.25)  # time runs out first
