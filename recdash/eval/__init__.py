"""Evaluation: full-ranking metrics with their protocol, per segment."""
