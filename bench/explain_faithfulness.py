"""Faithfulness and speed of recdash's explanations of the attention ranker, on the CPU.

Faithfulness by deletion (the "deletion" test of Samek et al., "Evaluating the Visualization of
What a Deep Neural Network Has Learned", IEEE TNNLS 2017, as used for attention by Jain &
Wallace, "Attention is not Explanation", NAACL 2019): for sampled (shopper, recommended item)
pairs, remove the three history events a method ranks highest and see how far the item's score
and rank fall. A method whose top events matter to the model hurts the item more than three
random events do. Methods: SHAP of the history events (`recdash.explain.shapley`, shap's
Permutation explainer, default 10 forward-and-backward walks), the last position's attention
averaged over heads (mean of the layers, and the last layer alone), attention rollout
(`recdash.explain.attention`), and three random events. As a reference, not a method recdash
offers: leave-one-out, the three events whose removal alone lowers the score most (one model
evaluation per event). Two diagnostics: how often each attention method's top-3 overlaps SHAP's
(with the Spearman correlation of the weights), and how often a method's top-1 event is the same
window position for every shopper (an attribution that ignores the events would do that).

Protocol. One attention ranker per dataset (max length 50, trained here under a time cap):
MovieLens-1M 5-core with ID embeddings only, Amazon Scientific with ID + text + category +
brand. Pairs: shoppers with at least 5 training events, sampled with a fixed seed; the item is
the shopper's top-1 recommendation after the training history, seen items excluded. Every
method looks at the same players, the newest 50 events (the events the model reads); the
deletions are made in that window, which is the game SHAP explains (events older than the
window stay out, as in `explain_history`). Ranks are 1-based over the whole catalog with the
shopper's training items excluded, the same set before and after, so the rank before is 1.
A second variant deletes from the full history instead, so older events slide into the window
(what `recdash.explain.counterfactual` does).

Speed: one SHAP explanation of a 50-event ML-1M history, median and p90 over pairs after a
warm-up, with its model evaluations, against one `model.score` call for the same history.

Usage (from the repository root; one thread so that figures are reproducible on a shared host):
    OMP_NUM_THREADS=1 .venv/bin/python bench/explain_faithfulness.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr

from attention_quality import ID_ONLY, ID_TEXT_CAT, Tower, code_version, fit_ranker, load, \
    text_for
from common import DEFAULT_DATASETS, machine, markdown_table, peak_rss_mb, rel, \
    require_datasets, write_json
from recdash.data.splits import Split, make_split
from recdash.eval.evaluate import evaluate
from recdash.explain.attention import attention_view
from recdash.explain.shapley import DEFAULT_PERMUTATIONS, explain_history
from recdash.models.attention import AttentionRanker
from recdash.eval.evaluate import mask_seen_

MAX_LEN = 50  # history length of the rankers (and so the most players)
MIN_EVENTS = 5  # shoppers need this many training events to be sampled
TOP = 3  # events removed per method
K = 10  # list length for "left the top-10"
SEED = 0
LOO = "leave-one-out (reference)"
METHODS = ("SHAP", "attention, head mean, mean of layers", "attention, head mean, last layer",
           "attention rollout", LOO, "random")
COMPARED = METHODS[1:5]  # the methods compared with SHAP's attributions
SPEED_PAIRS = 30
SCORE_REPEATS = 5  # score calls per pair for the peer; their median is taken


@dataclass(frozen=True)
class Bench:
    """One dataset of the benchmark and its ranker's item tower."""

    name: str
    folder: str
    kcore: int
    tower: Tower


BENCHES = (Bench("ml-1m", "ml-1m", 5, ID_ONLY),
           Bench("amazon-scientific", "amazon-scientific", 0, ID_TEXT_CAT))


