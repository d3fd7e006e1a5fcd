"""CPU speed of the attention ranker against the peer RecBole 1.2.1 SASRec, same data and protocol.

Both sides train SASRec-shaped networks (ID-only item tower, 2 blocks, 1 head, d = 64, FFN 256,
dropout 0.2, max length 50; Kang & McAuley, ICDM 2018) with full softmax cross-entropy (the
SASRec+ recipe of Klenitskiy & Vasilev, RecSys 2023) on Amazon Scientific, split leave-one-out
by time, and validate full-ranking NDCG@10 after every epoch with early stopping (patience 10),
under the same wall-time cap. RecBole (Zhao et al., CIKM 2021) reads atomic files written from
our own loader's output, so both see exactly the same sequences; the child checks this.

Seen items: our evaluation removes the user's history from the ranking. RecBole's full-sort
evaluation of sequential models does not (its collate passes no history index), so the peer
child masks the items of the input sequence to match; its unmasked test figures are kept too.

Each side runs in its own child process, one after the other, with one thread: RecBole in its
own virtual environment (bench/.recbole/venv, see SETUP below), ours in the project's. The
child's peak RSS comes from wait4. Figures go to bench/results/recbole_peer.json.

SETUP (once, from the repository root):
    python3 -m venv bench/.recbole/venv
    bench/.recbole/venv/bin/pip install torch==2.13.0 recbole==1.2.1

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/recbole_peer.py [--minutes 10] [--batch-sizes 128]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRATCH = BENCH / ".recbole"  # atomic files, logs, RecBole's venv; ignored by git
PEER_PYTHON = SCRATCH / "venv" / "bin" / "python"
DATASET = "amazon-scientific"
MAX_LEN = 50
PATIENCE = 10
EPOCHS = 300
LR = 1e-3
SEED = 0
# What the peer child changes so that RecBole 1.2.1 runs under numpy 2 and torch >= 2.6.
SHIMS = ["numpy 2 removed np.float_, np.complex_, np.unicode_: aliased to float64, complex128, "
         "str_ before importing recbole",
         "torch >= 2.6 defaults torch.load to weights_only=True; RecBole's best-model reload "
         "stores a config object, so torch.load defaults to weights_only=False in the peer "
         "child only",
         "full-sort evaluation masks the input-sequence items (to match our seen-item filter); "
         "RecBole's own unmasked test figures are stored beside"]


# ---------------------------------------------------------------- peer child (RecBole venv)

def peer_child(work: Path, batch_size: int, minutes: float, out: Path) -> None:
    """Train and test RecBole SASRec on work/sci/sci.inter; write the curve and figures to out.

    Runs under bench/.recbole/venv: imports only numpy, torch and recbole.
    """
    import functools
    import resource

    import numpy as np
    np.float_, np.complex_, np.unicode_ = np.float64, np.complex128, np.str_
    import torch
    torch.load = functools.partial(torch.load, weights_only=False)
    torch.set_num_threads(1)
    import recbole
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_logger, init_seed

    class TimeUp(Exception):
        """Raised after a validation once the wall-time cap has passed."""

    class PeerTrainer(Trainer):
        """RecBole's Trainer with per-epoch timing, a wall-time cap and optional seen masking."""

        mask_seen = True

        def __init__(self, config, model):
            super().__init__(config, model)
            self.curve: list[dict] = []
            self.start = time.time()
            self.train_end = self.start

        def _train_epoch(self, *args, **kwargs):
            begin = time.time()
            loss = super()._train_epoch(*args, **kwargs)
            self.train_end = time.time()
            self.curve.append({"epoch": len(self.curve) + 1,
                               "train_s": round(self.train_end - begin, 3)})
            return loss

        def _full_sort_batch_eval(self, batched_data):
            interaction, scores, positive_u, positive_i = super()._full_sort_batch_eval(
                batched_data)
            if self.mask_seen:
                seq = interaction[self.model.ITEM_SEQ]  # (B, L), 0 = padding, already -inf
                scores.scatter_(1, seq, float("-inf"))
            return interaction, scores, positive_u, positive_i

        def on_valid(self, epoch_idx: int, valid_score: float) -> None:
            now = time.time()
            self.curve[-1].update(valid_s=round(now - self.train_end, 3),
                                  elapsed_s=round(now - self.start, 3),
                                  valid_ndcg=float(valid_score))
            if now - self.start > 60 * minutes:
                raise TimeUp

    config = Config(model="SASRec", dataset="sci", config_dict={
        "data_path": str(work), "checkpoint_dir": str(work / "saved"),
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": MAX_LEN, "loss_type": "CE", "train_neg_sample_args": None,
        "hidden_size": 64, "inner_size": 256, "n_layers": 2, "n_heads": 1,
        "hidden_dropout_prob": 0.2, "attn_dropout_prob": 0.2, "hidden_act": "gelu",
        "train_batch_size": batch_size, "learning_rate": LR, "epochs": EPOCHS,
        "stopping_step": PATIENCE, "eval_step": 1,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "metrics": ["NDCG", "Hit"], "topk": [10], "valid_metric": "NDCG@10",
        "device": "cpu", "use_gpu": False, "show_progress": False, "worker": 0,
        "seed": SEED, "reproducibility": True})
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    check = _check_sequences(work, dataset, valid_data, test_data)
    init_seed(config["seed"], config["reproducibility"])
    model = SASRec(config, train_data.dataset)
    trainer = PeerTrainer(config, model)
    stopped = "early stopping or epochs"
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False,
                    callback_fn=trainer.on_valid)
    except TimeUp:
        stopped = "time limit"
    train_seconds = time.time() - trainer.start
    curve = [c for c in trainer.curve if "valid_ndcg" in c]
    test = trainer.evaluate(test_data, load_best_model=True, model_file=trainer.saved_model_file)
    trainer.mask_seen = False
    test_unmasked = trainer.evaluate(test_data, load_best_model=False)
    out.write_text(json.dumps({
        "side": "recbole", "batch_size": batch_size, "stopped": stopped,
        "train_seconds": round(train_seconds, 2), "curve": curve,
        "best_valid_ndcg": max(c["valid_ndcg"] for c in curve),
        "test": {"NDCG@10": float(test["ndcg@10"]), "HR@10": float(test["hit@10"])},
        "test_unmasked": {"NDCG@10": float(test_unmasked["ndcg@10"]),
                          "HR@10": float(test_unmasked["hit@10"])},
        "train_rows": len(train_data.dataset), "sequence_check": check,
        "torch_threads": torch.get_num_threads(),
        "versions": {"recbole": recbole.__version__, "torch": torch.__version__,
                     "numpy": np.__version__},
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=2))


def _check_sequences(work: Path, dataset, valid_data, test_data) -> dict:
    """Compare RecBole's valid/test (history, target) with the sequences we wrote."""
    truth = json.loads((work / "sequences.json").read_text())
    tokens = dataset.field2id_token

    def rows(data) -> dict:
        inter = data.dataset.inter_feat
        users = tokens["user_id"][inter["user_id"].numpy()]
        seqs, lens = inter["item_id_list"].numpy(), inter["item_length"].numpy()
        items = tokens["item_id"]
        targets = items[inter["item_id"].numpy()]
        return {u: (list(items[s[:n]]), t) for u, s, n, t in zip(users, seqs, lens, targets)}

    result = {}
    for name, data, cut in (("valid", valid_data, 2), ("test", test_data, 1)):
        got = rows(data)
        bad = sum(1 for u, seq in truth.items()
                  if got.get(u) != (seq[:-cut][-MAX_LEN:], seq[-cut]))
        result[name] = {"users": len(got), "mismatches": bad}
    if any(r["mismatches"] or r["users"] != len(truth) for r in result.values()):
        raise SystemExit(f"recbole_peer: RecBole's sequences differ from ours: {result}")
    return result


# ---------------------------------------------------------------- our child (project venv)

def ours_child(datasets: Path, batch_size: int, minutes: float, out: Path) -> None:
    """Train and test our attention ranker; write the curve and figures to out."""
    import resource
    import tempfile

    import torch
    torch.set_num_threads(1)
    from recdash.data.dataset import prepare_public
    from recdash.data.splits import make_split
    from recdash.eval.evaluate import evaluate
    from recdash.models.attention import AttentionConfig, AttentionRanker, TrainConfig
    from recdash.models.base import TrainData

    ds, _ = prepare_public("sci", datasets / DATASET)
    split = make_split(ds.interactions, ds.catalog, "loo", candidates="interacted")
    curve: list[dict] = []
    last = {"step_s": 0.0, "epoch_s": 0.0}

    def on_event(ev) -> None:
        if ev.kind == "step":
            last["step_s"] = ev.elapsed_s
        elif ev.kind == "epoch":
            curve.append({"epoch": ev.epoch,
                          "train_s": round(last["step_s"] - last["epoch_s"], 3),
                          "valid_s": round(ev.elapsed_s - last["step_s"], 3),
                          "elapsed_s": round(ev.elapsed_s, 3),
                          "valid_ndcg": float(ev.valid_ndcg)})
            last["epoch_s"] = ev.elapsed_s

    model = AttentionConfig(n_items=0, max_len=MAX_LEN, dim=64, n_layers=2, n_heads=1,
                            dropout=0.2, use_text=False, use_category=False, use_brand=False,
                            use_price=False, use_event=False, use_time_gap=False)
    train = TrainConfig(epochs=EPOCHS, batch_size=batch_size, lr=LR, patience=PATIENCE,
                        seed=SEED, device="cpu", max_minutes=minutes, checkpoint_minutes=0)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        ranker = AttentionRanker(model, train, run_dir=tmp, on_event=on_event)
        ranker.fit(TrainData.from_split(split, ds.catalog))
        res = evaluate(ranker, split, ks=(10,))
    out.write_text(json.dumps({
        "side": "ours", "batch_size": batch_size, "stopped": ranker.result.stopped,
        "train_seconds": round(ranker.result.seconds, 2), "curve": curve,
        "best_valid_ndcg": ranker.result.best_ndcg,
        "test": {"NDCG@10": res.metrics["NDCG@10"], "HR@10": res.metrics["HR@10"]},
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }, indent=2))


# ---------------------------------------------------------------- orchestration

def write_atomic(datasets: Path, work: Path) -> int:
    """Write work/sci/sci.inter (position in the sequence as timestamp) from our loader."""
    from recdash.data.dataset import prepare_public

    ds, report = prepare_public("sci", datasets / DATASET)
    if ds is None:
        sys.exit(f"recbole_peer: {DATASET} did not import:\n{report.format()}")
    inter = ds.interactions[["user_id", "item_id"]].copy()  # chronological within a user
    inter["timestamp"] = inter.groupby("user_id", sort=False).cumcount().astype(float)
    (work / "sci").mkdir(parents=True, exist_ok=True)
    inter.to_csv(work / "sci" / "sci.inter", sep="\t", index=False,
                 header=["user_id:token", "item_id:token", "timestamp:float"])
    seqs = inter.groupby("user_id", sort=False)["item_id"].agg(list)
    (work / "sequences.json").write_text(json.dumps({str(u): s for u, s in seqs.items()}))
    return len(inter)


def run_child(args: list[str], python: Path, log: Path) -> dict:
    """Run this file as a child under `python`; its JSON result plus wall time and peak RSS."""
    out = log.with_suffix(".json")
    out.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    begin = time.time()
    with log.open("w") as fh:
        proc = subprocess.Popen([str(python), __file__, *args, "--out", str(out)],
                                stdout=fh, stderr=subprocess.STDOUT, cwd=SCRATCH, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not out.exists():
        sys.exit(f"recbole_peer: the child {args[0]} failed; see {os.path.relpath(log)}")
    result = json.loads(out.read_text())
    result.update(child_wall_s=round(time.time() - begin, 1),
                  peak_rss_mb=round(usage.ru_maxrss / 1024, 1))
    return result


def time_to_reach(curve: list[dict], target: float) -> float | None:
    """Wall seconds (training + validation) until validation NDCG@10 first reaches target."""
    return next((c["elapsed_s"] for c in curve if c["valid_ndcg"] >= target - 1e-12), None)


def summary(side: dict, target: float) -> dict:
    """Seconds per epoch, the best validation, time to the peer's best, and test figures."""
    curve = side["curve"]
    mean = lambda key: round(sum(c[key] for c in curve) / len(curve), 2)  # noqa: E731
    return {"epochs": len(curve), "train_s_per_epoch": mean("train_s"),
            "valid_s_per_epoch": mean("valid_s"),
            "wall_s_per_epoch": round(curve[-1]["elapsed_s"] / len(curve), 2),
            "best_valid_ndcg": round(side["best_valid_ndcg"], 4),
            "best_epoch": 1 + max(range(len(curve)), key=lambda i: curve[i]["valid_ndcg"]),
            "s_to_recbole_best": time_to_reach(curve, target),
            "test_ndcg10": round(side["test"]["NDCG@10"], 4),
            "test_hr10": round(side["test"]["HR@10"], 4), "stopped": side["stopped"],
            "peak_rss_mb": side["peak_rss_mb"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="../shared/datasets")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall cap of each side")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--child", choices=["recbole", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "recbole":
        return peer_child(SCRATCH / "data", args.batch_size, args.minutes, args.out)
    sys.path.insert(0, str(BENCH))
    from common import machine, markdown_table, rel, repo_path, require_datasets, write_json

    datasets = require_datasets(args.datasets, [DATASET])
    if args.child == "ours":
        return ours_child(datasets, args.batch_size, args.minutes, args.out)
    if not PEER_PYTHON.exists():
        sys.exit("recbole_peer: RecBole's venv is missing; create it as the SETUP section of "
                 "this file's docstring says")
    info = machine()  # before the children run: the load average at start
    n_inter = write_atomic(datasets, SCRATCH / "data")
    runs = []
    for bs in args.batch_sizes:
        common_args = ["--batch-size", str(bs), "--minutes", str(args.minutes),
                       "--datasets", str(datasets)]
        peer = run_child(["--child", "recbole", *common_args], PEER_PYTHON,
                         SCRATCH / f"recbole_bs{bs}.log")
        ours = run_child(["--child", "ours", *common_args], Path(sys.executable),
                         SCRATCH / f"ours_bs{bs}.log")
        target = peer["best_valid_ndcg"]
        runs.append({"batch_size": bs, "recbole": summary(peer, target),
                     "ours": summary(ours, target), "recbole_detail": peer,
                     "ours_detail": ours})
    header = ["side", "batch", "epochs", "train s/epoch", "valid s/epoch", "best valid NDCG@10",
              "s to RecBole's best", "test NDCG@10", "test HR@10", "peak RSS MiB"]
    rows = [[side, r["batch_size"], s["epochs"], s["train_s_per_epoch"], s["valid_s_per_epoch"],
             s["best_valid_ndcg"], s["s_to_recbole_best"], s["test_ndcg10"], s["test_hr10"],
             s["peak_rss_mb"]]
            for r in runs for side, s in (("RecBole SASRec", r["recbole"]),
                                          ("recdash attention", r["ours"]))]
    print(markdown_table(header, rows))
    peer = runs[0]["recbole_detail"]
    write_json("recbole_peer.json", {
        "benchmark": "CPU speed and quality vs RecBole 1.2.1 SASRec, same data and protocol",
        "dataset": rel(repo_path(args.datasets) / DATASET), "interactions": n_inter,
        "protocol": {"split": "leave-one-out by sequence position", "ranking": "full, all "
                     "items, history items masked", "loss": "full softmax cross-entropy",
                     "max_len": MAX_LEN, "patience": PATIENCE, "wall_cap_minutes": args.minutes,
                     "threads": 1, "time": "wall seconds from the start of training, "
                     "validation included"},
        "model": {"dim": 64, "n_layers": 2, "n_heads": 1, "ffn": 256, "dropout": 0.2,
                  "lr": LR, "optimizer": "Adam (ours: AdamW with weight decay 0)"},
        "machine": info, "peer_versions": peer["versions"], "shims": SHIMS, "runs": runs})


if __name__ == "__main__":
    main()
