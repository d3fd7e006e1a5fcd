"""Full-ranking evaluation of any recommender on a split, in batches, with segments.

Every user is scored against every candidate item; a batch of users at a time so that memory
stays bounded for million-item catalogs (never a users x items matrix). Results carry their
protocol and per-segment breakdowns: cold/warm users, and targets that are cold (unseen in
training), head or tail items.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from recdash.data import schema as S
from recdash.data.splits import Split
from recdash.eval import metrics as M
from recdash.eval import segments
from recdash.eval.protocol import Protocol
from recdash.progress import Progress

SCORE_BUDGET_BYTES = 256 * 1024**2  # one batch's score matrix


@dataclass
class EvalResult:
    """Metrics of one model on one split stage.

    Attributes:
        protocol: how they were measured.
        metrics: overall values, e.g. {"NDCG@10": 0.18, "Coverage@10": 0.41, ...}.
        segments: segment -> {"users": n, metric: value} (accuracy metrics only).
        notes: facts a reader should know (e.g. unreachable repeat targets).
        seconds: wall time of the evaluation.
    """

    protocol: Protocol
    metrics: dict[str, float]
    segments: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"protocol": self.protocol.to_dict(), "metrics": self.metrics,
                "segments": self.segments, "notes": self.notes, "seconds": self.seconds}

    def table(self) -> pd.DataFrame:
        """Segments as rows, metrics as columns."""
        return pd.DataFrame(self.segments).T

    def format(self) -> str:
        lines = [f"Protocol: {self.protocol.label()}"]
        lines += [f"  {k:<16} {v:.4f}" for k, v in self.metrics.items()]
        lines.append("Segments:")
        lines.append(self.table().to_string(float_format=lambda v: f"{v:.4f}"))
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _labels(split: Split, catalog: pd.DataFrame | None) -> np.ndarray | None:
    if catalog is None or catalog[S.CATEGORY].isna().all():
        return None
    cats = catalog.set_index(S.ITEM)[S.CATEGORY]
    cats = cats[~cats.index.duplicated()].reindex(pd.Index(split.items))
    codes, _ = pd.factorize(cats)
    # A missing category is a label of its own, equal to no other item's.
    missing = codes < 0
    codes[missing] = -1 - np.flatnonzero(missing)
    return codes


def _padded_targets(targets, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lists = [np.unique(targets[r]) for r in rows]
    n = np.array([len(t) for t in lists])
    pad = np.full((len(lists), max(1, n.max(initial=1))), -1, dtype=np.int64)
    for i, t in enumerate(lists):
        pad[i, : len(t)] = t
    return pad, n


def evaluate(model, split: Split, *, stage: str = "test",
             ks: tuple[int, ...] = (10, 20, 50), exclude_seen: bool = True,
             catalog: pd.DataFrame | None = None, item_vectors: np.ndarray | None = None,
             max_users: int | None = None, seed: int = 0,
             progress: Progress | None = None) -> EvalResult:
    """Full-ranking metrics of a fitted model on one stage of a split.

    Args:
        model: a fitted recommender (anything with `score(histories, events, times)`), fitted
            on `split`'s training part (same item indices).
        split: the split.
        stage: "test" (history = everything before the test target) or "valid".
        ks: list lengths.
        exclude_seen: remove the user's history items from the ranking.
        catalog: enables category intra-list diversity.
        item_vectors: (I, d) enables vector intra-list diversity.
        max_users: evaluate a fixed random sample of this many users (e.g. for early stopping).
        seed: the sample's seed.
        progress: callback(fraction, message).

    Returns:
        The EvalResult with overall and per-segment metrics.
    """
    start = time.perf_counter()
    st = split.stage(stage)
    if max_users and max_users < len(st.users):
        st = _sample(st, max_users, seed)
    ks = tuple(sorted(set(int(k) for k in ks)))
    kmax = min(max(ks), split.n_items)
    train = split.train()
    counts = np.bincount(train.items, minlength=split.n_items).astype(np.float64)
    pairs = np.sort(np.repeat(np.arange(len(train)), train.lengths) * split.n_items
                    + train.items.astype(np.int64))
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]  # distinct (user, item)
    info = M.self_information(np.bincount(pairs % split.n_items, minlength=split.n_items),
                              len(split.users))
    labels = _labels(split, catalog)
    per_user: dict[str, list[np.ndarray]] = {}
    shown = {k: np.zeros(split.n_items, dtype=bool) for k in ks}
    unreachable = repeats = 0
    batch = max(1, min(4096, SCORE_BUDGET_BYTES // (4 * split.n_items)))
    n = len(st.users)
    for lo in range(0, n, batch):
        rows = np.arange(lo, min(n, lo + batch))
        hist, events, times = split.sequences.select_context(st.users[rows], st.cut[rows])
        scores = torch.from_numpy(model.score(hist, events, times))
        if exclude_seen:
            mask_seen_(scores, hist)
        targets, n_targets = _padded_targets(st.targets, rows)
        gathered = scores.gather(1, torch.from_numpy(np.maximum(targets, 0)))
        unreachable += int(((gathered == float("-inf")).numpy() & (targets >= 0)).sum())
        repeats += _repeat_rows(hist, targets, split.n_items)
        top = torch.topk(scores, kmax, dim=1).indices.numpy()
        hits = M.hit_matrix(top, targets)
        values: dict[str, np.ndarray] = {}
        for k in ks:
            kk = min(k, kmax)
            # Named at k even when the catalog is shorter than k (every item is then listed).
            values.update({f"{name.partition('@')[0]}@{k}": v
                           for name, v in M.accuracy(hits, n_targets, kk).items()})
            shown[k][top[:, :kk]] = True
            values[f"Novelty@{k}"] = M.novelty(top[:, :kk], info)
            values[f"AvgPop@{k}"] = M.average_popularity(top[:, :kk], counts)
            if labels is not None:
                values[f"ILD-category@{k}"] = M.intra_list_diversity_labels(top[:, :kk], labels)
            if item_vectors is not None:
                values[f"ILD-vector@{k}"] = M.intra_list_diversity_vectors(top[:, :kk],
                                                                           item_vectors)
        values["_first_target"] = targets[:, 0].astype(np.float64)
        for key, v in values.items():
            per_user.setdefault(key, []).append(v)
        if progress:
            progress(rows[-1] / max(1, n - 1), f"evaluated {rows[-1] + 1:,}/{n:,} " + (
                "prefixes" if split.kind == "sessions" else "users"))
    arrays = {k: np.concatenate(v) for k, v in per_user.items()} if n else {}
    metrics = {k: float(v.mean()) for k, v in arrays.items() if not k.startswith("_")}
    for k in ks:
        metrics[f"Coverage@{k}"] = float(shown[k].mean())
    protocol = Protocol(split.kind, stage, "full", split.n_items, split.candidates, ks,
                        exclude_seen, split.kcore, n)
    notes = list(split.notes)
    if repeats:
        notes.append(f"{repeats / n:.1%} of the targets repeat an item already in their "
                     "history (a repeat purchase or a return to a viewed item)")
    if unreachable:
        notes.append(f"{unreachable:,} target(s) are items already in the user's history, which "
                     "the seen-item filter makes unreachable; evaluate with exclude_seen=False "
                     "(--keep-seen) for repeat-purchase shops")
    segments = _segments(arrays, st.cut, counts) if n else {}
    return EvalResult(protocol, metrics, segments, notes, time.perf_counter() - start)


def _repeat_rows(hist: Sequence[np.ndarray], targets: np.ndarray, n_items: int) -> int:
    """How many rows have a target (padded with -1) already in their history (a (B, I) bool
    mask, a quarter of the batch's scores)."""
    lengths = np.array([len(h) for h in hist], dtype=np.int64)
    if not lengths.sum():
        return 0
    seen = torch.zeros((len(hist), n_items), dtype=torch.bool)
    seen[torch.from_numpy(np.repeat(np.arange(len(hist)), lengths)),
         torch.from_numpy(np.concatenate(hist).astype(np.int64))] = True
    hit = seen.gather(1, torch.from_numpy(np.maximum(targets, 0))) & \
        torch.from_numpy(targets >= 0)
    return int(hit.any(dim=1).sum())


def mask_seen_(scores: torch.Tensor, histories: Sequence[np.ndarray]) -> None:
    """Set each row's history items to -inf, in place."""
    lengths = [len(h) for h in histories]
    if not sum(lengths):
        return
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.concatenate([h for h in histories if len(h)]).astype(np.int64)
    scores[torch.from_numpy(rows), torch.from_numpy(cols)] = float("-inf")


def _sample(st, n: int, seed: int):
    from recdash.data.splits import Stage
    from recdash.data.sequences import Sequences

    rows = np.sort(np.random.default_rng(seed).choice(len(st.users), n, replace=False))
    t = st.targets
    parts = [np.arange(t.offsets[r], t.offsets[r + 1]) for r in rows]
    take = np.concatenate(parts)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return Stage(st.users[rows], st.cut[rows],
                 Sequences(offsets, t.items[take], t.events[take], t.times[take]))


def _segments(arrays: dict[str, np.ndarray], cuts: np.ndarray,
              counts: np.ndarray) -> dict[str, dict[str, float]]:
    target = arrays["_first_target"].astype(np.int64)
    target_count = counts[target]
    head = segments.head_items(counts)
    cold = segments.cold_users(cuts)
    masks = {
        "all": np.ones(len(cuts), dtype=bool),
        "cold users": cold,
        "warm users": ~cold,
        "head items": head[target],
        "tail items": ~head[target] & (target_count > 0),
        "cold items": target_count == 0,
    }
    accuracy = [k for k in arrays if k.split("@")[0] in ("HR", "Recall", "NDCG", "MRR")]
    out = {}
    for name, mask in masks.items():
        row: dict[str, float] = {"users": int(mask.sum())}
        for k in accuracy:
            row[k] = float(arrays[k][mask].mean()) if mask.any() else float("nan")
        out[name] = row
    return out
