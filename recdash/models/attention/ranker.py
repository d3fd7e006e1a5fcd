"""The attention ranker as a Recommender: fit (features + training), score, explain, reload.

This is the serving side: it builds item features from the catalog (and precomputed text
embeddings), hands the network to `train.train_ranker`, and scores histories with the trained
network. `AttentionRanker.load(run_dir)` restores a trained ranker from its checkpoint alone.
"""

from __future__ import annotations

import math
import shutil
import time

from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from recdash.data.sequences import Sequences
from recdash.eval.evaluate import evaluate
from recdash.models.attention.checkpoint import load_checkpoint
from recdash.models.attention.features import build_item_features, features_to_tower, pad_batch
from recdash.models.attention.config import REPEAT_BONUS_MIN_SHARE, TUNE_EVENTS, TUNE_SHARE, \
    TUNE_TRIALS, AttentionConfig, TrainConfig, resolve_loss, with_changes
from recdash.models.attention.model import AttentionRankerNet, RepeatPairs, add_bonus
from recdash.models.attention.train import TrainEvent, TrainResult, resolve_device, \
    train_ranker
from recdash.models.base import Progress, Recommender, TrainData
from recdash.settings import from_dict

SCORE_BATCH = 256  # histories per forward pass when scoring
TUNE_DIR = "tune"  # trials train in run folder/tune/<n>; the chosen one is copied up