@dataclass(frozen=True)
class Pair:
    """A shopper's training history and the recommended item being explained."""

    user: object
    items: np.ndarray  # full training history, internal indices, oldest first
    events: np.ndarray
    times: np.ndarray
    target: int  # internal index of the top-1 recommendation

    def window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The newest MAX_LEN events: what the model reads."""
        return self.items[-MAX_LEN:], self.events[-MAX_LEN:], self.times[-MAX_LEN:]


def train(bench: Bench, root: Path, minutes: float) -> tuple[Split, AttentionRanker, dict]:
    """Import the dataset, train its ranker under the cap; returns split, ranker and its record."""
    ds = load(bench.folder, bench.kcore, root)
    split = make_split(ds.interactions, ds.catalog, "loo", kcore=bench.kcore,
                       candidates="interacted")
    text = text_for(ds, split) if bench.tower.use_text else None
    print(f"{bench.name}: training {bench.tower.name} for at most {minutes:g} min ...",
          file=sys.stderr, flush=True)
    ranker, record = fit_ranker(split, ds, bench.tower, text, MAX_LEN, minutes, epochs=200)
    record["test_ndcg10"] = evaluate(ranker, split, ks=(K,)).metrics[f"NDCG@{K}"]
    record.pop("history")
    return split, ranker, record


def sample_pairs(model: AttentionRanker, users: Sequence[object], n: int, min_events: int,
                 seed: int) -> list[Pair]:
    """n shoppers with at least min_events training events, each with its top-1 item."""
    users = [u for u in users if len(model.history_of(u)) >= min_events]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(users), size=min(n, len(users)), replace=False)
    pairs = []
    for i in chosen:
        items, events, times = model.context_of(users[i])
        top = model.rank([users[i]], [items], [events], [times], k=1)
        target = int(model.encode_items(top["item_id"])[0])
        pairs.append(Pair(users[i], items, events, times, target))
    return pairs


def top_events(model: AttentionRanker, pair: Pair, rng: np.random.Generator) -> dict:
    """Each method's top-3 positions in the window, with SHAP values and attention weights."""
    items, events, times = pair.window()
    expl = explain_history(model, items, events, times, [pair.target], seed=SEED)[0]
    view = attention_view(model, items, events, times)
    if not np.array_equal(view.positions, expl.positions):
        raise AssertionError("SHAP players and attention positions differ for one history")
    weights = {"SHAP": expl.values, METHODS[1]: view.head_mean.mean(0),
               METHODS[2]: view.head_mean[-1], METHODS[3]: view.rollout,
               LOO: single_deletions(model, (items, events, times), pair.target)}
    picks = {m: expl.positions[np.argsort(-w, kind="stable")[:TOP]] for m, w in weights.items()}
    picks["random"] = rng.choice(expl.positions, size=TOP, replace=False)
    return {"picks": picks, "weights": weights, "n_evals": expl.n_evals,
            "players": len(expl.positions), "shap_base": float(expl.base_values)}


def single_deletions(model: AttentionRanker, window: tuple, target: int) -> np.ndarray:
    """(T,) the drop in the target's score when each event of the window alone is removed."""
    items, events, times = window
    keep = [np.delete(np.arange(len(items)), i) for i in range(len(items))]
    scores = model.score([items, *(items[k] for k in keep)], [events, *(events[k] for k in keep)],
                         [times, *(times[k] for k in keep)])[:, target].astype(np.float64)
    return scores[0] - scores[1:]


def ranks_of(scores: np.ndarray, seen: np.ndarray, target: int) -> np.ndarray:
    """(R,) 1-based rank of target in each row of (R, I) scores, seen items excluded."""
    t = torch.from_numpy(scores)
    mask_seen_(t, [seen] * len(t))
    return ((t > t[:, target:target + 1]).sum(1) + 1).numpy()


