"""Training of the attention ranker: every position of every sequence at once, with full softmax
cross-entropy over the catalog (the SASRec+ recipe of Klenitskiy & Vasilev, "Turning Dross Into
Gold Loss: is BERT4Rec really better than SASRec?", RecSys 2023), or sampled softmax with logQ
correction (Yi et al., RecSys 2019) for catalogs too large for a full softmax.

CUDA when available (bf16 autocast, fused AdamW), the CPU otherwise; deterministic under a seed
on the CPU. Early stopping on validation NDCG@10 (full ranking). Checkpoints are written
atomically at every epoch and every few minutes mid-epoch, so a killed run resumes where it was.
Launched by torchrun it trains with DistributedDataParallel, each process on its share of users.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from recdash.data.splits import Split
from recdash.models.attention import distributed as dist
from recdash.models.attention.checkpoint import find_checkpoint, load_checkpoint, \
    save_checkpoint
from recdash.models.attention.features import pad_batch
from recdash.models.attention.config import AttentionConfig, TrainConfig
from recdash.models.attention.model import AttentionRankerNet, add_bonus


@dataclass(frozen=True)
class TrainEvent:
    """Progress of a training run, reported after every step and every validation.

    Attributes:
        kind: "step", "epoch" (after validation) or "done".
        fraction: share of the planned work done (0..1).
    """

    kind: str
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    valid_ndcg: float | None
    best_ndcg: float | None
    items_per_s: float
    elapsed_s: float
    eta_s: float
    fraction: float


@dataclass
class TrainResult:
    """How a run ended: best validation NDCG@10, its epoch, and the per-epoch history; for a
    tuned run, every trial (settings changes, validation NDCG@10, best epoch, seconds) and the
    changes chosen."""

    best_ndcg: float
    best_epoch: float
    epochs_run: int
    stopped: str
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    trials: list[dict] = field(default_factory=list)
    chosen: dict = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    """torch.device for "auto" / "cpu" / "cuda", with a clear error when CUDA is absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        from recdash.errors import RecdashError
        raise RecdashError("--device cuda was asked for, but this torch build sees no GPU; "
                           "use --device cpu or auto")
    return torch.device(name)


def _training_rows(split: Split, max_len: int) -> tuple[list, list, list]:
    """Per user with >= 2 training events: (items, events, times), last max_len + 1 events."""
    train = split.train()
    rows = np.flatnonzero(train.lengths >= 2)
    items, events, times = train.select_context(rows)
    cut = max_len + 1
    return ([s[-cut:] for s in items], [e[-cut:] for e in events], [t[-cut:] for t in times])


def _loss(net, batch: dict, targets: torch.Tensor, cfg: TrainConfig,
          log_q: torch.Tensor | None, gen: torch.Generator) -> torch.Tensor:
    valid = targets > 0
    tgt = targets[valid] - 1  # internal item index of each position's next item
    # Row of each (batch row, position) among the positions with a next item, for the bonus.
    row_of = (valid.flatten().long().cumsum(0) - 1).view_as(targets)
    if cfg.loss == "full":
        hidden, table, pairs = net(batch["items"], batch["events"], batch["gaps"])
        h = hidden[valid]  # (N, d) every position with a next item
        logits = (h @ table[1:].T).float()
        if pairs is not None:
            keep = valid[pairs.rows, pairs.positions]
            logits = add_bonus(logits, row_of[pairs.rows, pairs.positions][keep],
                               pairs.items[keep], pairs.weights[keep])
        return F.cross_entropy(logits, tgt)
    # Sampled softmax: only the batch's targets and the shared negatives need item vectors,
    # so a step costs the same for 1M items as for 10k. Sorted, so that the negatives equal to
    # an item form one run (the repeat bonus finds them by binary search).
    neg = torch.multinomial(log_q.exp(), cfg.n_negatives, replacement=True,
                            generator=gen).to(tgt.device).sort().values
    cand, inverse = torch.unique(torch.cat([tgt, neg]), return_inverse=True)
    hidden, vecs, pairs = net(batch["items"], batch["events"], batch["gaps"], cand + 1)
    h = hidden[valid]
    t_vec, n_vec = vecs[inverse[: len(tgt)]], vecs[inverse[len(tgt):]]
    pos_logit = (h * t_vec).sum(-1) - log_q[tgt]
    neg_logit = h @ n_vec.T - log_q[neg][None]
    if pairs is not None:
        keep = valid[pairs.rows, pairs.positions]
        rows, items, w = row_of[pairs.rows, pairs.positions][keep], pairs.items[keep], \
            pairs.weights[keep]
        pos_logit = pos_logit.index_add(0, rows, (w * (items == tgt[rows])).to(pos_logit.dtype))
        neg_logit = add_bonus(neg_logit, rows, items, w, columns=neg)
    neg_logit = neg_logit.masked_fill(neg[None] == tgt[:, None], float("-inf"))  # hits
    logits = torch.cat([pos_logit[:, None], neg_logit], dim=1).float()
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=h.device))


