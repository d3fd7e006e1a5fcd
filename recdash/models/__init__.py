"""Recommenders: the baselines here, the attention ranker beside them; all share `Recommender`.

The kinds a run can train, with their names and default settings, are listed once, in
`recdash.runs.registry.MODELS`.
"""

from __future__ import annotations

from recdash.models.base import Recommender, TrainData
from recdash.models.ease import EASE, EASEConfig
from recdash.models.itemknn import ItemKNN, ItemKNNConfig
from recdash.models.popularity import Popularity, PopularityConfig
from recdash.models.rules import RulesConfig, SequentialRules
from recdash.models.sknn import SessionKNN, SessionKNNConfig

__all__ = ["EASE", "EASEConfig", "ItemKNN", "ItemKNNConfig", "Popularity", "PopularityConfig",
           "Recommender", "RulesConfig", "SequentialRules", "SessionKNN", "SessionKNNConfig",
           "TrainData"]
