"""How well product search finds the product a shopper wanted: BM25, MiniLM and the hybrid.

Two public Amazon sets, each searched over its whole catalog through `recdash.search.Searcher`
(the studio's search path), top 100 per query:

- Amazon Scientific, the pseudo-query protocol of Ai et al., "Learning a Hierarchical Embedding
  Model for Personalized Product Search" (HEM, SIGIR 2017): each user's leave-one-out test
  purchase becomes a query made of the words of its category path (lower-cased, repeats
  removed, in order of first appearance); the purchased product is the one relevant result.
  Products with no category path give no query and are counted, not searched.
- Amazon Games (titles only), known-item search: a seeded sample of titles, each turned into a
  query by dropping about half its words ("drop"), or by swapping words through a small fixed
  synonym table and then dropping ("paraphrase"); the product the title came from is the
  relevant one. The queries are written to bench/search_queries_games.tsv.

Metrics per query, averaged: NDCG@10, MRR@100 (reciprocal rank, 0 beyond rank 100) and
Recall@100 (one relevant product, so HR@100). `lexical_weight` is chosen on validation queries
only (Scientific: the users' validation targets; Games: a separate seeded sample of titles) by
NDCG@10, and test figures are reported at the chosen weight and at the default 0.5.

Personalisation (Scientific): the same test pseudo-queries, each shopper's history before the
test purchase (the split's test context, as the evaluator reads it), the run's attention ranker
blended in at the `personal` weight chosen by MRR@100 on the validation pseudo-queries (with the
validation context). The run is trained through the CLI; its command is recorded.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/search_relevance.py [--workspace DIR] [--run ID] \
        [--datasets ../shared/datasets] [--only scientific|games] [--valid-users 1500]
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from recdash.search.engine import MAX_QUERY_CHARS

from common import DEFAULT_DATASETS, machine, markdown_table, rel, require_datasets, write_json
from defaults_vs_baselines import cli

OUT = "search_relevance.json"
QUERIES = Path(__file__).resolve().parent / "search_queries_games.tsv"
K = 100  # results read per query
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))  # lexical_weight grid
PERSONAL = tuple(round(0.1 * i, 1) for i in range(1, 10))  # personal weight grid
DEFAULT_WEIGHT = 0.5  # the default when these figures were first taken (now SearchSettings': 0.7)
GAMES_N, GAMES_TEST_SEED, GAMES_VALID_SEED, DROP_SEED = 1_000, 0, 1, 0
TRAIN_ARGS = ("train", "--data", "scientific", "--model", "attention", "--no-tune",
              "--max-minutes", "5", "--device", "cpu")

# Our own paraphrases of words common in video-game titles; every right side stems differently
# from its left side, so a swap always changes the BM25 terms.
SYNONYMS = {
    "controller": "gamepad", "controllers": "gamepads", "headset": "headphones",
    "wireless": "cordless", "case": "pouch", "charger": "charging", "cable": "cord",
    "adapter": "converter", "edition": "version", "bundle": "pack", "pack": "bundle",
    "stand": "holder", "sleeve": "pouch", "deluxe": "premium", "complete": "full",
    "racing": "driving", "war": "battle", "warfare": "combat", "soccer": "football",
    "guide": "walkthrough", "strategy": "tactics", "mini": "small", "portable": "handheld",
    "console": "system", "system": "console", "gaming": "gamer", "limited": "special",
    "special": "limited", "official": "licensed", "kit": "set", "wheel": "steering",
    "memory": "storage", "remote": "wand", "keyboard": "keypad", "battery": "powerpack",
    "ps4": "playstation 4", "ps3": "playstation 3", "ps2": "playstation 2",
}
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


FUSION = ["convex"]  # set from --fusion in main(); read where the settings are built


def query_alone(weight: float):
    """Search settings at this BM25 weight, without personalisation, in the chosen fusion."""
    from recdash.search import SearchSettings

    return SearchSettings(fusion=FUSION[0], lexical_weight=weight, personal=0.0)

def words(text: str) -> list[str]:
    """Lower-cased words of `text` (letters and digits; an inner apostrophe kept)."""
    return _WORD.findall(str(text).lower())


def category_query(path: object) -> str:
    """A HEM pseudo-query: the category path's words, repeats removed, first order kept (cut
    at a word to the search's MAX_QUERY_CHARS)."""
    if path is None or (isinstance(path, float) and math.isnan(path)) or str(path) in ("", "<NA>"):
        return ""
    query = " ".join(dict.fromkeys(words(path)))
    if len(query) > MAX_QUERY_CHARS:  # a few paths hold a whole description: cut at a word
        query = query[:MAX_QUERY_CHARS + 1].rsplit(" ", 1)[0]
    return query


