"""The catalog's search index: BM25 over product text, MiniLM vectors, and an ANN graph at scale.

Lexical retrieval is Okapi BM25 (Robertson & Zaragoza 2009) as `bm25s` computes it (Lù 2024:
eager sparse scoring, k1=1.5, b=0.75, Lucene's idf) over each product's title, brand, category
and description, tokenised by `recdash.search.tokens`. Semantic retrieval reads the
all-MiniLM-L6-v2 vector of each product that the text tower already caches (`recdash.text`):
exact inner product up to `ANN_MIN_ITEMS` products, an HNSW graph (Malkov & Yashunin 2018,
through `usearch`) above, where the exact product stops fitting a query's time budget.

`load_or_build` keeps the index in the dataset's folder under `search-index/`, stamped with a
fingerprint of the catalog's text; a changed catalog (or a new index layout) rebuilds it, and a
new index replaces the old one by a directory rename, so a killed build leaves the old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recdash.data import schema as S
from recdash.errors import RecdashError
from recdash.progress import Progress
from recdash.search import tokens as T

LAYOUT = 1  # bump when what is stored changes: older indexes are rebuilt
ANN_MIN_ITEMS = 100_000  # exact below; at 100k 6.2 ms against 2.6 (bench/search_speed.py)
DESCRIPTION_CHARS = 1_000  # of a description, indexed
FOLDER = "search-index"
FIELDS = (S.TITLE, S.BRAND, S.CATEGORY, S.DESCRIPTION)
DETAILS = (S.TITLE, S.CATEGORY, S.BRAND, S.PRICE)


def _texts(catalog: pd.DataFrame) -> list[list[str]]:
    """Each product's indexed fields as strings ("" where missing)."""
    out = []
    for name in FIELDS:
        if name in catalog.columns:
            col = catalog[name].astype("string").fillna("")
            if name == S.DESCRIPTION:
                col = col.str.slice(0, DESCRIPTION_CHARS)
            out.append(col.tolist())
        else:
            out.append([""] * len(catalog))
    return [list(row) for row in zip(*out)] if len(catalog) else []


