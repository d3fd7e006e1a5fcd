"""Personalised product search: a query's best matches for one shopper, with why.

One query runs in four steps, each a plain function of arrays:
1. retrieve: BM25 over the query's terms (typos corrected against the catalog's words) and the
   inner product of the query's MiniLM vector with every product's; each keeps its best `pool`;
2. fuse: a convex combination of the normalised scores, `lexical_weight` on BM25 and the rest
   on the cosine (or reciprocal-rank fusion of the two lists: Cormack, Clarke & Buettcher,
   SIGIR 2009), scaled so the best candidate has relevance 1;
3. personalise: the run's own score for each candidate after the shopper's history (the
   serving path's `score_targets`: the attention ranker reads a session's newest events),
   min-max scaled over the candidates, blended as (1 - personal) * relevance + personal *
   preference over the `depth` most relevant candidates, which then come first (a two-stage
   re-ranking: taste re-orders what matches, never lifts what does not). An anonymous or cold
   shopper gets the query alone;
4. re-rank (optional): a diversity setting over the blended list, as for recommendations.

`Searcher.search` returns a `SearchResult`: the ranked frame with every part of each score,
the matched words highlighted in the title, the corrections and notes the studio shows, and
facet counts over the most relevant candidates.
"""

from __future__ import annotations

from collections import Counter

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.recommend import History, check_k
from recdash.search import tokens as T
from recdash.search.index import SearchIndex
from recdash.search.settings import Filters, SearchSettings

RRF_K = 60  # the fusion constant of Cormack et al.
MAX_QUERY_CHARS = 500
QUERY_CACHE = 256  # query vectors kept (a page rerun, a slider move: the same query again)
RESULT_COLUMNS = ("rank", S.ITEM, S.TITLE, S.CATEGORY, S.BRAND, S.PRICE, "score", "relevance",
                  "bm25", "semantic", "personal", "matched", "highlighted")


@dataclass
class SearchResult:
    """One query's answer.

    Attributes:
        frame: RESULT_COLUMNS, best first. `score` is the blended score, `relevance` the fused
            query relevance (best candidate 1), `bm25` and `semantic` the two retrievers' raw
            scores (NaN where the retriever is off), `personal` the run's raw score for the
            shopper (NaN without personalisation or for a product the run does not know),
            `matched` the query words found in the product, `highlighted` the title with them
            in bold.
        query: the query as given.
        terms: the BM25 terms searched for.
        corrections: query word -> the catalog word searched instead.
        notes: plain sentences for the analyst (fallbacks, what was left out).
        personalised: whether a history shaped the order.
        facets: "category", "brand" -> counts (value, count) over the `depth` most relevant
            candidates, whatever the shopper's taste: where a filter would lead.
        seconds: time taken.
    """

    frame: pd.DataFrame
    query: str
    terms: list[str]
    corrections: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    personalised: bool = False
    facets: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0


def rrf(ranks: Sequence[np.ndarray], weights: Sequence[float], k: int = RRF_K) -> np.ndarray:
    """Weighted reciprocal-rank fusion: sum of weight / (k + rank) over the lists where a
    candidate is ranked (rank from 1; 0 = not in that list)."""
    out = np.zeros(len(ranks[0]), dtype=np.float64)
    for r, w in zip(ranks, weights):
        r = np.asarray(r)
        out += np.where(r > 0, w / (k + np.maximum(r, 1)), 0.0)
    return out