def drop_words(ws: list[str], rng: np.random.Generator, keep_always: set[int] = frozenset()
               ) -> list[str]:
    """About half of `ws` (ceil), in order, always keeping the positions in `keep_always`."""
    want = max(1, math.ceil(len(ws) / 2), len(keep_always))
    free = [i for i in range(len(ws)) if i not in keep_always]
    picked = set(keep_always) | set(rng.choice(free, size=max(0, want - len(keep_always)),
                                               replace=False).tolist() if free else [])
    return [w for i, w in enumerate(ws) if i in picked]


def paraphrase(ws: list[str], rng: np.random.Generator) -> tuple[list[str], int]:
    """(`ws` with synonyms swapped in and then about half dropped, keeping every swapped word;
    the number of swaps)."""
    swapped = [SYNONYMS.get(w, w) for w in ws]
    changed = {i for i, (a, b) in enumerate(zip(ws, swapped)) if a != b}
    return drop_words(swapped, rng, changed), len(changed)


def games_queries(catalog, seed_test: int, seed_valid: int, n: int) -> list[dict]:
    """Seeded known-item queries over the Games titles, test and validation samples disjoint."""
    ids = catalog["item_id"].astype(str).to_numpy()
    titles = catalog["title"].astype(str).to_numpy()
    order_test = np.random.default_rng(seed_test).permutation(len(ids))
    test_rows = order_test[:n]
    rest = np.setdiff1d(np.arange(len(ids)), test_rows)
    valid_rows = np.random.default_rng(seed_valid).permutation(rest)[:n]
    out = []
    for stage, rows in (("test", test_rows), ("valid", valid_rows)):
        for row in rows:
            ws = words(titles[row])
            rng = np.random.default_rng([DROP_SEED, int(row)])  # one stream per title
            out.append({"stage": stage, "variant": "drop", "item_id": ids[row],
                        "query": " ".join(drop_words(ws, rng)), "swaps": 0})
            para, swaps = paraphrase(ws, rng)
            out.append({"stage": stage, "variant": "paraphrase", "item_id": ids[row],
                        "query": " ".join(para), "swaps": swaps})
    return out


def write_queries(queries: list[dict]) -> None:
    """The Games queries as TSV (our own text and the item ID; no titles)."""
    lines = [f"# known-item queries over Amazon Games titles; bench/search_relevance.py; "
             f"test seed {GAMES_TEST_SEED}, validation seed {GAMES_VALID_SEED}, "
             f"word-drop seed {DROP_SEED} (one stream per title row)",
             "stage\tvariant\titem_id\tswaps\tquery"]
    lines += [f"{q['stage']}\t{q['variant']}\t{q['item_id']}\t{q['swaps']}\t{q['query']}"
              for q in queries]
    QUERIES.write_text("\n".join(lines) + "\n", encoding="utf-8")


class CachedEncoder:
    """The CPU TextEncoder with every query vector kept (queries repeat across settings)."""

    def __init__(self, int8: bool = False) -> None:
        from recdash.text import TextEncoder

        self.encoder = TextEncoder()
        self.vectors: dict[str, np.ndarray] = {}
        if int8:  # a side check: torch's dynamic int8 quantisation of the query encoder
            import torch

            self.encoder._load()
            self.encoder._model = torch.ao.quantization.quantize_dynamic(
                self.encoder._model, {torch.nn.Linear}, dtype=torch.qint8)

    def prime(self, texts: list[str]) -> None:
        """Encode the texts not yet kept, in batches."""
        new = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        for t, v in zip(new, self.encoder.encode(new)):
            self.vectors[t] = v

    def encode(self, texts: list[str]) -> np.ndarray:
        self.prime(list(texts))
        return np.stack([self.vectors[t] for t in texts])


def ranking_searcher(index, service=None, encoder=None):
    """A Searcher whose answer skips the display-only parts: the title highlighting, matched
    words and facets (`_frame`, `_facets`). Retrieval, fusion, personalisation and the order
    are the library's own code; only the frame built from the ranked rows is smaller. (The
    full frame costs about half of a k=100 query: see bench/search_speed.py.)"""
    import pandas as pd

    from recdash.search import Searcher

    class RankingSearcher(Searcher):
        def _frame(self, rows, score, relevance, bm25, cosine, raw, terms) -> pd.DataFrame:
            return pd.DataFrame({"rank": np.arange(1, len(rows) + 1),
                                 "item_id": self.index.items[rows],
                                 "score": np.asarray(score, dtype=float)})

        def _facets(self, rows) -> dict:
            return {}

    return RankingSearcher(index, service=service, encoder=encoder)


