"""Plotly figures of an explanation: the attention heatmap with item titles on its axis, SHAP
waterfall and bar charts (shap's two standard views of one explanation), and the global summary.

Each builder takes only the objects of `recdash.explain` (an AttentionView, an Explanation, the
global drivers table) and returns a `plotly.graph_objects.Figure`; a wrong argument is rejected
with a TypeError or ValueError that says what to pass instead. Margins grow to fit the item
titles on the axes; SHAP values read with 4 decimals, attention weights with 3, shares as
percentages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from recdash.explain.attention import AttentionView
from recdash.explain.explanation import Explanation

UP, DOWN, BASE = "#2e9e6b", "#d9534f", "#8da0cb"
MAX_SHOWN = 12  # players drawn one by one; the rest are summed into one bar
LABEL_CHARS = 48
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}}
HEATMAP_ROW_PX = 28  # height of one heatmap row
HEATMAP_MIN_PX = 180  # the plot area's least height, so the colour bar stays readable
HEATMAP_TOP_PX = 60  # room for the title
HEATMAP_LABEL_PX = 4.5  # rotated (-45 degree) title labels take about this much height per char


def _fit(fig: go.Figure) -> go.Figure:
    """The figure with margins that grow to fit its tick labels (item titles)."""
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _short(text: object) -> str:
    text = str(text)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _unique(labels: list[str]) -> list[str]:
    """Labels made distinct (plotly merges bars of equal category labels)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return out


def _one_row(expl: object, chart: str) -> Explanation:
    if not isinstance(expl, Explanation):
        raise TypeError(f"{chart} takes a recdash Explanation (from explain_history or "
                        f"explain_item_signals); got {type(expl).__name__}")
    if expl.values.ndim != 1:
        raise ValueError(f"{chart} draws one explanation; this one has {expl.values.shape[0]} "
                         "rows: pass one of them, e.g. expl[0]")
    if not len(expl.values):
        raise ValueError(f"{chart} needs at least one player; the explanation is empty")
    return expl


