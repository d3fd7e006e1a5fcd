"""Explanations: known answers, Shapley efficiency on a trained attention ranker, the verified
counterfactual, reason lines, shap-shaped slicing, and chart builders that refuse wrong inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap

from recdash.data import schema as S
from recdash.data.dataset import prepare_dataset
from recdash.data.demo import generate_demo_shop
from recdash.data.splits import make_split
from recdash.errors import RecdashError
from recdash.explain import charts
from recdash.explain.attention import AttentionView, attention_view, rollout
from recdash.explain.counterfactual import counterfactual, reason_line
from recdash.explain.explanation import Explanation
from recdash.explain.shapley import explain_history, explain_item_signals, leave_one_out
from recdash.explain.summary import explain_recommendation, global_drivers, quick_explanation
from recdash.recommend import History, Service, top_k
from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig
from recdash.models.base import Recommender, TrainData
from recdash.shopper import history_of


class OneEventDecides(Recommender):
    """Item 'target' scores 5 when item 'key' is in the history, else 0; every other item 1."""

    name = "one-event"

    def __init__(self) -> None:
        super().__init__()
        self._items = np.array(["key", "target", "a", "b", "c", "d"], dtype=object)
        self._popularity = np.zeros(6, dtype=np.float32)
        self._users = pd.Index([])

    def _fit(self, data, progress):
        raise AssertionError("built by hand")

    def _score(self, histories):
        out = np.ones((len(histories), 6), dtype=np.float32)
        out[:, 1] = [5.0 if 0 in set(h.tolist()) else 0.0 for h in histories]
        return out


def test_the_one_event_that_decides_the_score_gets_all_the_attribution() -> None:
    model = OneEventDecides()
    items = np.array([2, 3, 0, 4, 5])  # 'key' is the third event
    expl = explain_history(model, items, np.zeros(5, np.int8), np.full(5, np.nan), [1])[0]
    assert expl.values.tolist() == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert float(expl.base_values) == 0.0 and float(expl.scores) == 5.0
    assert expl.algorithm == "permutation" and expl.n_evals == 20 * 11


def test_leave_one_out_finds_the_deciding_event_in_one_batch() -> None:
    model = OneEventDecides()
    items = np.array([2, 3, 0, 4, 5])
    expl = leave_one_out(model, items, np.zeros(5, np.int8), np.full(5, np.nan), 1)
    assert expl.values.tolist() == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert float(expl.base_values) == 0.0 and expl.n_evals == 7


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small demo shop and an attention ranker trained on it for two epochs."""
    events, catalog = generate_demo_shop(scale=0.08, seed=3)
    ds, report = prepare_dataset("mini", events, catalog)
    assert ds is not None, report.format()
    split = make_split(ds.interactions, ds.catalog, "loo")
    model = AttentionRanker(
        AttentionConfig(n_items=0, max_len=30, dim=16, n_layers=2, n_heads=2, dropout=0.0),
        TrainConfig(epochs=2, device="cpu", seed=0, tune=False),
        run_dir=tmp_path_factory.mktemp("run"))
    model.fit(TrainData.from_split(split, ds.catalog))
    return model, Service(model, ds, split)