def scores(ranks: np.ndarray) -> dict:
    """NDCG@10, MRR@100 and Recall@100 of 1-based ranks of the relevant product (0 = not in
    the top K)."""
    r = np.asarray(ranks, dtype=np.float64)
    found = r > 0
    ndcg = np.where(found & (r <= 10), 1.0 / np.log2(r + 1.0, where=found, out=np.ones_like(r)),
                    0.0)
    mrr = np.where(found, 1.0 / np.where(found, r, 1.0), 0.0)
    return {"NDCG@10": float(ndcg.mean()), "MRR@100": float(mrr.mean()),
            "Recall@100": float(found.mean()), "queries": int(len(r))}


def rank_of(result, item: str) -> int:
    """The relevant product's 1-based rank in a result (0 when absent)."""
    hit = np.flatnonzero(result.frame["item_id"].astype(str).to_numpy() == item)
    return int(hit[0]) + 1 if len(hit) else 0


def ranks_by_query(searcher, queries: list[str], targets: list[str], settings) -> np.ndarray:
    """Ranks without personalisation: each distinct query is searched once."""
    top: dict[str, dict[str, int]] = {}
    for q in dict.fromkeys(queries):
        frame = searcher.search(q, k=K, settings=settings).frame
        top[q] = {str(i): r for i, r in zip(frame["item_id"], frame["rank"])}
    return np.array([top[q].get(t, 0) for q, t in zip(queries, targets)], dtype=np.int64)


def sweep(searcher, queries, targets) -> dict[float, dict]:
    """Figures at every lexical weight of the grid."""
    return {w: scores(ranks_by_query(searcher, queries, targets, query_alone(w)))
            for w in WEIGHTS}


def choose(grid: dict[float, dict], metric: str) -> float:
    """The grid point with the best `metric` (ties: the one nearest 0.5)."""
    return max(grid, key=lambda w: (round(grid[w][metric], 6), -abs(w - 0.5)))


def fmt(x: float) -> str:
    return f"{x:.4f}"


def table_rows(label: str, figures: dict[str, dict]) -> list[list[str]]:
    return [[f"{label}: {name}", fmt(f["NDCG@10"]), fmt(f["MRR@100"]), fmt(f["Recall@100"]),
             f"{f['queries']:,}"] for name, f in figures.items()]


def relevance_block(searcher, valid: tuple, test: tuple,
                    groups: dict[str, np.ndarray] | None = None) -> dict:
    """Validation sweep, chosen weight, test figures of the three retrievers (and of each
    group of test queries: a boolean mask per group)."""
    start = time.perf_counter()
    grid = sweep(searcher, *valid)
    chosen = choose({w: g for w, g in grid.items() if 0 < w < 1}, "NDCG@10")
    test_at, by_group = {}, {name: {} for name in groups or {}}
    for name, w in (("BM25 only", 1.0), ("semantic only", 0.0),
                    (f"hybrid, default {DEFAULT_WEIGHT}", DEFAULT_WEIGHT),
                    (f"hybrid, tuned {chosen}", chosen)):
        ranks = ranks_by_query(searcher, *test, query_alone(w))
        test_at[name] = scores(ranks)
        for group, mask in (groups or {}).items():
            by_group[group][name] = scores(ranks[mask])
    hybrid = test_at[f"hybrid, tuned {chosen}"]["NDCG@10"]
    beats = hybrid > max(test_at["BM25 only"]["NDCG@10"], test_at["semantic only"]["NDCG@10"])
    out = {"valid_sweep": {str(w): g for w, g in grid.items()}, "chosen_lexical_weight": chosen,
           "test": test_at, "hybrid_beats_both_on_ndcg10": bool(beats),
           "seconds": round(time.perf_counter() - start, 1)}
    if groups:
        out["test_by_group"] = by_group
    return out