def attention_heatmap(view: object, titles: list[str]) -> go.Figure:
    """The newest position's attention over the history: a row per layer and head, then the
    head average per layer and the rollout; a column per event, labelled with its title.

    Args:
        view: an AttentionView (from attention_view).
        titles: one label per event the model read (len(view.positions)), oldest first.
    """
    if not isinstance(view, AttentionView):
        raise TypeError("attention_heatmap takes an AttentionView (from recdash.explain.attention"
                        f".attention_view); got {type(view).__name__}")
    t = len(view.positions)
    if len(titles) != t:
        raise ValueError(f"attention_heatmap needs one title per event read ({t}); got "
                         f"{len(titles)}: pass the titles of the history at view.positions")
    layers, heads, _ = view.per_head.shape
    rows, labels = [], []
    for layer in range(layers):
        for head in range(heads):
            rows.append(view.per_head[layer, head])
            labels.append(f"layer {layer + 1} head {head + 1}")
        if heads > 1:
            rows.append(view.head_mean[layer])
            labels.append(f"layer {layer + 1} mean")
    rows.append(view.rollout)
    labels.append("rollout")
    x = [f"{i + 1}. {_short(s)}" for i, s in enumerate(titles)]
    # The plot area gets HEATMAP_ROW_PX per row (at least HEATMAP_MIN_PX) and the figure adds
    # the title and the rotated labels below it, so a short history or one layer still draws a
    # colour bar as tall as the plot area, not a sliver.
    area = max(HEATMAP_MIN_PX, HEATMAP_ROW_PX * len(rows))
    labels_px = int(HEATMAP_LABEL_PX * max((len(s) for s in x), default=0)) + 20
    fig = go.Figure(go.Heatmap(
        z=np.asarray(rows), x=x, y=labels, colorscale="Blues",
        colorbar={"title": {"text": "attention weight", "side": "right"}, "thickness": 16,
                  "len": 1.0, "lenmode": "fraction", "tickformat": ".2f"},
        hovertemplate="%{y}<br>%{x}<br>weight %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Attention of the newest position over the history (oldest left)",
                      height=HEATMAP_TOP_PX + area + labels_px,
                      margin={"l": 10, "r": 10, "t": HEATMAP_TOP_PX, "b": labels_px})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _fit(fig)


def _top(expl: Explanation, max_shown: int) -> tuple[list[str], np.ndarray]:
    """Labels and values of the largest |values|, the rest summed as one 'other' bar."""
    order = np.argsort(-np.abs(expl.values), kind="stable")
    shown, rest = order[:max_shown], order[max_shown:]
    labels = _unique([_short(expl.feature_names[i]) for i in shown])
    values = expl.values[shown]
    if len(rest):
        labels.append(f"{len(rest)} other {'events' if expl.kind == 'history' else 'signals'}")
        values = np.append(values, expl.values[rest].sum())
    return labels, values


def shap_waterfall(expl: object, max_shown: int = MAX_SHOWN) -> go.Figure:
    """From the base value (every player removed) to the item's score, one step per player.

    Args:
        expl: one explanation row (e.g. explain_history(...)[0]).
        max_shown: players drawn one by one, largest |value| first.
    """
    expl = _one_row(expl, "shap_waterfall")
    labels, values = _top(expl, max_shown)
    base = float(expl.base_values)
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=["absolute", *["relative"] * len(values), "total"],
        y=["base value", *labels, "score"], x=[base, *values, 0.0],
        increasing={"marker": {"color": UP}}, decreasing={"marker": {"color": DOWN}},
        totals={"marker": {"color": BASE}}, connector={"line": {"color": "#bbb"}},
        hovertemplate="%{y}: %{x:+.4f}<extra></extra>"))
    fig.update_layout(title=f"Why item {expl.item_id} scores {float(expl.scores):.4f}",
                      height=140 + 26 * (len(labels) + 2), **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return _fit(fig)


def shap_bar(expl: object, max_shown: int = MAX_SHOWN) -> go.Figure:
    """SHAP values as bars, largest |value| on top; green raises the score, red lowers it."""
    expl = _one_row(expl, "shap_bar")
    labels, values = _top(expl, max_shown)
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h",
                           marker_color=[UP if v >= 0 else DOWN for v in values],
                           hovertemplate="%{y}: %{x:+.4f}<extra></extra>"))
    what = "history event" if expl.kind == "history" else "item signal"
    fig.update_layout(title=f"SHAP value per {what}", height=120 + 26 * len(labels), **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return _fit(fig)


def global_summary(drivers: object, facet: str = "category", top: int = 15) -> go.Figure:
    """The categories (or brands) whose events push recommendations most, over many shoppers.

    Args:
        drivers: the table of recdash.explain.summary.global_drivers.
        facet: "category" or "brand".
        top: bars drawn.
    """
    need = {"facet", "value", "contribution", "share", "events"}
    if not isinstance(drivers, pd.DataFrame) or not need <= set(drivers.columns):
        raise TypeError("global_summary takes the table of recdash.explain.summary."
                        f"global_drivers (columns {', '.join(sorted(need))})")
    rows = drivers[drivers["facet"] == facet]
    if rows.empty:
        have = ", ".join(sorted(drivers["facet"].unique())) or "none"
        raise ValueError(f"the table has no '{facet}' rows (facets: {have}); the catalog may "
                         "lack that column")
    rows = rows.nlargest(top, "contribution").iloc[::-1]
    fig = go.Figure(go.Bar(
        x=rows["contribution"], y=[_short(v) for v in rows["value"]], orientation="h",
        marker_color=[UP if v >= 0 else DOWN for v in rows["contribution"]],
        customdata=np.c_[rows["share"], rows["events"]],
        hovertemplate="%{y}<br>mean SHAP %{x:.4f}<br>share %{customdata[0]:.0%}"
                      "<br>%{customdata[1]} events<extra></extra>"))
    # Two short lines: the chart sits in half the page's width.
    fig.update_layout(title=f"Which {facet} drives the top recommendation<br>"
                            "<sup>mean SHAP value per shopper, by the history events' "
                            f"{facet}</sup>",
                      height=140 + 24 * len(rows), **_LAYOUT)
    return _fit(fig)
