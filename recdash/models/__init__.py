"""Recommenders: the baselines here, the attention ranker beside them; all share `Recommender`."""

from __future__ import annotations

from typing import Callable

from recdash.models.base import Recommender, TrainData
from recdash.models.ease import EASE, EASEConfig
from recdash.models.itemknn import ItemKNN, ItemKNNConfig
from recdash.models.popularity import Popularity, PopularityConfig

# Each name builds a model with its default settings; compose configs in code for anything else.
BASELINES: dict[str, Callable[[], Recommender]] = {
    "pop": Popularity,
    "pop-recent": lambda: Popularity(PopularityConfig(window_days=30)),
    "itemknn": ItemKNN,
    "ease": EASE,
}

__all__ = ["BASELINES", "EASE", "EASEConfig", "ItemKNN", "ItemKNNConfig", "Popularity",
           "PopularityConfig", "Recommender", "TrainData"]