def contexts(model, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    users = [u for u in model.user_index if len(model.history_of(u)) >= 3]
    return [(u, *model.context_of(u)) for u in rng.choice(users, n, replace=False)]


def test_base_value_plus_shap_values_equals_the_score_on_many_pairs(shop) -> None:
    model, _ = shop
    rng = np.random.default_rng(1)
    checked = 0
    for _, items, events, times in contexts(model, 25):
        targets = rng.choice(model.n_items, 3, replace=False)
        expl = explain_history(model, items, events, times, targets, max_evals=300, seed=2)
        score = model.score([items], [events], [times])[0, targets]
        assert np.abs(expl.scores - score).max() < 1e-4
        item = explain_item_signals(model, items, events, times, int(targets[0]), seed=2)
        assert abs(float(item.scores) - score[0]) < 1e-4
        assert set(item.feature_names) >= {"ID embedding (learnt from events)", "category"}
        checked += 4
    assert checked == 100


def test_explanations_are_reproducible_under_a_seed_and_leave_numpy_alone(shop) -> None:
    model, _ = shop
    _, items, events, times = contexts(model, 1, seed=5)[0]
    np.random.seed(123)
    first = explain_history(model, items, events, times, [0], max_evals=200, seed=7)
    after = np.random.random()
    np.random.seed(123)
    again = explain_history(model, items, events, times, [0], max_evals=200, seed=7)
    assert np.array_equal(first.values, again.values)
    assert np.random.random() == after  # shap seeds numpy's global generator; it is restored


def test_the_counterfactual_drops_the_item_out_of_the_top_k(shop) -> None:
    model, _ = shop
    found = 0
    for _, items, events, times in contexts(model, 8, seed=3):
        target = int(top_k(model, [History(items, events, times)], 5)[0][0, 0])
        expl = explain_history(model, items, events, times, [target], seed=0)[0]
        cf = counterfactual(model, items, events, times, target, expl, k=5)
        assert cf.rank_before == 1
        if not cf.found:
            continue
        found += 1
        keep = np.setdiff1d(np.arange(len(items)), cf.removed)
        after = top_k(model, [History(items[keep], events[keep], times[keep])], 5)[0][0]
        assert target not in set(after)
        assert cf.rank_after > 5
        # One event fewer (the last one of the greedy order kept) leaves the item in the list.
        fewer = np.setdiff1d(np.arange(len(items)), cf.removed[:-1])
        still = top_k(model, [History(items[fewer], events[fewer], times[fewer])], 5)[0][0]
        assert target in set(still)
    assert found >= 4


def test_attention_view_and_rollout(shop) -> None:
    model, _ = shop
    _, items, events, times = contexts(model, 1, seed=4)[0]
    view = attention_view(model, items, events, times)
    t = min(len(items), 30)
    assert view.per_head.shape == (2, 2, t) and view.head_mean.shape == (2, t)
    assert np.allclose(view.per_head.sum(-1), 1, atol=1e-5)
    assert np.isclose(view.rollout.sum(), 1) and len(view.positions) == t
    # Hand-computed rollout: one layer, one head; position 1 attends only to position 0.
    layer = np.array([[[1.0, 0.0], [1.0, 0.0]]])
    assert np.allclose(rollout([layer]), [[1.0, 0.0], [0.5, 0.5]])
    two = rollout([layer, layer])  # (0.5A + 0.5I) applied twice: row 1 = [0.75, 0.25]
    assert np.allclose(two[1], [0.75, 0.25])
    with pytest.raises(RecdashError, match="no attention"):
        attention_view(OneEventDecides(), items, events, times)


def test_explain_recommendation_names_real_history_events(shop) -> None:
    model, service = shop
    ds = service.dataset
    user = next(u for u in model.user_index if len(model.history_of(u)) >= 6)
    history = history_of(ds.interactions, user)
    top = service.recommend_users([user], k=10)["item_id"].iloc[0]
    stages = []
    why = explain_recommendation(service, history, top, k=10,
                                 progress=lambda f, m: stages.append(f))
    assert stages == sorted(stages) and stages[-1] == 1.0
    assert abs(float(why.shap.scores) - float(why.item_shap.scores)) < 1e-4
    titles = set(ds.catalog[S.TITLE])
    named = [t for t in titles if t in why.reason]
    if why.reason.startswith("Because you"):
        assert named, why.reason
        best = why.history.loc[why.shap.positions[np.argmax(why.shap.values)], S.TITLE]
        assert best in why.reason  # the top SHAP event is the one named first
    with pytest.raises(RecdashError, match="not among the model's items"):
        explain_recommendation(service, history, "no-such-item")
    # The quick first look: leave-one-out in one batch, the same events and attention.
    first = quick_explanation(service, history, top)
    assert first.shap.algorithm == "leave-one-out" and first.counterfactual is None
    assert first.shap.n_evals == len(first.shap.values) + 2
    assert np.array_equal(first.shap.positions, why.shap.positions)
    assert np.allclose(first.attention.rollout, why.attention.rollout)
    assert first.reason.startswith(("Because", "No event"))


def test_reason_line_follows_the_attributions() -> None:
    expl = Explanation(values=[0.1, 2.0, -1.0, 1.0], base_values=0.0, data=[1, 2, 3, 4],
                       feature_names=["a", "b", "c", "d"], item_id="x", kind="history",
                       algorithm="permutation", n_evals=90, seed=0,
                       positions=np.arange(4), events=["view", "purchase", "view", "view"])
    line = reason_line(expl, ["Kettle", "Toaster", "Mug", "Lamp"])
    assert line == "Because you bought Toaster and viewed Lamp."
    flat = Explanation(values=[-1.0, -0.5], base_values=3.0, data=[1, 2], feature_names=["a", "b"],
                       item_id="x", kind="history", algorithm="permutation", n_evals=50, seed=0,
                       positions=np.arange(2), events=["view", "view"])
    assert reason_line(flat, ["A", "B"]).startswith("No event in your history raises it")


def test_explanation_slices_like_shap_and_converts() -> None:
    expl = Explanation(values=np.arange(6.0).reshape(2, 3), base_values=[1.0, 2.0],
                       data=[10, 11, 12], feature_names=["a", "b", "c"], item_id=["x", "y"],
                       kind="history", algorithm="permutation", n_evals=70, seed=0,
                       positions=np.array([4, 5, 6]), events=["view"] * 3)
    row = expl[1]
    assert row.values.tolist() == [3.0, 4.0, 5.0] and float(row.base_values) == 2.0
    assert row.item_id.item() == "y" and float(row.scores) == 14.0
    part = expl[0, :2]
    assert part.values.tolist() == [0.0, 1.0] and part.positions.tolist() == [4, 5]
    assert expl[1:].shape == (1, 3) and row[2].values.item() == 5.0
    converted = row.to_shap()
    assert isinstance(converted, shap.Explanation)
    assert converted.values.tolist() == [3.0, 4.0, 5.0] and converted.feature_names == list("abc")
    with pytest.raises(ValueError, match="base_values must have shape"):
        Explanation(values=np.zeros((2, 3)), base_values=1.0, data=0, feature_names="f",
                    item_id=["x", "y"], kind="history", algorithm="permutation", n_evals=7,
                    seed=0)


def test_global_drivers_add_up_by_category_and_brand(shop) -> None:
    model, service = shop
    users = [u for u in model.user_index if len(model.history_of(u)) >= 3][:6]
    table = global_drivers(service, users, permutations=3)
    assert set(table["facet"]) == {"category", "brand"}
    for _, part in table.groupby("facet"):
        assert np.isclose(part["share"].sum(), 1.0)
    fig = charts.global_summary(table, "brand")
    assert len(fig.data[0].y) == min(15, (table["facet"] == "brand").sum())


def test_chart_builders_draw_and_reject_wrong_inputs(shop) -> None:
    model, _ = shop
    _, items, events, times = contexts(model, 1, seed=6)[0]
    expl = explain_history(model, items, events, times, [0, 1], max_evals=200)
    fig = charts.shap_waterfall(expl[0])
    assert fig.data[0].y[0] == "base value" and fig.data[0].y[-1] == "score"
    assert np.isclose(sum(fig.data[0].x), float(expl[0].scores))  # steps add up to the score
    assert len(charts.shap_bar(expl[1]).data[0].x) == min(len(items), 13)
    same = Explanation(values=[1.0, 2.0], base_values=0.0, data=[1, 1], feature_names=["A", "A"],
                       item_id="x", kind="history", algorithm="permutation", n_evals=50, seed=0)
    labels = charts.shap_waterfall(same).data[0].y
    assert len(set(labels)) == 4  # equal names stay separate steps
    view = attention_view(model, items, events, times)
    heat = charts.attention_heatmap(view, [f"t{i}" for i in range(len(view.positions))])
    assert heat.data[0].z.shape == (2 * 3 + 1, len(view.positions))
    with pytest.raises(ValueError, match=r"pass one of them, e.g. expl\[0\]"):
        charts.shap_waterfall(expl)
    with pytest.raises(TypeError, match="takes a recdash Explanation"):
        charts.shap_bar({"values": [1, 2]})
    with pytest.raises(ValueError, match="one title per event"):
        charts.attention_heatmap(view, ["only one"])
    with pytest.raises(TypeError, match="takes an AttentionView"):
        charts.attention_heatmap(np.zeros((2, 3)), [])
    with pytest.raises(TypeError, match="global_drivers"):
        charts.global_summary(pd.DataFrame({"x": [1]}))
    assert isinstance(view, AttentionView)
