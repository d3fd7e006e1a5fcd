"""Plotly figures of the accuracy/diversity trade-off.

`tradeoff_curve` draws the points of `recdash.rerank.pools.tradeoff` (one per setting) as a line
per method, accuracy against a beyond-accuracy metric, and marks the current setting; a table
without the columns it needs is refused with the fix. An axis whose points all share one value
(the relevance order alone) gets a narrow range around it, as in `recdash.charts`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from recdash.charts import single_value_range

COLORS = {"none": "#555", "mmr": "#3b5bdb", "dpp": "#2e9e6b", "cap": "#f0a53a",
          "calibrate": "#9c36b5", "novelty": "#d9534f"}


def tradeoff_curve(points: pd.DataFrame, current: dict | None, x: str = "ILD",
                   y: str = "NDCG@10") -> go.Figure:
    """Accuracy (`y`) against diversity or coverage (`x`), one line per method.

    Args:
        points: rows of `tradeoff` (method, setting and the metric columns).
        current: the current setting's row (same keys), drawn as a star; or None.
        x, y: metric columns.
    """
    need = {"method", "setting", x, y}
    if not isinstance(points, pd.DataFrame) or not need <= set(points.columns):
        raise ValueError(f"tradeoff_curve needs the table of recdash.rerank.pools.tradeoff with "
                         f"columns {', '.join(sorted(need))}")
    fig = go.Figure()
    for method, rows in points.groupby("method", sort=False):
        fig.add_trace(go.Scatter(
            x=rows[x], y=rows[y], mode="lines+markers", name=str(method),
            text=rows["setting"], line={"color": COLORS.get(str(method), "#888")}, cliponaxis=False,
            hovertemplate="%{text}<br>" + f"{x} %{{x:.4f}}<br>{y} %{{y:.4f}}<extra></extra>"))
    if current is not None:
        fig.add_trace(go.Scatter(
            x=[current[x]], y=[current[y]], mode="markers", name="current setting",
            marker={"symbol": "star", "size": 18, "color": "#111"}, text=[current["setting"]],
            cliponaxis=False,
            hovertemplate="%{text}<br>" + f"{x} %{{x:.4f}}<br>{y} %{{y:.4f}}<extra></extra>"))
    every = {a: list(points[a]) + ([current[a]] if current is not None else []) for a in (x, y)}
    fig.update_layout(title=f"{y} against {x}", margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title=x, range=single_value_range(every[x]), automargin=True)
    fig.update_yaxes(title=y, range=single_value_range(every[y]), automargin=True)
    return fig
