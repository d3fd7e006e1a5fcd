"""The attention ranker: a SASRec-family transformer with a pretrained text tower."""

from recdash.models.attention.config import AttentionConfig, AttentionSettings, TrainConfig
from recdash.models.attention.model import AttentionRankerNet
from recdash.models.attention.ranker import AttentionRanker
from recdash.models.attention.train import TrainEvent, TrainResult

__all__ = ["AttentionConfig", "AttentionRanker", "AttentionRankerNet", "AttentionSettings",
           "TrainConfig", "TrainEvent", "TrainResult"]
