"""Re-ranking for diversity: MMR, DPP, category caps, calibration and a novelty boost over a
candidate pool from any model, the metrics beside accuracy, candidate pools with a trade-off
curve, and named presets stored in the workspace.

- `methods`: pure functions (candidates' relevance and vectors in, a permutation out).
- `metrics`: intra-list diversity, category and catalog coverage, novelty, calibration KL.
- `setting`: one frozen setting (method, strength, similarity), item context, `rerank` of a list.
- `pools`: each sampled shopper's top candidates scored once; a setting re-ranks them all and is
  scored against the held-out events (the trade-off curve).
- `presets`: named settings kept in the workspace (`presets.json`, replaced atomically).
"""