def deletions(model: AttentionRanker, pair: Pair, picks: dict) -> dict:
    """Score drop and rank after each method's deletion, in the window and in the full history.

    Returns:
        {"score_before", "rank_before", "window": {method: (drop, rank)}, "full": {...}}.
    """
    w_items, w_events, w_times = pair.window()
    offset = len(pair.items) - len(w_items)  # window position p is full-history index p+offset
    hist, ev, tm = [w_items], [w_events], [w_times]
    for base, shift in ((pair.window(), 0), ((pair.items, pair.events, pair.times), offset)):
        for m in METHODS:
            keep = np.setdiff1d(np.arange(len(base[0])), picks[m] + shift)
            hist.append(base[0][keep]), ev.append(base[1][keep]), tm.append(base[2][keep])
    scores = model.score(hist, ev, tm)
    ranks = ranks_of(scores, np.unique(pair.items), pair.target)
    own = scores[:, pair.target].astype(np.float64)
    out = {"score_before": own[0], "rank_before": int(ranks[0])}
    for v, variant in enumerate(("window", "full")):
        rows = range(1 + v * len(METHODS), 1 + (v + 1) * len(METHODS))
        out[variant] = {m: (own[0] - own[r], int(ranks[r])) for m, r in zip(METHODS, rows)}
    return out


def agreement(weights: dict, picks: dict) -> dict:
    """Top-3 overlap with SHAP and Spearman correlation with SHAP values, per attention method."""
    out = {}
    for m in COMPARED:
        rho = spearmanr(weights["SHAP"], weights[m]).statistic if len(weights[m]) > 2 \
            else float("nan")
        out[m] = (len(set(picks["SHAP"]) & set(picks[m])) / TOP, float(rho))
    return out


def faithfulness(model: AttentionRanker, pairs: Sequence[Pair], name: str) -> list[dict]:
    """Per pair: the methods' picks, the deletions' effects and the agreement with SHAP."""
    rng = np.random.default_rng(SEED + 1)
    records = []
    start = time.perf_counter()
    for i, pair in enumerate(pairs, 1):
        top = top_events(model, pair, rng)
        records.append({**deletions(model, pair, top["picks"]),
                        "agreement": agreement(top["weights"], top["picks"]),
                        "top1": {m: int(p[0]) for m, p in top["picks"].items()},
                        "n_evals": top["n_evals"], "players": top["players"],
                        "shap_base": top["shap_base"], "events": len(pair.items)})
        if i % 50 == 0 or i == len(pairs):
            print(f"  {name}: {i}/{len(pairs)} pairs ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)
    return records


def quantiles(values: Sequence[float]) -> dict:
    """Mean, median and the 10th/90th percentiles."""
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(arr.mean()), "median": float(np.median(arr)),
            "p10": float(np.percentile(arr, 10)), "p90": float(np.percentile(arr, 90))}


def summarise_method(records: Sequence[dict], variant: str, method: str) -> dict:
    """Score drop, rank after and share out of the top-10 for one method over all pairs."""
    drops = [r[variant][method][0] for r in records]
    ranks = [r[variant][method][1] for r in records]
    return {"score_drop": quantiles(drops), "rank_after": quantiles(ranks),
            "left_top10": float(np.mean(np.asarray(ranks) > K)),
            "score_rose": float(np.mean(np.asarray(drops) < 0))}


def summarise_dataset(records: Sequence[dict]) -> dict:
    """Everything reported for one dataset, from its per-pair records."""
    agree = {m: {"top3_overlap_with_shap": float(np.mean([r["agreement"][m][0]
                                                          for r in records])),
                 "spearman_with_shap": float(np.nanmean([r["agreement"][m][1]
                                                         for r in records]))}
             for m in COMPARED}
    return {
        "pairs": len(records),
        "rank_before_not_1": int(sum(r["rank_before"] != 1 for r in records)),
        "score_before": quantiles([r["score_before"] for r in records]),
        "history_events": quantiles([r["events"] for r in records]),
        "players": quantiles([r["players"] for r in records]),
        "shap_evals": quantiles([r["n_evals"] for r in records]),
        "shap_base_value": quantiles([r["shap_base"] for r in records]),
        "top1_concentration": concentration(records),
        "window": {m: summarise_method(records, "window", m) for m in METHODS},
        "full_history": {m: summarise_method(records, "full", m) for m in METHODS},
        "agreement": agree,
    }


