"""The explanation charts' layout on a hand-made attention view: a colour bar that is readable
however short the history, margins that fit the item titles."""

from __future__ import annotations

import numpy as np

from recdash.explain import charts
from recdash.explain.attention import AttentionView
from recdash.explain.explanation import Explanation


def view(layers: int = 1, heads: int = 1, t: int = 3) -> AttentionView:
    per_head = np.full((layers, heads, t), 1.0 / t)  # (layers, heads, T)
    return AttentionView(per_head, per_head.mean(1), np.full(t, 1.0 / t), np.arange(t))


def test_a_short_heatmap_still_has_a_readable_colour_bar() -> None:
    titles = ["A very long product title that fills all forty-eight characters!!"] * 3
    fig = charts.attention_heatmap(view(), titles)
    bar = fig.data[0].colorbar
    assert bar.title.text == "attention weight"
    assert bar.lenmode == "fraction" and bar.len == 1.0 and bar.thickness >= 12
    margin = fig.layout.margin
    plot_area = fig.layout.height - margin.t - margin.b
    assert plot_area >= charts.HEATMAP_MIN_PX  # 2 rows, yet a bar tall enough to read
    longest = max(len(x) for x in fig.data[0].x)
    assert margin.b >= 4 * longest  # room for the rotated titles below the plot area
    assert fig.layout.xaxis.automargin and fig.layout.yaxis.automargin


def test_a_tall_heatmap_grows_with_its_rows() -> None:
    fig = charts.attention_heatmap(view(layers=4, heads=4), ["t1", "t2", "t3"])
    rows = 4 * (4 + 1) + 1  # heads and a mean per layer, then the rollout
    margin = fig.layout.margin
    assert fig.layout.height - margin.t - margin.b == charts.HEATMAP_ROW_PX * rows


def test_shap_charts_fit_their_labels() -> None:
    expl = Explanation(values=np.array([0.5, -0.25]), base_values=0.1,
                       data=np.array(["a", "b"]), feature_names=["a long title", "another"],
                       item_id="i1", kind="history", algorithm="permutation", n_evals=10,
                       seed=0)
    for fig in (charts.shap_waterfall(expl), charts.shap_bar(expl)):
        assert fig.layout.yaxis.automargin
    assert "0.3500" in charts.shap_waterfall(expl).layout.title.text  # 4 decimals, like SHAP
