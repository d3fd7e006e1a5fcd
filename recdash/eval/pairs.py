"""Evaluation on given (prefix, next item) pairs: the session protocol of published splits.

Session benchmarks (SR-GNN's YOOCHOOSE and DIGINETICA splits, say) publish their test set as
pairs: the items clicked so far in a test session, and the one clicked next. Scoring exactly
those pairs reproduces the published protocol: each prefix is ranked against every candidate
item (full ranking), items already in the prefix stay candidates (the next click may repeat
one), and P@K (the hit rate: the next item is in the top K), MRR@K and NDCG@K are averaged over
pairs. A next item the training data never saw counts as a miss, as in the published protocol.
The pairs file is tab-separated with columns `prefix` (item IDs separated by spaces) and
`next_item`, and optionally `session_id`, whose sessions are then kept out of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recdash.errors import DataFileError
from recdash.progress import Progress

PAIR_COLUMNS = ("prefix", "next_item")
SCORE_CELLS = 20_000_000  # prefixes x items scored at once (80 MB of float32)


@dataclass(frozen=True)
class Pairs:
    """Test pairs as the shop's item IDs.

    Attributes:
        prefixes: each pair's prefix, oldest first.
        targets: (P,) each pair's next item.
        sessions: the sessions the pairs come from (empty when the file has no session_id).
    """

    prefixes: list[list[str]]
    targets: np.ndarray
    sessions: frozenset[str]

    def __len__(self) -> int:
        return len(self.targets)


def read_pairs(path: str | Path) -> Pairs:
    """The pairs of a TSV file (gzip allowed), with a header naming its columns.

    Raises:
        DataFileError: a missing file or column, or an empty prefix, naming the line.
    """
    from recdash.data.readers import read_table

    name = Path(path).name
    frame = read_table(path, name, delimiter="\t")
    missing = [c for c in PAIR_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFileError(name, f"column(s) {', '.join(missing)} not found; the file has: "
                            f"{', '.join(frame.columns)}", "write a header line: prefix<TAB>"
                            "next_item (and session_id, to keep those sessions out of training)",
                            code="missing_column")
    prefixes = frame["prefix"].fillna("").str.split().tolist()
    empty = [i for i, p in enumerate(prefixes) if not p]
    if empty or frame["next_item"].isna().any():
        line = (empty or list(np.flatnonzero(frame["next_item"].isna())))[0] + 2
        raise DataFileError(name, f"line {line} has an empty prefix or next item",
                            "give every pair at least one prefix item and its next item",
                            row=line, code="malformed_rows")
    sessions = frozenset(frame["session_id"].dropna()) if "session_id" in frame else frozenset()
    return Pairs(prefixes, frame["next_item"].to_numpy(dtype=object), sessions)


def evaluate_pairs(model, items: np.ndarray, pairs: Pairs, ks: tuple[int, ...] = (20,),
                   progress: Progress | None = None) -> dict[str, float]:
    """P@K, MRR@K and NDCG@K of `model` over `pairs`, full ranking, repeats allowed.

    Args:
        model: a fitted Recommender (scores internal item indices).
        items: (I,) the model's item IDs; position = internal index.
        pairs: the test pairs.
        ks: list lengths.
        progress: receives (fraction done, message).

    Returns:
        {"P@20": ..., "MRR@20": ..., "NDCG@20": ..., "pairs": P, "unknown_targets": n,
        "repeat_share": the share of pairs whose next item is already in the prefix}.
    """
    index = pd.Index(items)
    target = index.get_indexer(pairs.targets)  # -1: never seen in training: a miss
    coded = [index.get_indexer(p) for p in pairs.prefixes]
    coded = [c[c >= 0] for c in coded]  # prefix items never seen in training are unknown
    ranks = np.full(len(pairs), np.inf)
    batch = max(1, SCORE_CELLS // max(len(items), 1))
    for lo in range(0, len(pairs), batch):
        rows = np.arange(lo, min(lo + batch, len(pairs)))
        known = rows[target[rows] >= 0]
        if len(known):
            scores = model.score([coded[i] for i in known])  # (b, I)
            mine = scores[np.arange(len(known)), target[known]][:, None]
            # Ties are broken at random, in expectation: half the items tied with the target
            # rank above it (a model that scores many items alike gains nothing from it).
            ranks[known] = 1 + (scores > mine).sum(axis=1) + \
                0.5 * ((scores == mine).sum(axis=1) - 1)
        if progress:
            progress(rows[-1] / len(pairs), f"{rows[-1] + 1:,}/{len(pairs):,} pairs ranked")
    repeat = np.array([t in set(p) for p, t in zip(pairs.prefixes, pairs.targets)])
    out: dict[str, float] = {"pairs": float(len(pairs)),
                             "unknown_targets": float((target < 0).sum()),
                             "repeat_share": float(repeat.mean()) if len(repeat) else 0.0}
    for k in ks:
        hit = ranks <= k
        out[f"P@{k}"] = float(hit.mean())
        out[f"MRR@{k}"] = float(np.where(hit, 1.0 / ranks, 0.0).mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0).mean())
    return out