class AttentionRanker(Recommender):
    """Causal transformer over the shopper's sequence, items described by ID, text and catalog.

    Args:
        model: network settings (n_items is filled in at fit time).
        train: training settings.
        run_dir: checkpoint folder for training (a temporary one when None).
        text: (I, 384) text embeddings aligned with the split's items, when use_text is on.
        on_event: receives rich TrainEvents (the studio charts them).
    """

    name = "attention"

    def __init__(self, model: AttentionConfig | None = None, train: TrainConfig | None = None,
                 run_dir: str | Path | None = None, text: np.ndarray | None = None,
                 on_event: Callable[[TrainEvent], None] | None = None) -> None:
        super().__init__()
        self.model_config = model or AttentionConfig(n_items=0)
        self.train_config = train or TrainConfig()
        self.run_dir = Path(run_dir) if run_dir else None
        self.text = text
        self.on_event = on_event
        self.net: AttentionRankerNet | None = None
        self.result: TrainResult | None = None
        self.device = torch.device("cpu")

    def _fit(self, data: TrainData, progress: Progress | None) -> None:
        split = data.split
        if split is None:
            raise ValueError("AttentionRanker needs TrainData.from_split(...) (validation data "
                             "drives early stopping)")
        trials = self.trials(split)
        if trials:
            self._fit_tuned(data, progress, trials)
            return
        feats = build_item_features(split.items, data.catalog, self.text)
        cfg = replace(self.model_config, n_items=split.n_items,
                      use_text=self.model_config.use_text and self.text is not None,
                      n_categories=feats.n_categories, n_brands=feats.n_brands,
                      n_price_bands=feats.n_price_bands,
                      repeat_bonus=resolve_repeat_bonus(self.model_config.repeat_bonus,
                                                        split.train()))
        if not (cfg.use_id or cfg.use_text or cfg.n_categories or cfg.n_brands):
            raise ValueError("the item tower has no input: switch on use_id, or give text "
                             "embeddings / a catalog with categories")
        self.model_config = cfg
        torch.manual_seed(self.train_config.seed)  # initialisation is part of the seeded run
        self.net = AttentionRankerNet(cfg)
        features_to_tower(self.net.items, feats, self.popularity > 0)
        run_dir = self.run_dir or Path(_tempdir())
        self.device = resolve_device(self.train_config.device)
        self.train_config = replace(self.train_config, loss=resolve_loss(
            self.train_config.loss, split.n_items, self.device.type))

        def validate(net: AttentionRankerNet) -> float:
            if not len(split.valid.users):  # a refit on every event: nothing is held out
                return float("nan")
            res = evaluate(self, split, stage="valid", ks=(10,),
                           exclude_seen=self.train_config.valid_exclude_seen,
                           max_users=self.train_config.valid_users or None)
            return res.metrics["NDCG@10"]

        def forward_progress(ev: TrainEvent) -> None:
            if self.on_event:
                self.on_event(ev)
            if progress:
                shown = ev.valid_ndcg is not None and not math.isnan(ev.valid_ndcg)
                msg = f"epoch {ev.epoch}/{ev.epochs} loss {ev.loss:.3f}" + (
                    f" valid NDCG@10 {ev.valid_ndcg:.4f}" if shown else "")
                progress(ev.fraction, msg)

        self.result = train_ranker(self.net, split, self.train_config, run_dir, validate,
                                   forward_progress)
        self.net.eval()

    def trials(self, split) -> list[dict]:
        """The settings changes tuning tries on this split (the run's own settings first), or
        [] when it does not tune: switched off, nothing to validate on, or a log outside
        TUNE_EVENTS."""
        if not self.train_config.tune or not len(split.valid.users):
            return []
        low, high = TUNE_EVENTS
        return [{}, *TUNE_TRIALS] if low <= len(split.train().items) <= high else []

    def _fit_tuned(self, data: TrainData, progress: Progress | None,
                   trials: list[dict]) -> None:
        """Train each trial in a folder of its own with an equal share of TUNE_SHARE of the time
        limit, let the best on validation train on with what is left of it, and make its
        network, settings and checkpoints this run's."""
        run_dir = self.run_dir or Path(_tempdir())
        limit = self.train_config.max_minutes
        share = limit * TUNE_SHARE / len(trials)
        start = time.time()
        # Trials report the first part of the progress bar, the best one's further training the rest.
        head = TUNE_SHARE if limit else 1.0
        tried, best, chosen = [], None, {}
        for i, change in enumerate(trials):
            model, train = with_changes(self.model_config, self.train_config, change,
                                        tune=False, max_minutes=share)
            sub = AttentionRanker(model, train, run_dir / TUNE_DIR / str(i), self.text,
                                  self.on_event)
            label = ", ".join(f"{k} {v}" for k, v in change.items()) or "the run's settings"
            sub.fit(data, progress=_trial_progress(progress, i, len(trials), label, head))
            tried.append({"settings": change, "valid_ndcg": sub.result.best_ndcg,
                          "best_epoch": sub.result.best_epoch, "seconds": sub.result.seconds})
            if best is None or sub.result.best_ndcg > best.result.best_ndcg:
                best, chosen = sub, change
        left = limit - (time.time() - start) / 60
        if limit and left > 0 and best.result.stopped == "time limit":
            # The same network and settings, resumed from the trial's last checkpoint.
            more = AttentionRanker(best.model_config, replace(best.train_config, max_minutes=left),
                                   best.run_dir, self.text, self.on_event)
            label = ", ".join(f"{k} {v}" for k, v in chosen.items()) or "the run's settings"
            more.fit(data, progress=None if progress is None else lambda f, m: progress(
                head + (1 - head) * f, f"best settings ({label}), training on: {m}"))
            best = more
        shutil.copytree(best.run_dir, run_dir, dirs_exist_ok=True)  # pointers name folders
        shutil.rmtree(run_dir / TUNE_DIR, ignore_errors=True)
        self.net, self.model_config, self.device = best.net, best.model_config, best.device
        self.train_config = replace(best.train_config, max_minutes=self.train_config.max_minutes)
        self.result = replace(best.result, trials=tried, chosen=chosen)
        self.net.eval()

    @torch.inference_mode()
    def user_vectors(self, histories: Sequence[np.ndarray],
                     events: Sequence[np.ndarray] | None = None,
                     times: Sequence[np.ndarray] | None = None) -> torch.Tensor:
        """(B, d) the network's session vector after each history's newest event (on the model's
        device), as scores read it (`AttentionRankerNet.session_vectors`); zeros for an empty
        history, which the network reads as no events at all.

        Args:
            histories: B arrays of internal item indices, oldest first (cut to max_len).
            events: matching event codes, or None (views).
            times: matching epoch seconds (NaN = unknown), or None.
        """
        return self._sessions(histories, events, times)[0]

    @torch.inference_mode()
    def _sessions(self, histories: Sequence[np.ndarray],
                  events: Sequence[np.ndarray] | None = None,
                  times: Sequence[np.ndarray] | None = None
                  ) -> tuple[torch.Tensor, RepeatPairs | None]:
        """`user_vectors`, and the repeat bonus the histories give their own items
        (`AttentionRankerNet.repeat_pairs`, rows numbered as `histories`; None when off)."""
        self._check_fitted()
        net = self.net
        was_training = net.training
        if was_training:  # switching modes walks every module: only when needed
            net.eval()
        out = torch.zeros(len(histories), net.cfg.dim, device=self.device)
        keep = [i for i, h in enumerate(histories) if len(h)]
        bonus = []
        for lo in range(0, len(keep), SCORE_BATCH):
            rows = torch.as_tensor(keep[lo:lo + SCORE_BATCH], device=self.device)
            batch = pad_batch([histories[i] for i in rows.tolist()],
                              [events[i] for i in rows.tolist()] if events is not None else None,
                              [times[i] for i in rows.tolist()] if times is not None else None,
                              net.cfg.max_len, self.device)
            hidden, _ = net.encode(batch["items"], batch["events"], batch["gaps"],
                                   last_only=True)
            out[rows] = net.session_vectors(hidden[:, -1]).to(out.dtype)
            pairs = net.repeat_pairs(batch["items"], last_only=True)
            if pairs is not None:
                bonus.append(pairs._replace(rows=rows[pairs.rows]))
        if was_training:
            net.train()
        if net.repeat_bonus is None:
            return out, None
        if not bonus:
            empty = torch.zeros(0, dtype=torch.long, device=self.device)
            return out, RepeatPairs(empty, empty, empty, torch.zeros(0, device=self.device))
        return out, RepeatPairs(*(torch.cat(part) for part in zip(*bonus)))

    @torch.inference_mode()
    def item_table(self, targets: np.ndarray | None = None) -> torch.Tensor:
        """(I, d) the network's item vectors, or (R, d) those of `targets` (internal indices)."""
        self._check_fitted()
        table = self._item_table()
        return table if targets is None else table[torch.as_tensor(
            np.asarray(targets, dtype=np.int64), device=table.device)]

    @torch.inference_mode()
    def score_targets(self, histories: Sequence[np.ndarray], events: Sequence[np.ndarray],
                      times: Sequence[np.ndarray], targets: np.ndarray) -> np.ndarray:
        """(B, R) float64 scores of `targets` only, without scoring the catalog. Unlike `score`,
        an empty history scores 0 here: the network's own output for no events (explanations
        need every value on the network's scale; `score` serves popularity instead)."""
        users, pairs = self._sessions(histories, events, times)
        scores = users @ self.item_table(targets).T
        if pairs is not None:
            cols = torch.as_tensor(np.asarray(targets, dtype=np.int64), device=scores.device)
            order = torch.argsort(cols)
            scores[:, order] = add_bonus(scores[:, order], pairs.rows, pairs.items,
                                         pairs.weights, columns=cols[order])
        return scores.double().cpu().numpy()

    @torch.inference_mode()
    def _score_context(self, histories: Sequence[np.ndarray],
                       events: Sequence[np.ndarray] | None,
                       times: Sequence[np.ndarray] | None) -> np.ndarray:
        table = self._item_table()  # (I, d)
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        for lo in range(0, len(histories), SCORE_BATCH):
            sl = slice(lo, lo + SCORE_BATCH)
            users, pairs = self._sessions(histories[sl], events[sl] if events else None,
                                          times[sl] if times else None)  # (b, d)
            scores = users @ table.T
            if pairs is not None:
                scores = add_bonus(scores, pairs.rows, pairs.items, pairs.weights)
            out[sl] = scores.float().cpu().numpy()
        return out

    def _score(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self._score_context(histories, None, None)

    def _item_table(self) -> torch.Tensor:
        """(I, d) item vectors, recomputed only when a parameter or buffer has changed (tensor
        version counters move on every in-place update, training steps included)."""
        net = self.net
        if getattr(self, "_modules_of", (None,))[0] is not net:  # walked once per network
            self._modules_of = (net, tuple(net.modules()))
        # Each module's own dicts, read afresh: a moved or reassigned buffer is seen, without
        # the recursive walk of parameters() and buffers() on every call (a search's share).
        tensors = [t for m in self._modules_of[1]
                   for t in (*m._parameters.values(), *m._buffers.values()) if t is not None]
        key = (str(tensors[0].device), tuple((t.data_ptr(), t._version) for t in tensors))
        if getattr(self, "_table_key", None) != key:
            self._table = self.net.item_table()[1:]
            self._table_key = key
        return self._table

    @torch.inference_mode()
    def attention(self, history: np.ndarray, events: np.ndarray | None = None,
                  times: np.ndarray | None = None) -> list[np.ndarray]:
        """Per layer, the (heads, T, T) attention weights over one history (oldest first)."""
        self._check_fitted()
        self.net.eval()
        batch = pad_batch([history], [events] if events is not None else None,
                          [times] if times is not None else None, self.net.cfg.max_len,
                          self.device)
        _, maps = self.net.encode(batch["items"], batch["events"], batch["gaps"],
                                  return_attention=True)
        return [m[0].float().cpu().numpy() for m in maps]

    def item_vectors(self) -> np.ndarray:
        """(I, dim) the network's item vectors as NumPy (for diversity and similarity)."""
        return self.item_table().float().cpu().numpy()

    @classmethod
    def load(cls, path: str | Path, data: TrainData | None = None,
             device: str = "cpu") -> "AttentionRanker":
        """A trained ranker from a checkpoint (run folder or checkpoint folder).

        Args:
            path: the run folder (its best checkpoint is used) or a checkpoint folder.
            data: training data for the users' histories and popularity (optional: without it
                only explicit histories can be scored).
            device: where to run.
        """
        ck = load_checkpoint(path)
        cfg = from_dict(AttentionConfig, ck.model_config, str(path), stored=True)
        net = AttentionRankerNet(cfg)
        net.load_state_dict(ck.weights)
        items = np.asarray(ck.items, dtype=object)
        if data is not None and list(map(str, data.items)) != list(items):
            raise ValueError("the checkpoint's items differ from the data's; load the dataset "
                             "the run was trained on")
        return cls.from_network(net, items, data, device,
                                from_dict(TrainConfig, {**ck.train_config, "device": device},
                                          str(path), stored=True))

    @classmethod
    def from_network(cls, net: AttentionRankerNet, items: Sequence[object],
                     data: TrainData | None = None, device: str = "cpu",
                     train: TrainConfig | None = None) -> "AttentionRanker":
        """A ranker that serves `net` (trained or not) for `items`, without training.

        Args:
            net: the network (its item tower's features already set).
            items: (I,) the shop's item IDs, in the network's order.
            data: training data for the users' histories and popularity (optional).
            device: where to run.
            train: the training settings to record (defaults otherwise).
        """
        ranker = cls(net.cfg, train or TrainConfig(device=device))
        ranker.device = resolve_device(device)
        ranker.net = net.to(ranker.device).eval()
        ranker._items = np.asarray(items, dtype=object)
        if data is not None:
            ranker._attach(data)
        else:
            ranker._users = pd.Index([])
            ranker._train = Sequences.from_lists([])
            ranker._popularity = np.zeros(len(items), dtype=np.float32)
        return ranker

    def _attach(self, data: TrainData) -> None:
        """Set histories and popularity from data without training."""
        self._users = pd.Index(data.users)
        self._train = data.sequences
        self._popularity = np.bincount(data.sequences.items,
                                       minlength=data.n_items).astype(np.float32)


def resolve_repeat_bonus(setting: str, train: Sequences) -> str:
    """"on" or "off": `setting` itself, or for "auto" on where at least REPEAT_BONUS_MIN_SHARE
    of the training events after each sequence's first return to an item of their sequence."""
    if setting != "auto":
        return setting
    from recdash.data import schema as S
    from recdash.data.validation import repeat_share

    events = pd.DataFrame({S.USER: np.repeat(np.arange(len(train)), train.lengths),
                           S.ITEM: train.items})
    return "on" if repeat_share(events) >= REPEAT_BONUS_MIN_SHARE else "off"


def _trial_progress(progress: Progress | None, i: int, n: int, label: str,
                    head: float) -> Progress | None:
    """Progress of trial i of n as its share of the first `head` of the whole, its messages
    prefixed."""
    if progress is None:
        return None
    return lambda f, m: progress(head * (i + f) / n, f"settings {i + 1}/{n} ({label}): {m}")


def _tempdir() -> str:
    import tempfile
    return tempfile.mkdtemp(prefix="recdash-run-")
