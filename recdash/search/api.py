"""Search as the CLI, the studio and the HTTP API open it: a dataset's cached index, and the run
that personalises it (the dataset's best run on validation unless one is named).

`open_searcher` is the one way to get a `Searcher` for a workspace dataset; `search_as` runs one
query for a stored shopper, an edited history or an anonymous visitor, with the notes a person
needs (an unknown shopper, no trained run).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from recdash.errors import RecdashError
from recdash.progress import Progress
from recdash.recommend import History
from recdash.search.engine import Filters, SearchResult, SearchSettings, Searcher
from recdash.search.index import load_or_build


@dataclass
class Opened:
    """A searcher and where its parts came from.

    Attributes:
        searcher: the Searcher.
        run_id: the run that personalises it (None: no finished run on the dataset).
        run_name: the run's short name (e.g. 'attention #2'), or "".
    """

    searcher: Searcher
    run_id: str | None
    run_name: str = ""


TEXT_MODEL_DIR = "text-model"  # in the workspace: the query encoder's ONNX export

_ENCODERS: dict[str, object] = {}  # export folder -> its loaded query encoder, one per process
_ENCODERS_LOCK = threading.Lock()


def query_encoder(folder: Path):
    """The process's query encoder for a workspace (ONNX Runtime over the export in `folder`),
    loaded once: every searcher of the process shares it, so opening a searcher for another
    run or dataset does not pay the model's load and the export's check again. Encoding is
    read-only, so sharing it between threads is safe."""
    from recdash.text import TextEncoder

    key = str(Path(folder).resolve())
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            encoder = _ENCODERS[key] = TextEncoder(runtime="onnx", cache_dir=folder)
        if not encoder.loaded:  # under the lock: two first queries never load it twice
            try:
                encoder.encode(["warm up"])
            except RecdashError:  # no text model on this host: searches say so per query
                pass
    return encoder


def default_run(ws, dataset: str) -> tuple[str | None, str]:
    """(run id, short name) of the dataset's best finished run, or (None, "") if it has none."""
    from recdash import runs_view

    runs = runs_view.runs_table(ws, dataset)
    if not len(runs):
        return None, ""
    name = runs_view.best_run(runs)
    return str(runs.loc[runs["run"] == name, "run_id"].iloc[0]), name


def open_searcher(ws, dataset: str, run_id: str | None = None, personalise: bool = True,
                  device: str = "cpu", progress: Progress | None = None) -> Opened:
    """The dataset's searcher, its index loaded or built (and cached), personalised by `run_id`
    (default: the dataset's best run; none with personalise=False).

    Raises:
        RecdashError: an unknown dataset; a run of another dataset or not finished.
    """
    from recdash.runs.load import load_run, run_row

    ds = ws.load_dataset(dataset)
    index = load_or_build(ws, ds, progress=progress)
    name = ""
    if personalise and run_id is None:
        run_id, name = default_run(ws, dataset)
    service = None
    if personalise and run_id is not None:
        row = run_row(ws, run_id)
        if row["dataset"] != dataset:
            raise RecdashError(f"run {run_id} was trained on '{row['dataset']}', not "
                               f"'{dataset}'. Fix: pass a run of '{dataset}' (recdash runs "
                               f"--data {dataset}) or leave --run out")
        service = load_run(ws, run_id, device=device)
    # Queries run on ONNX Runtime; its export of the text model is kept in the workspace.
    encoder = query_encoder(ws.root / TEXT_MODEL_DIR) if index.semantic else None
    return Opened(Searcher(index, service, encoder), run_id if service is not None else None,
                  name)


def search_as(searcher: Searcher, query: str, user: object | None = None,
              history: History | None = None, k: int = 20,
              settings: SearchSettings = SearchSettings(), filters: Filters = Filters(),
              rerank=None) -> SearchResult:
    """`Searcher.search` for a stored shopper (`user`), a given `history`, or neither
    (anonymous); says in the notes when the shopper is unknown or nothing personalises."""
    notes = []
    if history is None and user is not None:
        if searcher.service is None:
            notes.append("No trained run on this dataset: results follow the query alone. "
                         "Train a model to personalise them.")
        elif not searcher.service.knows(user):
            notes.append(f"Shopper {user!r} has no stored history: results follow the query "
                         "alone.")
        else:
            history = searcher.service.history_of(user)
    result = searcher.search(query, k, history, settings, filters, rerank)
    result.notes = notes + result.notes
    return result