def scientific(ws, run_id: str, valid_users: int, encoder: CachedEncoder) -> dict:
    """Pseudo-queries from category paths; non-personalised and personalised figures."""
    from recdash.recommend import History
    from recdash.runs.load import load_run
    from recdash.search import SearchSettings, load_or_build

    ds = ws.load_dataset("scientific")
    start = time.perf_counter()
    index = load_or_build(ws, ds)
    index_seconds = time.perf_counter() - start
    service = load_run(ws, run_id, device="cpu")  # what `recdash recommend` does
    split = service.split
    category = ds.catalog.set_index("item_id")["category"]
    stages = {}
    for name in ("valid", "test"):
        st = split.stage(name)
        targets = [str(split.items[i]) for i in st.targets.items]
        queries = [category_query(category.get(t)) for t in targets]
        keep = np.array([bool(q) for q in queries])
        stages[name] = {"stage": st, "targets": targets, "queries": queries, "keep": keep}
    encoder.prime([q for s in stages.values() for q, k in zip(s["queries"], s["keep"]) if k])

    def kept(name):
        s = stages[name]
        return ([q for q, k in zip(s["queries"], s["keep"]) if k],
                [t for t, k in zip(s["targets"], s["keep"]) if k])

    plain = ranking_searcher(index, encoder=encoder)
    block = relevance_block(plain, kept("valid"), kept("test"))
    w = block["chosen_lexical_weight"]

    # Personalisation: per shopper, history before the target (the evaluator's context).
    personal_searcher = ranking_searcher(index, service=service, encoder=encoder)

    def personal_ranks(name: str, rows: np.ndarray, personal: float) -> np.ndarray:
        s = stages[name]
        st = s["stage"]
        hist, events, times = split.sequences.select_context(st.users[rows], st.cut[rows])
        settings = SearchSettings(fusion=FUSION[0], lexical_weight=w,
                                  personal=personal)
        out = np.zeros(len(rows), dtype=np.int64)
        for j, row in enumerate(rows):
            res = personal_searcher.search(s["queries"][row], k=K,
                                           history=History(hist[j], events[j], times[j]),
                                           settings=settings)
            out[j] = rank_of(res, s["targets"][row])
        return out

    start = time.perf_counter()
    valid_rows = np.flatnonzero(stages["valid"]["keep"])
    valid_rows = np.sort(np.random.default_rng(0).permutation(valid_rows)[:valid_users])
    v_targets = [stages["valid"]["targets"][r] for r in valid_rows]
    v_queries = [stages["valid"]["queries"][r] for r in valid_rows]
    personal_grid = {0.0: scores(ranks_by_query(plain, v_queries, v_targets,
                                                query_alone(w)))}
    for p in PERSONAL:
        personal_grid[p] = scores(personal_ranks("valid", valid_rows, p))
    chosen_p = max(personal_grid, key=lambda p: round(personal_grid[p]["MRR@100"], 6))
    test_rows = np.flatnonzero(stages["test"]["keep"])
    test_plain = block["test"][f"hybrid, tuned {w}"]
    test_personal = scores(personal_ranks("test", test_rows, chosen_p)) if chosen_p > 0 \
        else test_plain
    gain = test_personal["MRR@100"] / test_plain["MRR@100"] - 1 if test_plain["MRR@100"] else None
    n_test = len(stages["test"]["keep"])
    return {
        "catalog_items": len(index), "index_seconds": round(index_seconds, 1),
        "run": run_id,
        "queries": {name: {"targets": len(s["keep"]), "with_query": int(s["keep"].sum()),
                           "distinct_queries": len({q for q in s["queries"] if q}),
                           "skipped_no_category": int((~s["keep"]).sum()),
                           "cut_to_max_chars": sum(
                               len(" ".join(dict.fromkeys(words(category.get(t))))) >
                               MAX_QUERY_CHARS for t, k in zip(s["targets"], s["keep"]) if k)}
                    for name, s in stages.items()},
        "example_queries": [q for q in stages["test"]["queries"] if q][:5],
        **block,
        "personalisation": {
            "lexical_weight": w, "valid_users_sampled": int(len(valid_rows)),
            "valid_sweep": {str(p): g for p, g in personal_grid.items()},
            "chosen_personal": chosen_p,
            "test_non_personalised": test_plain, "test_personalised": test_personal,
            "relative_mrr_gain": gain, "goal_met": bool(gain is not None and gain >= 0.20),
            "seconds": round(time.perf_counter() - start, 1),
            "note": f"{n_test:,} test shoppers; histories = the split's test context "
                    "(Split.sequences.select_context(stage.users, stage.cut), as "
                    "recdash.eval.evaluate reads it), never Service.history_of"},
    }


