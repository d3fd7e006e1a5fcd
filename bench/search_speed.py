"""Product search latency on one CPU thread: 100k and 1M products, exact and HNSW, and where
the HNSW graph starts to pay (ANN_MIN_ITEMS in recdash/search/index.py).

`recdash.search.Searcher.search` (BM25 + MiniLM query encoding + retrieval + fusion + the
run's score over the candidates + the result frame and facets) is timed per query over
QUERIES distinct queries, REPEATS times after a warm-up, on synthetic catalogs tiled from real
product text:

- catalog: the Amazon Games titles (16,859) and Amazon Scientific titles, category paths,
  brands and texts (4,385), 21,244 real products, repeated with a copy number appended to the
  title ("... 3") until the wanted size;
- embeddings: the real all-MiniLM-L6-v2 vectors of those 21,244 texts (the workspaces' text
  caches), tiled the same way, each copy after the first plus Gaussian noise (NOISE per
  dimension, seeded, before the index's L2 normalisation: cosine to the original about 0.98);
- personalisation: an attention ranker over the whole catalog (2 layers, dim 64, histories of up
  to 50 events), freshly initialised as in bench/serving_scale.py, since latency does not depend
  on the weights; each query gets a real Amazon Games history (item codes mapped onto the
  catalog). `score_targets` over the candidates is part of every personalised query;
- queries: the word-dropped Games test queries of bench/search_queries_games.tsv (written by
  bench/search_relevance.py), warm-up queries disjoint from the timed ones.

The query's MiniLM encoding (ONNX Runtime, the product's default) is timed inside the search (a
timing wrapper round the encoder) and reported as a share. Peers measured in the same run on the same catalog: bm25s `retrieve` of the
top 20 for the query's terms (BM25 alone), and a plain numpy exact top 20 (`emb @ q` +
argpartition, the query vector given). The exact/ANN crossover times the semantic step alone
(`Searcher.semantic_top`, pool 1000) at each size, on one HNSW graph grown in steps with the
index's own settings, with the graph's recall of the exact top 1000 and top 20, and a whole
personalised search on the largest grown graph against the exact path on the same catalog.
The 1M catalog is timed on the exact path in the main run, and with its graph as
`SearchIndex.build(catalog, embeddings, ann=True)` makes it (one thread) with --big-graph-only,
which writes bench/results/search_speed_big_graph.json.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/search_speed.py [--workspace DIR] [--mid 100000] \
        [--big 1000000] [--graph-sizes 25000 50000 100000 200000] [--exact-sizes 500000] \
        [--queries 300] [--big-queries 100] [--step-queries 100] [--repeats 3]
    OMP_NUM_THREADS=1 .venv/bin/python bench/search_speed.py --workspace DIR --big-graph-only
    OMP_NUM_THREADS=1 .venv/bin/python bench/search_speed.py --workspace DIR --mid-only

The query encoder is the product's (`TextEncoder(runtime="onnx")`, as `open_searcher` makes
it); --mid-only also times the torch encoder in the same run, alternating repeats.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import DEFAULT_DATASETS, machine, markdown_table, peak_rss_mb, rel, write_json
from serving_scale import games_sequences

OUT = "search_speed.json"
QUERIES_TSV = Path(__file__).resolve().parent / "search_queries_games.tsv"
NOISE = 0.01
K, WARMUP, MAX_LEN = 20, 30, 50


class TimedEncoder:
    """The product's query encoder (a CPU TextEncoder on ONNX Runtime, as `open_searcher` makes
    it), or the torch one, recording the seconds of each call (the query's encoding)."""

    def __init__(self, int8: bool = False, runtime: str = "onnx") -> None:
        from recdash.text import TextEncoder

        self.encoder = TextEncoder(runtime="torch" if int8 else runtime,
                                   cache_dir=tempfile.mkdtemp(prefix="bench-onnx-"))
        self.seconds: list[float] = []
        if int8:  # a side check: torch's dynamic int8 quantisation of the query encoder
            import torch

            self.encoder._load()
            self.encoder._model = torch.ao.quantization.quantize_dynamic(
                self.encoder._model, {torch.nn.Linear}, dtype=torch.qint8)

    def encode(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.encoder.encode(texts)
        self.seconds.append(time.perf_counter() - start)
        return out


def base_products(ws) -> tuple[pd.DataFrame, np.ndarray]:
    """The real products (Games then Scientific) and their cached MiniLM vectors."""
    from recdash.text import embed_catalog

    frames, vectors = [], []
    for name in ("games", "scientific"):
        ds = ws.load_dataset(name)
        emb, _ = embed_catalog(ds.catalog, ws.dataset_dir(name) / "text-cache")
        frames.append(ds.catalog.drop(columns=["item_id"]))
        vectors.append(emb.astype(np.float32))
    return pd.concat(frames, ignore_index=True), np.concatenate(vectors)


def tiled(base: pd.DataFrame, vectors: np.ndarray, n: int, seed: int = 0
          ) -> tuple[pd.DataFrame, np.ndarray]:
    """An n-product catalog and its (n, 384) vectors, tiled from the real ones."""
    b = len(base)
    rows = np.arange(n) % b
    copy = np.arange(n) // b
    cat = base.iloc[rows].reset_index(drop=True)
    suffix = pd.Series(np.where(copy > 0, " " + copy.astype(str), ""), dtype="string")
    cat["title"] = cat["title"].astype("string") + suffix
    cat.insert(0, "item_id", pd.Series([f"p{i:07d}" for i in range(n)], dtype=object))
    emb = np.empty((n, vectors.shape[1]), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        emb[lo:hi] = vectors[rows[lo:hi]]
        noisy = copy[lo:hi] > 0
        emb[lo:hi][noisy] += NOISE * rng.standard_normal((int(noisy.sum()), vectors.shape[1]),
                                                         dtype=np.float32)
    return cat, emb


def ranker_service(catalog: pd.DataFrame):
    """A Service with a freshly initialised attention ranker over the catalog's products."""
    import torch

    from recdash.data import schema as S
    from recdash.data.dataset import Dataset
    from recdash.data.report import ValidationReport
    from recdash.models.attention import AttentionConfig, AttentionRanker, AttentionRankerNet
    from recdash.recommend import Service

    torch.manual_seed(0)
    net = AttentionRankerNet(AttentionConfig(n_items=len(catalog), max_len=MAX_LEN, dim=64,
                                             n_layers=2, dropout=0.0))
    items = catalog["item_id"].to_numpy(dtype=object)
    ds = Dataset("bench", pd.DataFrame(columns=[S.USER, S.ITEM]), catalog, ValidationReport())
    return Service(AttentionRanker.from_network(net, items), ds)


def histories(datasets: Path, n_items: int, count: int):
    """`count` real Amazon Games histories (last MAX_LEN events), item codes mod n_items."""
    from recdash.recommend import History

    seqs = games_sequences(datasets)[:count]
    return [History(np.asarray(s[-MAX_LEN:], np.int32) % n_items,
                    np.zeros(min(len(s), MAX_LEN), np.int8),
                    np.full(min(len(s), MAX_LEN), np.nan)) for s in seqs]


def read_queries(n: int) -> tuple[list[str], list[str]]:
    """(warm-up queries, n timed queries): distinct word-dropped Games test queries."""
    if not QUERIES_TSV.is_file():
        raise SystemExit(f"bench: {rel(QUERIES_TSV)} is missing; run bench/search_relevance.py "
                         "--only games first (it writes the queries)")
    frame = pd.read_csv(QUERIES_TSV, sep="\t", comment="#", dtype=str, keep_default_na=False)
    qs = list(dict.fromkeys(frame.loc[(frame["stage"] == "test") &
                                      (frame["variant"] == "drop"), "query"]))
    return qs[:WARMUP], qs[WARMUP:WARMUP + n]


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(np.mean(ms))}


def repeat_summary(runs: list[dict]) -> dict:
    """The median over repeats of each figure, and the runs."""
    keys = runs[0].keys()
    return {**{k: round(statistics.median(r[k] for r in runs), 3) for k in keys}, "runs": runs}


def time_search(index, service, queries, warmup, hists, repeats: int,
                encoder: TimedEncoder) -> dict:
    """Per-query latency of Searcher.search (fresh Searcher per repeat: no cached vectors)."""
    from recdash.search import Searcher, SearchSettings

    settings = SearchSettings(personal=0.3 if service is not None else 0.0)
    runs = []
    for rep in range(repeats):
        s = Searcher(index, service=service, encoder=encoder)
        for j, q in enumerate(warmup):
            s.search(q, k=K, history=hists[j] if hists else None, settings=settings)
        encoder.seconds.clear()
        ms = []
        for j, q in enumerate(queries):
            h = hists[(WARMUP + j) % len(hists)] if hists else None
            start = time.perf_counter()
            s.search(q, k=K, history=h, settings=settings)
            ms.append(1e3 * (time.perf_counter() - start))
        enc = [1e3 * x for x in encoder.seconds]
        runs.append({**percentiles(ms), "encode_p50_ms": float(np.median(enc)),
                     "encode_share_of_total": float(sum(enc) / sum(ms))})
    return repeat_summary(runs)


def time_peers(index, queries, repeats: int, encoder: TimedEncoder) -> dict:
    """bm25s retrieve top-K on the same BM25 index, and a plain numpy exact top-K."""
    from recdash.search import tokens as T

    vocab = index.bm25.vocab_dict
    term_lists = [[t for t in T.terms(q) if t in vocab] or [next(iter(vocab))]
                  for q in queries]
    vectors = encoder.encoder.encode(queries)
    emb32 = index.embeddings.astype(np.float32)  # the peer: a plain float32 numpy scan
    out = {}
    for name in ("bm25s retrieve", "numpy exact top-k"):
        runs = []
        for rep in range(repeats + 1):  # the first pass warms up, untimed
            ms = []
            for terms, v in zip(term_lists, vectors):
                start = time.perf_counter()
                if name == "bm25s retrieve":
                    index.bm25.retrieve([terms], k=K, show_progress=False, n_threads=1)
                else:
                    sims = emb32 @ v
                    top = np.argpartition(-sims, K)[:K]
                    top[np.argsort(-sims[top])]
                ms.append(1e3 * (time.perf_counter() - start))
            if rep:
                runs.append(percentiles(ms))
        out[name] = repeat_summary(runs)
    return out


def semantic_step(index, graph, vectors: np.ndarray, n: int, repeats: int,
                  exact_only: bool = False, base: int | None = None) -> dict:
    """Exact vs graph latency of Searcher.semantic_top over the first n products, and recall
    (with `base`, the number of real products tiled, also recall of the real products found:
    a copy of the same real product counts as found, since the copies differ only by noise)."""
    from recdash.search import Searcher

    sub = type(index)(index.items[:n], index.details.iloc[:n], None, [], index.embeddings[:n],
                      None)
    searchers = [("exact", Searcher(sub))]
    if not exact_only:
        searchers.append(("ann", Searcher(type(index)(sub.items, sub.details, None, [],
                                                      sub.embeddings, graph))))
    out = {"items": n}
    found = {}
    for name, s in searchers:
        runs = []
        for _ in range(repeats):
            ms, rows = [], []
            for v in vectors:
                start = time.perf_counter()
                r, _ = s.semantic_top(v, 1000, None)
                ms.append(1e3 * (time.perf_counter() - start))
                rows.append(r)
            runs.append(percentiles(ms))
        found[name] = rows
        out[name] = repeat_summary(runs)
    if exact_only:
        return out
    out["ann_recall@1000"] = float(np.mean([len(np.intersect1d(a, e)) / len(e)
                                            for a, e in zip(found["ann"], found["exact"])]))
    out["ann_recall@20"] = float(np.mean([len(np.intersect1d(a[:20], e[:20])) / 20
                                          for a, e in zip(found["ann"], found["exact"])]))
    if base:
        for k in (1000, 20):
            out[f"ann_real_product_recall@{k}"] = float(np.mean([
                len(np.intersect1d(a[:k] % base, e[:k] % base)) / len(np.unique(e[:k] % base))
                for a, e in zip(found["ann"], found["exact"])]))
    return out


def grow_graph(emb: np.ndarray, sizes: list[int]):
    """One HNSW graph over the first rows of `emb`, grown to each size in turn with the
    index's own settings (`recdash.search.index._ann`; one thread); yields (n, graph, seconds
    this step took)."""
    from recdash.search.index import _ann

    graph, done = None, 0
    for n in sorted(sizes):
        start = time.perf_counter()
        if graph is None:
            graph = _ann(emb[:n])
        else:
            graph.add(np.arange(done, n, dtype=np.uint64), emb[done:n], threads=1)
        done = n
        yield n, graph, time.perf_counter() - start


def big_with_graph(args, base, vectors, warmup, queries, hists, encoder) -> dict:
    """The big catalog as `SearchIndex.build(catalog, embeddings, ann=True)` makes it: build
    time, personalised latency, and the semantic step exact vs graph on the same vectors."""
    from recdash.search import SearchIndex

    cat, emb = tiled(base, vectors, args.big)
    start = time.perf_counter()
    index = SearchIndex.build(cat, emb, ann=True)
    out = {"items": args.big, "ann": True, "queries": args.big_queries,
           "build_seconds_with_graph": round(time.perf_counter() - start, 1)}
    del emb
    gc.collect()
    service = ranker_service(cat)
    out["personalised"] = time_search(index, service, queries[:args.big_queries], warmup,
                                      hists, args.repeats, encoder)
    del service
    gc.collect()
    qvec = encoder.encoder.encode(queries[:args.step_queries])
    out["semantic_step"] = semantic_step(index, index.ann, qvec, args.big, args.repeats,
                                         base=len(base))
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace",
                        default=str(Path(tempfile.gettempdir()) / "recdash-search-bench"),
                        help="the workspace bench/search_relevance.py used (text caches)")
    parser.add_argument("--datasets", default=DEFAULT_DATASETS)
    parser.add_argument("--mid", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--graph-sizes", type=int, nargs="*",
                        default=[25_000, 50_000, 100_000, 200_000],
                        help="sizes the HNSW graph is grown to, one step after another")
    parser.add_argument("--exact-sizes", type=int, nargs="*", default=[500_000],
                        help="further sizes where only the exact semantic step is timed")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--big-queries", type=int, default=100,
                        help="timed queries at --big (each one scans every vector)")
    parser.add_argument("--step-queries", type=int, default=100,
                        help="query vectors for the semantic-step crossover")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build-repeats", type=int, default=3)
    parser.add_argument("--int8-queries", action="store_true",
                        help="encode queries with a dynamically int8-quantised MiniLM (a side "
                             "check); writes search_speed_int8_queries.json")
    parser.add_argument("--mid-only", action="store_true",
                        help="only build --mid as the product does and time it, with the "
                             "product's query encoder (ONNX Runtime) and, as the peer in the "
                             "same run, the torch one; writes search_speed_mid.json")
    parser.add_argument("--big-graph-only", action="store_true",
                        help="only build --big with its HNSW graph and time it; writes "
                             "search_speed_big_graph.json")
    args = parser.parse_args()
    from recdash.search import SearchIndex
    from recdash.workspace import Workspace

    out = {"machine": machine(), "k": K, "queries": args.queries, "repeats": args.repeats,
           "step_queries": args.step_queries,
           "warmup_queries": WARMUP, "noise_per_dim": NOISE, "pool": 1000}
    ws = Workspace(Path(args.workspace))
    base, vectors = base_products(ws)
    out["real_products"] = len(base)
    warmup, queries = read_queries(args.queries)
    encoder = TimedEncoder(int8=args.int8_queries)
    encoder.encode(["warm the encoder"])
    out["query_runtime"] = encoder.encoder.runtime
    hists = histories(Path(args.datasets), args.mid, WARMUP + args.queries)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    if args.big_graph_only:
        out["big_graph"] = big = big_with_graph(args, base, vectors, warmup, queries, hists,
                                                encoder)
        f, step = big["personalised"], big["semantic_step"]
        table = markdown_table(
            ["products (HNSW)", "build s", "search p50 ms", "search p99 ms", "encode share",
             "semantic step exact p50 ms", "HNSW p50 ms", "HNSW recall@1000"],
            [[f"{args.big:,}", f"{big['build_seconds_with_graph']:.0f}", f"{f['p50_ms']:.1f}",
              f"{f['p99_ms']:.1f}", f"{f['encode_share_of_total']:.0%}",
              f"{step['exact']['p50_ms']:.1f}", f"{step['ann']['p50_ms']:.1f}",
              f"{step['ann_recall@1000']:.3f} (real products "
              f"{step['ann_real_product_recall@1000']:.3f})"]])
        print(table)
        out["table"] = table
        print(f"wrote {rel(write_json('search_speed_big_graph.json', out))}")
        return

    if args.mid_only:
        cat, emb = tiled(base, vectors, args.mid)
        index = SearchIndex.build(cat, emb)  # the graph too, from ANN_MIN_ITEMS products
        del emb
        service = ranker_service(cat)
        torch_encoder = TimedEncoder(runtime="torch")
        torch_encoder.encode(["warm the encoder"])
        mid = {"items": args.mid, "ann": index.ann is not None}
        # Alternating, so that both encoders see the same machine.
        for rep in range(args.repeats):
            for name, enc in (("personalised", encoder),
                              ("personalised_torch_queries", torch_encoder)):
                one = time_search(index, service, queries, warmup, hists, 1, enc)
                mid.setdefault(name, []).append(one["runs"][0])
            log(f"repeat {rep + 1}: {mid['personalised'][-1]['p99_ms']:.1f} ms p99 "
                f"(torch queries {mid['personalised_torch_queries'][-1]['p99_ms']:.1f})")
        for name in ("personalised", "personalised_torch_queries"):
            mid[name] = repeat_summary(mid[name])
        mid["anonymous"] = time_search(index, None, queries, warmup, None, args.repeats,
                                       encoder)
        out["mid"] = mid
        rows = [[f"{args.mid:,} {'HNSW' if mid['ann'] else 'exact'}, {mode.replace('_', ' ')}",
                 f"{mid[mode]['p50_ms']:.1f}", f"{mid[mode]['p99_ms']:.1f}",
                 f"{mid[mode]['encode_p50_ms']:.1f}", f"{mid[mode]['encode_share_of_total']:.0%}"]
                for mode in ("personalised", "personalised_torch_queries", "anonymous")]
        out["table"] = markdown_table(["search, k=20, one thread", "p50 ms", "p99 ms",
                                       "encode p50 ms", "encode share"], rows)
        out["peak_rss_mb"] = round(peak_rss_mb())
        print(out["table"])
        print(f"wrote {rel(write_json('search_speed_mid.json', out))}")
        return

    # 1. The mid catalog as the product builds it (its graph from ANN_MIN_ITEMS): build time
    #    and latency.
    cat, emb = tiled(base, vectors, args.mid)
    builds = []
    for _ in range(args.build_repeats):
        gc.collect()
        start = time.perf_counter()
        index = SearchIndex.build(cat, emb)  # the graph too, from ANN_MIN_ITEMS products
        builds.append(time.perf_counter() - start)
    mid = {"items": args.mid, "ann": index.ann is not None,
           "build_seconds_embeddings_cached": repeat_summary([{"s": b} for b in builds])}
    service = ranker_service(cat)
    mid["personalised"] = time_search(index, service, queries, warmup, hists, args.repeats,
                                      encoder)
    mid["anonymous"] = time_search(index, None, queries, warmup, None, args.repeats, encoder)
    mid["peers"] = time_peers(index, queries, args.repeats, encoder)
    out["mid"] = mid
    how = "HNSW" if mid["ann"] else "exact"
    log(f"{args.mid:,} {how}: {mid['personalised']['p50_ms']:.1f} ms p50 personalised")
    del index, service, cat, emb
    gc.collect()

    # 2. The big catalog, exact inner product (its graph would take too long to build here).
    cat, emb = tiled(base, vectors, args.big)
    start = time.perf_counter()
    index = SearchIndex.build(cat, emb, ann=False)
    big = {"items": args.big, "ann": False,
           "build_seconds_embeddings_cached": round(time.perf_counter() - start, 1)}
    del emb
    gc.collect()
    service = ranker_service(cat)
    big["queries"] = args.big_queries
    big["personalised"] = time_search(index, service, queries[:args.big_queries], warmup,
                                      hists, args.repeats, encoder)
    big["peers"] = time_peers(index, queries[:args.big_queries], args.repeats, encoder)
    out["big"] = big
    log(f"{args.big:,} exact: {big['personalised']['p50_ms']:.1f} ms p50 personalised")
    del service
    gc.collect()

    # 3. Exact vs HNSW: the semantic step at each size, and a whole search at the largest graph.
    qvec = encoder.encoder.encode(queries[:args.step_queries])
    cross, graph_block = [], None
    for n, graph, seconds in grow_graph(index.embeddings, args.graph_sizes):
        row = semantic_step(index, graph, qvec, n, args.repeats)
        row["graph_grow_seconds"] = round(seconds, 1)
        row["graph_vectors_per_second"] = round((n - sum(c["items"] for c in cross[-1:])) /
                                                seconds)
        cross.append(row)
        log(f"crossover {n:,}: exact {row['exact']['p50_ms']:.1f} ms, HNSW "
            f"{row['ann']['p50_ms']:.1f} ms, recall@1000 {row['ann_recall@1000']:.3f}")
        if n == max(args.graph_sizes):
            sub_cat = cat.iloc[:n].reset_index(drop=True)
            sub = SearchIndex.build(sub_cat, index.embeddings[:n], ann=False)
            sub.ann = graph  # the grown graph is what build(ann=True) makes, step by step
            service = ranker_service(sub_cat)
            graph_block = {"items": n, "ann": True,
                           "personalised": time_search(sub, service, queries, warmup, hists,
                                                       args.repeats, encoder)}
            sub.ann = None
            graph_block["personalised_exact_same_catalog"] = time_search(
                sub, service, queries, warmup, hists, args.repeats, encoder)
            del sub, service
    for n in [*args.exact_sizes, args.big]:
        row = semantic_step(index, None, qvec, n, args.repeats, exact_only=True)
        cross.append(row)
        log(f"exact semantic step {n:,}: {row['exact']['p50_ms']:.1f} ms")
    out["crossover"], out["graph"] = cross, graph_block
    out["peak_rss_mb"] = round(peak_rss_mb())

    rows = []
    for block in (mid, graph_block, big):
        if block is None:
            continue
        for mode in ("personalised", "personalised_exact_same_catalog", "anonymous"):
            if mode not in block:
                continue
            f = block[mode]
            how = "exact" if not block["ann"] or mode.endswith("exact_same_catalog") else "HNSW"
            rows.append([f"{block['items']:,} {how}, {mode.replace('_', ' ')}",
                         f"{f['p50_ms']:.1f}", f"{f['p99_ms']:.1f}",
                         f"{f['encode_p50_ms']:.1f}", f"{f['encode_share_of_total']:.0%}"])
        for name, f in block.get("peers", {}).items():
            rows.append([f"{block['items']:,} peer: {name} top {K}", f"{f['p50_ms']:.2f}",
                         f"{f['p99_ms']:.2f}", "(given)", ""])
    table = markdown_table(["search, k=20, one thread", "p50 ms", "p99 ms", "encode p50 ms",
                            "encode share"], rows)

    def cell(c, name, key):
        return f"{c[name][key]:.1f}" if name in c else "n/a"

    cross_table = markdown_table(
        ["products", "exact p50 ms", "HNSW p50 ms", "exact p99 ms", "HNSW p99 ms",
         "HNSW recall@1000", "HNSW recall@20"],
        [[f"{c['items']:,}", cell(c, "exact", "p50_ms"), cell(c, "ann", "p50_ms"),
          cell(c, "exact", "p99_ms"), cell(c, "ann", "p99_ms"),
          f"{c['ann_recall@1000']:.3f}" if "ann" in c else "n/a",
          f"{c['ann_recall@20']:.3f}" if "ann" in c else "n/a"] for c in cross])
    print(table, cross_table, sep="\n\n")
    print(f"index build, {args.mid:,} products, embeddings cached: "
          f"{mid['build_seconds_embeddings_cached']['s']:.1f} s (median of "
          f"{args.build_repeats}); {args.big:,} products without the graph: "
          f"{big['build_seconds_embeddings_cached']:.1f} s")
    out["table"], out["crossover_table"] = table, cross_table
    out["int8_queries"] = args.int8_queries
    name = OUT.replace(".json", "_int8_queries.json") if args.int8_queries else OUT
    print(f"wrote {rel(write_json(name, out))}")


if __name__ == "__main__":
    main()
