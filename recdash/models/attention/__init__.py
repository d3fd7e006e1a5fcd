"""The attention ranker: a SASRec-family transformer with a pretrained text tower."""

from recdash.models.attention.model import AttentionConfig, AttentionRankerNet
from recdash.models.attention.ranker import AttentionRanker
from recdash.models.attention.train import TrainConfig, TrainEvent, TrainResult

__all__ = ["AttentionConfig", "AttentionRanker", "AttentionRankerNet", "TrainConfig",
           "TrainEvent", "TrainResult"]