def fingerprint(catalog: pd.DataFrame, ann: bool) -> str:
    """A hash of what the index is built from: layout, item IDs, indexed text, ANN or not."""
    h = hashlib.sha256(f"layout {LAYOUT} ann {ann}\n".encode())
    ids = catalog[S.ITEM].astype(str).tolist() if S.ITEM in catalog.columns else []
    for item, parts in zip(ids, _texts(catalog)):
        h.update(item.encode("utf-8", "surrogatepass"))
        for part in parts:
            h.update(b"\x1f" + part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()[:32]


@dataclass
class SearchIndex:
    """A built index, aligned row for row with its catalog.

    Attributes:
        items: (n,) the shop's item IDs; row = position in every array here.
        details: title, category, brand and price per row.
        bm25: the bm25s.BM25 index over the products' terms (None for an empty catalog).
        vocabulary: the catalog's words, most frequent first (typo correction).
        embeddings: (n, 384) float16 L2-normalised MiniLM vectors; zero rows for products with
            no text; None when semantic retrieval is off.
        ann: a usearch Index over the embeddings (None: exact inner product).
        key: the fingerprint it was built from.
        seconds: build (or load) time.
    """

    items: np.ndarray
    details: pd.DataFrame
    bm25: object | None
    vocabulary: list[str]
    embeddings: np.ndarray | None
    ann: object | None = None
    key: str = ""
    seconds: float = 0.0
    known: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.known = frozenset(self.vocabulary)
        self._positions: pd.Index | None = None
        # Plain arrays: a query takes a few rows of each, which pandas makes slow.
        self.columns = {c: (lambda col: col.where(col.notna(), None).to_numpy(dtype=object))(
            self.details[c].astype(object)) for c in DETAILS}  # missing: None
        self.columns[S.PRICE] = pd.to_numeric(self.details[S.PRICE], errors="coerce") \
            .to_numpy(dtype=float)
        self._matrix = None

    @property
    def matrix(self):
        """The vectors as a torch float16 tensor sharing their memory (torch's half-precision
        matrix-vector product is several times numpy's)."""
        if self._matrix is None and self.embeddings is not None:
            import torch

            self._matrix = torch.from_numpy(self.embeddings)
        return self._matrix

    def cosines(self, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """(len(rows),) float32 cosine of each row's vector with a unit `vector`."""
        import torch

        with torch.inference_mode():  # half-precision rows gathered and multiplied by torch
            q = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float16))
            picked = self.matrix[torch.from_numpy(np.asarray(rows, dtype=np.int64))]
            return (picked @ q).float().numpy()

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """(n,) float32 cosine of every product's vector with a unit `vector` (exact)."""
        import torch

        with torch.inference_mode():
            q = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float16))
            return (self.matrix @ q).float().numpy()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def positions(self) -> pd.Index:
        """The item IDs as an index (row of each ID)."""
        if self._positions is None:
            self._positions = pd.Index(self.items, dtype=object)
        return self._positions

    @property
    def semantic(self) -> bool:
        return self.embeddings is not None

    @classmethod
    def build(cls, catalog: pd.DataFrame, embeddings: np.ndarray | None = None,
              ann: bool | None = None, progress: Progress | None = None) -> "SearchIndex":
        """Index a canonical catalog (one row per product).

        Args:
            catalog: item_id plus any of title, brand, category, description, price.
            embeddings: (n, d) item text vectors in catalog row order, or None (lexical only).
            ann: build the ANN graph; default: when the catalog has ANN_MIN_ITEMS products.
            progress: called with (fraction done, message).
        """
        import bm25s

        start = time.perf_counter()
        if S.ITEM not in catalog.columns:
            raise RecdashError(f"the catalog has no '{S.ITEM}' column (it has "
                               f"{list(catalog.columns)}). Fix: pass Dataset.catalog")
        n = len(catalog)
        if embeddings is not None and len(embeddings) != n:
            raise RecdashError(f"{len(embeddings):,} embeddings for {n:,} products; compute "
                               "them from this catalog (recdash.text.embed_catalog)")
        ann = n >= ANN_MIN_ITEMS if ann is None else ann
        report = progress or (lambda f, m: None)
        report(0.0, f"tokenising {n:,} products")
        texts = _texts(catalog)
        docs, counts = [], {}
        for i, parts in enumerate(texts):
            for part in parts:
                for w in set(T.words(part)):
                    counts[w] = counts.get(w, 0) + 1
            docs.append(T.fields_terms(parts))
            if i and i % 20_000 == 0:
                report(0.6 * i / n, f"tokenised {i:,} of {n:,} products")
        vocabulary = sorted(counts, key=lambda w: (-counts[w], w))
        bm25 = None
        if n:
            report(0.6, "building BM25")
            bm25 = bm25s.BM25()
            bm25.index(docs, show_progress=False)
        vectors = unit_half(embeddings)
        graph = None
        if ann and vectors is not None and n:
            report(0.7, f"building the ANN graph over {n:,} vectors")
            graph = _ann(vectors)
        details = catalog.reindex(columns=list(DETAILS)).reset_index(drop=True)
        index = cls(catalog[S.ITEM].to_numpy(dtype=object), details, bm25, vocabulary,
                    vectors, graph, fingerprint(catalog, ann))
        index.seconds = time.perf_counter() - start
        report(1.0, f"indexed {n:,} products in {index.seconds:.1f} s")
        return index

    # Storage ------------------------------------------------------------------------------
    def save(self, folder: Path | str) -> Path:
        """Write the index under `folder/<key>` atomically (a temporary folder, then rename)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / self.key
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".build-"))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"))
            (tmp / "vocabulary.json").write_text(json.dumps(self.vocabulary), encoding="utf-8")
            if self.ann is not None:
                self.ann.save(str(tmp / "ann.usearch"))
            (tmp / "index.json").write_text(json.dumps(
                {"layout": LAYOUT, "key": self.key, "items": len(self.items),
                 "ann": self.ann is not None}), encoding="utf-8")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as err:
            raise RecdashError(f"cannot write the search index in {folder}: {err}. Fix: make "
                               "the folder writable and free some disk space") from err
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        for old in folder.iterdir():  # earlier catalogs' indexes
            if old.is_dir() and old.name != self.key and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
        return final

    @classmethod
    def load(cls, folder: Path | str, catalog: pd.DataFrame,
             embeddings: np.ndarray | None, key: str) -> "SearchIndex | None":
        """The index stored for fingerprint `key`, or None if absent or unreadable."""
        import bm25s

        start = time.perf_counter()
        path = Path(folder) / key
        try:
            meta = json.loads((path / "index.json").read_text(encoding="utf-8"))
            if meta.get("layout") != LAYOUT or meta.get("items") != len(catalog):
                return None
            bm25 = bm25s.BM25.load(str(path / "bm25")) if len(catalog) else None
            vocabulary = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))
            graph = None
            if meta.get("ann") and embeddings is not None:
                from usearch.index import Index

                graph = Index.restore(str(path / "ann.usearch"))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # rebuilt by the caller
        vectors = unit_half(embeddings)
        details = catalog.reindex(columns=list(DETAILS)).reset_index(drop=True)
        index = cls(catalog[S.ITEM].to_numpy(dtype=object), details, bm25, vocabulary,
                    vectors, graph, key)
        index.seconds = time.perf_counter() - start
        return index


def unit_half(embeddings: np.ndarray | None) -> np.ndarray | None:
    """(n, d) float16 L2-normalised rows (zero rows stay zero), or None.

    Half precision halves the memory a query reads, and a cosine keeps three significant digits,
    more than a ranking of text vectors needs.
    """
    if embeddings is None:
        return None
    vectors = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return vectors.astype(np.float16)


def _ann(vectors: np.ndarray):
    """An HNSW graph over L2-normalised vectors, inner-product metric, keys = rows."""
    from usearch.index import Index

    graph = Index(ndim=vectors.shape[1], metric="ip", dtype="f16", connectivity=16,
                  expansion_add=128, expansion_search=128)
    graph.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=1)
    return graph


def load_or_build(ws, dataset, progress: Progress | None = None,
                  ann: bool | None = None, semantic: bool = True) -> SearchIndex:
    """The dataset's search index from its workspace folder, built and stored if missing/stale.

    Args:
        ws: the Workspace.
        dataset: the loaded Dataset.
        progress: called with (fraction done, message) while embedding and building.
        ann: force the ANN graph on or off (default: by catalog size).
        semantic: use MiniLM vectors (embedding texts the cache lacks); False: lexical only.
    """
    from recdash.text import embed_catalog

    catalog = dataset.catalog
    ann = len(catalog) >= ANN_MIN_ITEMS if ann is None else ann
    folder = ws.dataset_dir(dataset.name) / FOLDER
    embeddings = None
    if semantic:
        scaled = (lambda f, m: progress(0.5 * f, m)) if progress else None
        try:
            embeddings, _ = embed_catalog(catalog, ws.dataset_dir(dataset.name) / "text-cache",
                                          progress=scaled)
        except RecdashError as err:  # no text model here, and the cache lacks some texts
            if progress:
                progress(0.5, f"semantic search off: {err}")
            embeddings = None
    key = fingerprint(catalog, ann)
    found = SearchIndex.load(folder, catalog, embeddings, key)
    if found is not None:
        if progress:
            progress(1.0, f"search index loaded ({len(found):,} products)")
        return found
    built = SearchIndex.build(catalog, embeddings, ann,
                              (lambda f, m: progress(0.5 + 0.5 * f, m)) if progress else None)
    built.save(folder)
    return built