def games(ws, encoder: CachedEncoder) -> dict:
    """Known-item queries over the Games titles, by variant."""
    from recdash.search import load_or_build

    ds = ws.load_dataset("games")
    start = time.perf_counter()
    index = load_or_build(ws, ds)
    index_seconds = time.perf_counter() - start
    queries = games_queries(ds.catalog, GAMES_TEST_SEED, GAMES_VALID_SEED, GAMES_N)
    write_queries(queries)
    encoder.prime([q["query"] for q in queries])
    searcher = ranking_searcher(index, encoder=encoder)

    def pick(stage, variant=None):
        chosen = [q for q in queries if q["stage"] == stage and variant in (None, q["variant"])]
        return [q["query"] for q in chosen], [q["item_id"] for q in chosen]

    variants = np.array([q["variant"] for q in queries if q["stage"] == "test"])
    block = relevance_block(searcher, pick("valid"), pick("test"),
                            {v: variants == v for v in ("drop", "paraphrase")})
    para = [q for q in queries if q["variant"] == "paraphrase" and q["stage"] == "test"]
    titles = ds.catalog["title"].astype(str)
    return {"catalog_items": len(index), "index_seconds": round(index_seconds, 1),
            "queries_file": rel(QUERIES), "test_items": GAMES_N, "valid_items": GAMES_N,
            "paraphrases_with_a_swap": sum(q["swaps"] > 0 for q in para) / len(para),
            "duplicate_title_items": int(titles.duplicated(keep=False).sum()),
            **block}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace",
                        default=str(Path(tempfile.gettempdir()) / "recdash-search-bench"))
    parser.add_argument("--datasets", default=DEFAULT_DATASETS)
    parser.add_argument("--run", help="a finished attention run on scientific (default: train "
                                      "one through the CLI)")
    parser.add_argument("--only", choices=("scientific", "games"))
    parser.add_argument("--fusion", default="convex", choices=("convex", "rrf"),
                        help="the fusion of BM25 and semantic scores (SearchSettings.fusion)")
    parser.add_argument("--int8-queries", action="store_true",
                        help="encode queries with a dynamically int8-quantised MiniLM (a side "
                             "check; the products' vectors stay float)")
    parser.add_argument("--valid-users", type=int, default=1_500,
                        help="validation shoppers sampled to choose the personal weight")
    args = parser.parse_args()
    FUSION[0] = args.fusion
    from recdash.workspace import Workspace

    root = require_datasets(args.datasets, ["amazon-scientific", "amazon-games"])
    workspace = Path(args.workspace)
    ws = Workspace(workspace)
    out = {"machine": machine(), "fusion": args.fusion, "int8_queries": args.int8_queries, "k": K,
           "metrics": "NDCG@10, MRR@100 (0 beyond rank 100), Recall@100; one relevant product "
           "per query; whole catalog searched",
           "lexical_weight_grid": list(WEIGHTS), "personal_grid": list(PERSONAL)}
    encoder = CachedEncoder(int8=args.int8_queries)
    names = [args.only] if args.only else ["scientific", "games"]
    for name, folder in (("scientific", "amazon-scientific"), ("games", "amazon-games")):
        if name in names and not ws.has_dataset(name):
            call = cli(workspace, "import", "--public", str(root / folder), "--name", name)
            out.setdefault("imports", {})[name] = {"command": call["args"], "rc": call["rc"]}
    if "scientific" in names:
        run_id = args.run
        train_record = {"command": ["recdash", *TRAIN_ARGS, "--json"], "given_run": run_id}
        if run_id is None:
            call = cli(workspace, *TRAIN_ARGS)
            run_id = call["payload"].get("run")
            train_record.update(rc=call["rc"], seconds=call["seconds"])
        overall = ws.metrics(run_id).get("all", {})
        train_record["test_metrics"] = {k: overall.get(k) for k in ("NDCG@10", "HR@10",
                                                                    "MRR@10")}
        out["scientific"] = {"train": train_record, **scientific(ws, run_id, args.valid_users,
                                                                  encoder)}
    if "games" in names:
        out["games"] = games(ws, encoder)
    rows = []
    for name in names:
        rows += table_rows(name, out[name]["test"])
    if "scientific" in out:
        p = out["scientific"]["personalisation"]
        rows += table_rows("scientific", {f"personalised, personal {p['chosen_personal']}":
                                          p["test_personalised"]})
    if "games" in out:
        for variant, figs in out["games"]["test_by_group"].items():
            rows += table_rows(f"games/{variant}", figs)
    table = markdown_table(["test queries: retriever", "NDCG@10", "MRR@100", "Recall@100",
                            "queries"], rows)
    print(table)
    out["table"] = table
    suffix = ((f"_{args.only}" if args.only else "") + ("_rrf" if args.fusion == "rrf" else "")
              + ("_int8_queries" if args.int8_queries else ""))
    print(f"wrote {rel(write_json(OUT.replace('.json', suffix + '.json'), out))}")


if __name__ == "__main__":
    main()