def concentration(records: Sequence[dict], min_group: int = 20) -> dict:
    """Per method, how often the top-1 event sits at the same window position for everyone.

    Pairs are grouped by window length (groups of at least `min_group` pairs); within a group,
    the share of pairs whose top-1 position is the group's most common one. A method that reads
    the events picks different positions for different shoppers (the random row is the control);
    one that picks the same position for most of them follows something else (the order of
    SHAP's seeded permutations, or the newest event for rollout).
    """
    groups: dict[int, list[dict]] = {}
    for r in records:
        groups.setdefault(r["players"], []).append(r)
    groups = {n: g for n, g in groups.items() if len(g) >= min_group}
    pairs = sum(len(g) for g in groups.values())
    out = {"pairs": pairs, "window_lengths": sorted(groups)}
    for m in METHODS:
        modes = {n: statistics.mode([r["top1"][m] for r in g]) for n, g in groups.items()}
        hits = sum(sum(r["top1"][m] == modes[n] for r in g) for n, g in groups.items())
        out[m] = {"share": hits / pairs if pairs else float("nan"),
                  "most_common_position": {str(n): int(p) for n, p in modes.items()}}
    return out


def timed(call) -> float:
    """Seconds one call takes."""
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def speed(model: AttentionRanker, users: Sequence[object], n: int) -> dict:
    """SHAP, attention and plain scoring times for n pairs with a full 50-event window."""
    pairs = sample_pairs(model, users, n + 2, MAX_LEN, seed=SEED + 2)
    shap_s, view_s, score_s, evals = [], [], [], set()
    for i, pair in enumerate(pairs):
        items, events, times = pair.window()
        expl = [None]

        def shap_call() -> None:
            expl[0] = explain_history(model, items, events, times, [pair.target], seed=SEED)

        s = timed(shap_call)
        v = timed(lambda: attention_view(model, items, events, times))
        c = statistics.median(timed(lambda: model.score([items], [events], [times]))
                              for _ in range(SCORE_REPEATS))
        if i >= 2:  # the first two pairs are the warm-up
            shap_s.append(s), view_s.append(v), score_s.append(c), evals.add(expl[0].n_evals)

    def stats(xs: list[float]) -> dict:
        return {"median_ms": 1000 * statistics.median(xs),
                "p90_ms": 1000 * float(np.percentile(xs, 90)), "runs_ms": [1000 * x for x in xs]}

    out = {"pairs": len(shap_s), "history_events": MAX_LEN, "players": MAX_LEN,
           "n_evals": sorted(evals), "shap": stats(shap_s), "attention_view": stats(view_s),
           "score_call": stats(score_s)}
    out["shap_over_score"] = out["shap"]["median_ms"] / out["score_call"]["median_ms"]
    out["ms_per_eval"] = out["shap"]["median_ms"] / max(evals)
    return out


def setup_table(summaries: dict) -> str:
    """One row per dataset: the ranker, its test quality, and the pairs explained."""
    body = []
    for name, s in summaries.items():
        m = s["model"]
        body.append([name, m["tower"], f"{m['epochs_run']}", m["stopped"],
                     f"{m['test_ndcg10']:.4f}", s["pairs"], f"{s['history_events']['median']:.0f}",
                     f"{s['players']['median']:.0f}", f"{s['shap_evals']['median']:.0f}",
                     f"{s['score_before']['mean']:.2f}", f"{s['shap_base_value']['mean']:.2f}"])
    return markdown_table(["dataset", "item tower", "epochs", "stopped by", "test NDCG@10",
                           "pairs", "median events", "median players", "median SHAP evals",
                           "mean score", "mean SHAP base value"], body)


def faithfulness_table(summary: dict, variant: str) -> str:
    """One row per method: score drop, rank after and the share out of the top-10."""
    body = []
    for m in METHODS:
        s = summary[variant][m]
        body.append([m, f"{s['score_drop']['mean']:.3f}", f"{s['score_drop']['median']:.3f}",
                     f"{s['rank_after']['mean']:.1f}", f"{s['rank_after']['median']:.0f}",
                     f"{100 * s['left_top10']:.1f}%", f"{100 * s['score_rose']:.1f}%"])
    return markdown_table(["top-3 removed by", "mean score drop", "median score drop",
                           "mean rank after", "median rank after", "left the top-10",
                           "score rose"], body)


