"""The trade-off curve on hand-made points: a lone point gets a range around it, the current
setting is drawn unclipped."""

from __future__ import annotations

import pandas as pd
import pytest

from recdash.rerank.charts import tradeoff_curve


def test_the_relevance_order_alone_is_drawn_around_its_point() -> None:
    point = {"method": "none", "setting": "Relevance only", "ILD": 0.25, "NDCG@10": 0.049}
    fig = tradeoff_curve(pd.DataFrame([point]), point, "ILD", "NDCG@10")
    assert fig.layout.xaxis.range == pytest.approx([0.2, 0.3])
    assert fig.layout.yaxis.range == pytest.approx([0.039, 0.059])  # at least 0.01 either side
    assert all(trace.cliponaxis is False for trace in fig.data)  # the star at an edge is whole


def test_a_curve_keeps_plotly_autorange() -> None:
    points = pd.DataFrame({"method": ["none", "mmr"], "setting": ["Relevance only", "MMR 0.5"],
                           "ILD": [0.2, 0.6], "NDCG@10": [0.05, 0.04]})
    fig = tradeoff_curve(points, None)
    assert fig.layout.xaxis.range is None and fig.layout.yaxis.range is None
    assert fig.layout.xaxis.title.text == "ILD" and fig.layout.xaxis.automargin
    with pytest.raises(ValueError, match="columns"):
        tradeoff_curve(points.drop(columns="ILD"), None)