def lr_factor(cfg: TrainConfig, step: int, steps_per_epoch: int,
              elapsed_s: float = 0.0) -> float:
    """The share of cfg.lr that training step `step` (0-based), `elapsed_s` seconds into
    training, uses under cfg.lr_schedule."""
    if cfg.lr_schedule != "linear":
        return 1.0
    done = step / (cfg.epochs * steps_per_epoch)
    if cfg.max_minutes:  # the time limit may end training before the epochs do
        done = max(done, elapsed_s / (60 * cfg.max_minutes))
    return max(0.0, 1.0 - done)


def _make_batch(rows: tuple[list, list, list], idx: np.ndarray, max_len: int,
                device: torch.device) -> tuple[dict, torch.Tensor]:
    items, events, times = ([rows[0][i] for i in idx], [rows[1][i] for i in idx],
                            [rows[2][i] for i in idx])
    inputs = pad_batch([s[:-1] for s in items], [e[:-1] for e in events],
                       [t[:-1] for t in times], max_len, device)
    t = inputs["items"].shape[1]
    target = pad_batch([s[1:] for s in items], None, None, max_len)["items"][:, -t:]
    return inputs, target.to(device)


def train_ranker(net: AttentionRankerNet, split: Split, cfg: TrainConfig, run_dir: str | Path,
                 validate: Callable[[AttentionRankerNet], float],
                 progress: Callable[[TrainEvent], None] | None = None,
                 resume: bool = True) -> TrainResult:
    """Train `net` on split's training part; checkpoints go to run_dir.

    Args:
        net: the network, item features already in its buffers.
        split: the data split (training part used; validation via `validate`).
        cfg: training settings.
        run_dir: where checkpoints and pointers are written.
        validate: returns validation NDCG@10 of the network (called on rank 0 only), NaN when
            there is nothing to validate on (then every epoch is kept and none stops early).
        progress: receives TrainEvent after every step and validation.
        resume: continue from run_dir's latest checkpoint when there is one.

    Returns:
        The TrainResult; the best weights are loaded back into `net`.
    """
    device = resolve_device(cfg.device)
    rank, world = dist.setup(device)
    torch.manual_seed(cfg.seed)
    net.to(device)
    model_cfg: AttentionConfig = net.cfg
    rows = _training_rows(split, model_cfg.max_len)
    counts = np.bincount(split.train().items, minlength=split.n_items).astype(np.float64)
    log_q = torch.from_numpy(np.log((counts + 1.0) / (counts + 1.0).sum())).float().to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            fused=device.type == "cuda")
    state = {"epoch": 0, "batch": 0, "step": 0, "best": -1.0, "best_epoch": 0, "bad": 0,
             "history": []}
    if resume and find_checkpoint(run_dir, "latest") is not None:
        ck = load_checkpoint(run_dir, with_optimizer=True, which="latest")
        net.load_state_dict(ck.weights)
        if ck.optimizer:
            opt.load_state_dict(ck.optimizer["optimizer"])
            torch.set_rng_state(ck.optimizer["rng"])
        state.update(ck.state)
    model = dist.wrap(net, device)
    gen = torch.Generator().manual_seed(cfg.seed + 7)
    n_users = len(rows[0])
    per_rank = n_users // world if world > 1 else n_users
    steps = max(1, math.ceil(per_rank / cfg.batch_size))
    start, last_ckpt = time.time(), time.time()
    done_items, stopped = 0, "epochs"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" \
        else torch.autocast("cpu", enabled=False)

    def save(pointers: tuple[str, ...]) -> None:
        if rank == 0:
            extra = {"optimizer": opt.state_dict(), "rng": torch.get_rng_state()}
            save_checkpoint(run_dir, net, model_cfg, cfg, list(split.items), dict(state),
                            _Extra(extra), pointers)

    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        perm = np.random.default_rng((cfg.seed, epoch)).permutation(n_users)
        mine = perm[: per_rank * world][rank::world] if world > 1 else perm
        net.train()
        for b in range(state["batch"], steps):
            idx = mine[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            batch, targets = _make_batch(rows, idx, model_cfg.max_len, device)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * lr_factor(cfg, state["step"], steps, time.time() - start)
            with autocast:
                loss = _loss(model, batch, targets, cfg, log_q, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["batch"], state["step"] = b + 1, state["step"] + 1
            done_items += int((targets > 0).sum()) * world
            elapsed = time.time() - start
            if progress and rank == 0:
                frac = (epoch + (b + 1) / steps) / cfg.epochs
                progress(_event("step", state, cfg, steps, loss.item(), None, done_items,
                                elapsed, frac))
            if cfg.checkpoint_minutes and time.time() - last_ckpt > 60 * cfg.checkpoint_minutes:
                save(("latest",))
                last_ckpt = time.time()
            over = bool(cfg.max_minutes) and time.time() - start > 60 * cfg.max_minutes
            if dist.any_true(over, device):  # every process stops at the same step
                stopped = "time limit"
                break
        if state["batch"] >= steps:
            state["epoch"], state["batch"] = epoch + 1, 0
        ndcg = dist.from_rank0(lambda: validate(net) if rank == 0 else 0.0, device)
        done_epochs = state["epoch"] + state["batch"] / steps  # fractional if cut short
        # A refit on every event has nothing to validate on (NaN): each epoch is kept.
        improved = ndcg > state["best"] or math.isnan(ndcg)
        if improved:
            state.update(best=ndcg, best_epoch=round(done_epochs, 4), bad=0)
        else:
            state["bad"] += 1
        state["history"].append({"epoch": round(done_epochs, 4), "loss": loss.item(),
                                 "valid_ndcg": ndcg, "seconds": time.time() - start})
        save(("latest", "best") if improved else ("latest",))
        last_ckpt = time.time()
        elapsed = time.time() - start
        if progress and rank == 0:
            progress(_event("epoch", state, cfg, steps, loss.item(), ndcg, done_items, elapsed,
                            state["epoch"] / cfg.epochs))
        if stopped == "time limit":
            break
        if state["bad"] >= cfg.patience:
            stopped = "early stopping"
            break
    dist.barrier()  # rank 0 has written the best checkpoint; every process loads it
    net.load_state_dict(load_checkpoint(run_dir, which="best").weights)
    result = TrainResult(state["best"], state["best_epoch"], state["epoch"], stopped,
                         state["history"], time.time() - start)
    if progress and rank == 0:
        progress(_event("done", state, cfg, steps, float("nan"), state["best"], done_items,
                        result.seconds, 1.0))
    return result


class _Extra:
    """Adapter so save_checkpoint stores optimizer state and the RNG state together."""

    def __init__(self, payload: dict) -> None:
        self.payload = payload

    def state_dict(self) -> dict:
        return self.payload


def _event(kind, state, cfg, steps, loss, ndcg, items, elapsed, frac) -> TrainEvent:
    eta = elapsed / frac * (1 - frac) if frac > 0 else float("nan")
    if cfg.max_minutes:  # training stops at the time limit, whatever the epochs would take
        left = max(0.0, 60 * cfg.max_minutes - elapsed)
        eta = left if math.isnan(eta) else min(eta, left)
    return TrainEvent(kind, state["epoch"], cfg.epochs, state["batch"], steps, loss, ndcg,
                      state["best"] if state["best"] >= 0 else None,
                      items / elapsed if elapsed > 0 else 0.0, elapsed, eta, min(frac, 1.0))