def agreement_table(summaries: dict) -> str:
    """Overlap and rank correlation of each attention method with SHAP, per dataset."""
    body = [[m, *(f"{s['agreement'][m]['top3_overlap_with_shap']:.2f} / "
                  f"{s['agreement'][m]['spearman_with_shap']:.2f}" for s in summaries.values())]
            for m in COMPARED]
    return markdown_table(["method", *(f"{n}: top-3 overlap / Spearman" for n in summaries)],
                          body)


def concentration_table(summaries: dict) -> str:
    """Per method, the share of pairs whose top-1 event is their window's most common one."""
    head = ["top-1 event by"] + [f"{n} ({s['top1_concentration']['pairs']} pairs)"
                                 for n, s in summaries.items()]
    body = [[m, *(f"{100 * s['top1_concentration'][m]['share']:.0f}%"
                  for s in summaries.values())] for m in METHODS]
    return markdown_table(head, body)


def speed_table(sp: dict) -> str:
    """SHAP, attention view and one score call, in milliseconds."""
    rows = [["SHAP, explain_history", sp["shap"], f"{', '.join(map(str, sp['n_evals']))}"],
            ["attention_view", sp["attention_view"], "1"],
            ["model.score, same history (peer)", sp["score_call"], "1"]]
    return markdown_table(["one (shopper, item), 50 events", "median ms", "p90 ms",
                           "model evaluations"],
                          [[n, f"{s['median_ms']:.1f}", f"{s['p90_ms']:.1f}", e]
                           for n, s, e in rows])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500, help="(shopper, item) pairs per set")
    parser.add_argument("--minutes-ml1m", type=float, default=8.0,
                        help="training cap of the ML-1M ranker in minutes")
    parser.add_argument("--minutes-scientific", type=float, default=5.0,
                        help="training cap of the Amazon Scientific ranker in minutes")
    parser.add_argument("--speed-pairs", type=int, default=SPEED_PAIRS,
                        help="ML-1M pairs timed for speed (after 2 warm-up pairs)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="folder holding the public datasets (relative to the repository root)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    root = require_datasets(args.datasets, [b.folder for b in BENCHES])
    info, code = machine(), code_version()
    minutes = {"ml-1m": args.minutes_ml1m, "amazon-scientific": args.minutes_scientific}
    results, speed_result = {}, None
    for bench in BENCHES:
        split, ranker, record = train(bench, root, minutes[bench.name])
        pairs = sample_pairs(ranker, list(split.users), args.pairs, MIN_EVENTS, SEED)
        summary = summarise_dataset(faithfulness(ranker, pairs, bench.name))
        results[bench.name] = {"model": record, **summary}
        print(f"\n### {bench.name} (test NDCG@10 {record['test_ndcg10']:.4f}, "
              f"{summary['pairs']} pairs)\n\n{faithfulness_table(summary, 'window')}\n\n"
              f"Deleted from the full history:\n\n{faithfulness_table(summary, 'full_history')}")
        if bench.name == "ml-1m":
            speed_result = speed(ranker, list(split.users), args.speed_pairs)
    print(f"\n### Setup\n\n{setup_table(results)}")
    print(f"\n### Agreement with SHAP\n\n{agreement_table(results)}")
    print(f"\n### Top-1 concentration\n\n{concentration_table(results)}")
    print(f"\n### Speed (ML-1M)\n\n{speed_table(speed_result)}\n\nSHAP / score call: "
          f"{speed_result['shap_over_score']:.0f}x")
    payload = {"benchmark": "explain-faithfulness", "machine": info, "code": code,
               "settings": {"max_len": MAX_LEN, "min_training_events": MIN_EVENTS,
                            "removed": TOP, "k": K, "seed": SEED,
                            "shap_permutations": DEFAULT_PERMUTATIONS, "pairs": args.pairs,
                            "training_minutes": minutes,
                            "towers": {b.name: asdict(b.tower) for b in BENCHES},
                            "datasets": rel(root)},
               "results": results, "speed_ml1m": speed_result,
               "peak_rss_mib": round(peak_rss_mb(), 1)}
    path = write_json("explain_faithfulness.json", payload)
    print(f"\nwrote {rel(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