def fuse(settings: SearchSettings, bm25: np.ndarray, cosine: np.ndarray, lex_rank: np.ndarray,
         sem_rank: np.ndarray) -> np.ndarray:
    """Each candidate's query relevance, the best 1.

    "convex": lexical_weight * BM25 / its best + (1 - lexical_weight) * the cosine min-max
    scaled over the candidates (a convex combination of normalised scores: Bruch, Gai &
    Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", TOIS 2023, find it beats
    RRF once its weight is tuned, since it keeps how far apart the scores are). "rrf": weighted
    reciprocal-rank fusion of the two lists' ranks (0 = not in a list).
    """
    w = settings.lexical_weight
    if settings.fusion == "rrf":
        fused = rrf([lex_rank, sem_rank], [w, 1 - w])
    else:
        top = float(np.max(bm25)) if len(bm25) else 0.0
        lex = bm25 / top if top > 0 else np.zeros(len(bm25))
        known = ~np.isnan(cosine)
        sem = np.zeros(len(cosine))
        if known.any():
            sem[known] = minmax(cosine[known])
        fused = w * lex + (1 - w) * sem if known.any() else lex
    best = float(fused.max()) if len(fused) else 0.0
    return fused / best if best > 0 else np.ones(len(fused))


def minmax(values: np.ndarray) -> np.ndarray:
    """`values` scaled onto [0, 1] (all equal: all 1)."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi - lo <= 1e-12:
        return np.ones_like(values, dtype=np.float64)
    return (values - lo) / (hi - lo)


def blend(relevance: np.ndarray, preference: np.ndarray, personal: float) -> np.ndarray:
    """The final score: (1 - personal) * relevance + personal * preference."""
    return (1.0 - personal) * relevance + personal * preference


def _top(scores: np.ndarray, pool: int, floor: float | None = None) -> np.ndarray:
    """Rows of the `pool` best finite scores (above `floor` when given), best first."""
    # With a floor, `scores > floor` already drops NaN; only BM25 uses one, and it is finite.
    rows = np.flatnonzero(np.isfinite(scores) if floor is None else scores > floor)
    if len(rows) > pool:
        part = np.argpartition(-scores[rows], pool - 1)[:pool]
        rows = rows[part]
    return rows[np.argsort(-scores[rows], kind="stable")]


class Searcher:
    """Search over one index, optionally personalised by a run's serving path.

    Args:
        index: the catalog's SearchIndex.
        service: a run's Service (its model scores the candidates for a shopper); None for
            search without personalisation.
        encoder: the query encoder (default: a CPU TextEncoder on ONNX Runtime, loaded at the
            first query; `open_searcher` keeps its exported model in the workspace).
    """

    def __init__(self, index: SearchIndex, service=None, encoder=None) -> None:
        self.index = index
        self.service = service
        self._encoder = encoder
        self._vocab_ids = index.bm25.vocab_dict if index.bm25 is not None else {}
        self._vectors: dict[str, np.ndarray] = {}
        self._codes: np.ndarray | None = None  # row -> the run's item code (-1: new to it)

    def run_codes(self, rows: np.ndarray) -> np.ndarray:
        """The run's internal index of each product row (-1 where the run does not know it);
        the whole catalog's are looked up once per searcher, not per query."""
        if self.service is None:
            return np.full(len(rows), -1, dtype=np.int64)
        if self._codes is None:
            self._codes = np.asarray(self.service.model.codes_of(self.index.items), np.int64)
        return self._codes[rows]

    # Retrieval -----------------------------------------------------------------------------
    def analyse(self, query: str) -> tuple[list[str], dict[str, str], list[str]]:
        """(BM25 terms the index holds, corrections, words neither found nor corrected)."""
        corrections, unknown, found = {}, [], []
        for w in T.words(query):
            if any(t in self._vocab_ids for t in T.word_terms(w)):
                found.append(w)  # the index holds it (or a part of it: "512" of "512gb")
                continue
            fixed = T.correct(w, self.index.vocabulary, self.index.known)
            if fixed is None:
                if w not in T.STOPWORDS:
                    unknown.append(w)
                continue
            if fixed != w:
                corrections[w] = fixed
            found.append(fixed)
        terms = [t for w in found for t in T.word_terms(w) if t in self._vocab_ids]
        return list(dict.fromkeys(terms)), corrections, unknown

    def lexical_scores(self, terms: Sequence[str]) -> np.ndarray:
        """(n,) BM25 score of every product for these terms (0 where none matches).

        What bm25s's `get_scores` computes, read straight from its precomputed score matrix
        (one sparse column per term): a term's products are distinct, so its column adds by
        fancy indexing instead of the much slower `np.add.at` of bm25s's numpy path.
        """
        bm25 = self.index.bm25
        out = np.zeros(len(self.index), dtype=np.float32)
        if not terms or bm25 is None:
            return out
        matrix = bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        ids = [self._vocab_ids[t] for t in dict.fromkeys(terms)]
        for t in ids:
            lo, hi = indptr[t], indptr[t + 1]
            out[indices[lo:hi]] += data[lo:hi]
        if bm25.nonoccurrence_array is not None:  # BM25L and BM25+ score absent terms too
            out += bm25.nonoccurrence_array[ids].sum()
        return out

    def query_vector(self, query: str) -> np.ndarray:
        """The query's unit MiniLM vector (the last few queries' are kept)."""
        if query in self._vectors:
            return self._vectors[query]
        if self._encoder is None:
            from recdash.text import TextEncoder

            self._encoder = TextEncoder(runtime="onnx")
        vector = self._encoder.encode([query])[0]
        if len(self._vectors) >= QUERY_CACHE:
            self._vectors.pop(next(iter(self._vectors)))
        self._vectors[query] = vector
        return vector

    def semantic_top(self, vector: np.ndarray, pool: int, mask: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cosines) of the `pool` products nearest the query vector, best first."""
        idx = self.index
        graph = idx.ann
        if graph is not None and (mask is None or mask.sum() > 20 * pool):
            want = pool if mask is None else 4 * pool  # filtered: oversample, then keep
            found = graph.search(vector.astype(np.float16), min(want, len(idx)), threads=1)
            rows = np.asarray(found.keys, dtype=np.int64)
            sims = 1.0 - np.asarray(found.distances, dtype=np.float32)  # ip distance = 1 - ip
            if mask is not None:
                keep = mask[rows]
                rows, sims = rows[keep][:pool], sims[keep][:pool]
            return rows, sims
        if mask is not None and graph is not None:  # a selective filter: exact over its rows
            sub = np.flatnonzero(mask)
            sims = idx.cosines(sub, vector)
            best = _top(sims, pool)
            return sub[best], sims[best]
        sims = idx.similarities(vector)  # (n,)
        if mask is not None:
            sims = np.where(mask, sims, -np.inf)
        rows = _top(sims, pool)
        return rows, sims[rows]

    # The query -----------------------------------------------------------------------------
    def search(self, query: str, k: int = 20, history: History | None = None,
               settings: SearchSettings = SearchSettings(), filters: Filters = Filters(),
               rerank=None, semantic: bool = True) -> SearchResult:
        """The `k` best products for `query`, for the shopper whose events are `history`.

        Args:
            query: what the shopper typed.
            k: results wanted (1..MAX_K).
            history: the shopper's or session's events in the run's terms (None or empty:
                anonymous, the query alone).
            settings: fusion and personalisation weights.
            filters: category, brand and price filters.
            rerank: (a re-ranking of one list, candidates) from `recdash.rerank.run.reranker`.
            semantic: use semantic retrieval (when the index has vectors).

        Raises:
            RecdashError: an empty query, an empty catalog, k out of range.
        """
        start = time.perf_counter()
        k = check_k(k)
        text = "" if query is None else str(query).strip()
        if not text:
            raise RecdashError("the query is empty. Fix: type a few words, e.g. a product "
                               "type, a brand or a model number")
        if len(text) > MAX_QUERY_CHARS:
            raise RecdashError(f"the query has {len(text):,} characters; keep it under "
                               f"{MAX_QUERY_CHARS} (a few words find more than a paragraph)")
        if not len(self.index):
            raise RecdashError("the catalog has no products to search. Fix: import a catalog "
                               "(Data page, or recdash import --catalog FILE)")
        idx = self.index
        terms, corrections, unknown = self.analyse(text)
        notes = [f"No product mentions {w!r}; searched for {f!r} instead."
                 for w, f in corrections.items()]
        mask = filters.mask(idx.details)
        if mask is not None and not mask.any():
            return SearchResult(self._frame(np.zeros(0, np.int64), *([np.zeros(0)] * 5), terms),
                                text, terms, corrections,
                                notes + ["No product matches the filters. Fix: widen or clear "
                                         "them."], seconds=time.perf_counter() - start)
        pool = max(settings.pool, k)
        bm25 = self.lexical_scores(terms)
        if mask is not None:
            bm25 = np.where(mask, bm25, 0.0).astype(np.float32)
        lex_rows = _top(bm25, pool, floor=0.0)
        use_sem = semantic and idx.semantic and settings.lexical_weight < 1.0
        if not idx.semantic and semantic and settings.lexical_weight < 1.0:
            notes.append("Words only: this catalog has no text vectors (the text model was not "
                         "available when it was indexed).")
        sem_rows, sem_sims = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if use_sem:
            try:
                sem_rows, sem_sims = self.semantic_top(self.query_vector(text), pool, mask)
            except RecdashError as err:  # the text model is missing on this host
                use_sem = False
                notes.append(f"Words only: the query could not be encoded ({err}).")
        if not len(lex_rows):
            if unknown:
                notes.append("No product contains " + ", ".join(repr(w) for w in unknown) +
                             ("; these are the closest in meaning." if use_sem else "."))
        cands = np.unique(np.concatenate([lex_rows, sem_rows])).astype(np.int64)
        if not len(cands):
            notes.append("Nothing matched; showing the best sellers instead.")
            cands = self._fallback(pool, mask)
        cosine = np.full(len(cands), np.nan)
        if use_sem:
            where = pd.Index(sem_rows).get_indexer(cands)
            cosine[where >= 0] = sem_sims[where[where >= 0]]
            missing = where < 0
            if missing.any():
                cosine[missing] = idx.cosines(cands[missing], self.query_vector(text))
        relevance = fuse(settings, bm25[cands], cosine, _rank_of(cands, lex_rows),
                         _rank_of(cands, sem_rows))
        # The shopper re-orders the `depth` most relevant candidates only: a product that
        # barely matches the query never climbs above one that does on taste alone.
        head = np.zeros(len(cands), dtype=bool)
        head[np.lexsort((cands, -relevance))[:settings.depth]] = True
        facets = self._facets(cands[head])
        raw, preference = self.preference(cands, history, head)
        weight = settings.personal if preference is not None else 0.0
        final = blend(relevance, preference if preference is not None else 0.0, weight)
        order = np.lexsort((cands, -np.where(head, final, relevance), ~head))  # ties: catalog
        cands, final, relevance, cosine, raw = (a[order] for a in (cands, final, relevance,
                                                                   cosine, raw))
        if rerank is not None:
            chosen = self._rerank(cands, final, history, rerank, k)
            pos = pd.Index(cands).get_indexer(chosen)
        else:
            pos = np.arange(min(k, len(cands)))
        frame = self._frame(cands[pos], final[pos], relevance[pos], bm25[cands[pos]],
                            cosine[pos], raw[pos], terms)
        if not use_sem:
            frame["semantic"] = np.nan
        return SearchResult(frame, text, terms, corrections, notes,
                            personalised=weight > 0, facets=facets,
                            seconds=time.perf_counter() - start)

    def preference(self, rows: np.ndarray, history: History | None,
                   head: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """The run's raw score of each candidate in `head` (all when None; NaN elsewhere and
        where the run does not know the product), and their preference on [0, 1] (min-max over
        the head; the head's median for products new to the run); None for the preference when
        there is no history, no run, or no candidate the run knows."""
        raw = np.full(len(rows), np.nan)
        if self.service is None or history is None or not len(history):
            return raw, None
        model = self.service.model
        head = np.ones(len(rows), dtype=bool) if head is None else head
        codes = np.full(len(rows), -1, dtype=np.int64)
        codes[head] = self.run_codes(rows[head])
        known = codes >= 0
        if not known.any():
            return raw, None
        raw[known] = model.score_targets([history.items], [history.events], [history.times],
                                         codes[known])[0]
        pref = np.zeros(len(rows))
        pref[known] = minmax(raw[known])
        pref[head & ~known] = np.median(pref[known])  # a product new to the run: neither way
        return raw, pref

    def _fallback(self, pool: int, mask: np.ndarray | None) -> np.ndarray:
        """The best sellers (by the run's popularity), else the catalog's first products."""
        n = len(self.index)
        counts = np.zeros(n)
        if self.service is not None:
            codes = self.run_codes(np.arange(n))
            pop = self.service.model.popularity
            counts[codes >= 0] = pop[codes[codes >= 0]]
        if mask is not None:
            counts = np.where(mask, counts, -np.inf)
        return np.sort(_top(counts - np.arange(n) * 1e-9, pool))

    def _rerank(self, cands: np.ndarray, final: np.ndarray, history: History | None,
                rerank, k: int) -> np.ndarray:
        """Diversity over the products the run knows; products new to it keep their place."""
        reranker, depth = rerank
        head = cands[:depth]
        codes = self.run_codes(head)
        known = codes >= 0
        hist = history.items if history is not None else np.zeros(0, np.int32)
        chosen = np.asarray(reranker(codes[known], final[:depth][known], hist), dtype=np.int64)
        back = dict(zip(codes[known].tolist(), head[known].tolist()))
        picked = iter([back[c] for c in chosen.tolist()])
        out = [int(r) if not kn else next(picked, None) for r, kn in zip(head, known)]
        return np.asarray([r for r in out if r is not None][:k], dtype=np.int64)

    def _facets(self, rows: np.ndarray) -> dict[str, pd.DataFrame]:
        """Per facet, its values among `rows` by count, most first (ties: first seen first).
        Counted in plain Python: on a head of 100 products pandas' string machinery costs
        several times the counting."""
        out = {}
        for name in (S.CATEGORY, S.BRAND):
            counts = Counter(str(v) for v in self.index.columns[name][rows]
                             if v is not None and v == v and str(v) != "")  # v == v: not NaN
            pairs = counts.most_common()
            out[name] = pd.DataFrame({"value": np.asarray([v for v, _ in pairs], dtype=object),
                                      "count": np.asarray([c for _, c in pairs],
                                                          dtype=np.int64)})
        return out

    def _frame(self, rows, score, relevance, bm25, cosine, raw, terms) -> pd.DataFrame:
        cols = {c: v[rows] for c, v in self.index.columns.items()}
        texts = [" ".join(str(v) for v in parts if v is not None)
                 for parts in zip(cols[S.TITLE], cols[S.BRAND], cols[S.CATEGORY])]
        return pd.DataFrame({
            "rank": np.arange(1, len(rows) + 1),
            S.ITEM: self.index.items[rows],
            S.TITLE: cols[S.TITLE], S.CATEGORY: cols[S.CATEGORY], S.BRAND: cols[S.BRAND],
            S.PRICE: cols[S.PRICE],
            "score": np.asarray(score, dtype=float), "relevance": np.asarray(relevance, float),
            "bm25": np.asarray(bm25, dtype=float), "semantic": np.asarray(cosine, float),
            "personal": np.asarray(raw, dtype=float),
            "matched": [sorted(set(T.matched_words(t, terms)), key=str.lower) for t in texts],
            "highlighted": [T.highlight(t, terms) for t in cols[S.TITLE]],
        }, columns=list(RESULT_COLUMNS))


def _rank_of(cands: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Each candidate's 1-based rank in `ranked` (0 when absent)."""
    if not len(ranked):
        return np.zeros(len(cands), dtype=np.int64)
    where = pd.Index(ranked).get_indexer(cands)
    return np.where(where >= 0, where + 1, 0)
