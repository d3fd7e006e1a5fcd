"""Readers for the public benchmark layouts: MovieLens-1M, RecBole atomic/benchmark files, and
plain "user item item ..." sequence files.

Each reader returns raw tables with canonical column names; they then go through the same
validation as a shop's own files, so public data gets the same report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recdash.data import schema as S
from recdash.data.readers import read_table
from recdash.errors import DataFileError

LAYOUTS = ("movielens", "recbole", "sequence")


@dataclass
class PublicData:
    """Raw tables read from a public layout, ready for validation.

    Attributes:
        interactions: canonical column names, text values.
        catalog: canonical column names, or None.
        files: (interactions file name, catalog file name) for the report.
        default_event: event type of every event (these layouts have none).
        notes: facts about the conversion, for the report.
    """

    interactions: pd.DataFrame
    catalog: pd.DataFrame | None
    files: tuple[str, str]
    default_event: str = S.VIEW
    notes: list[str] = field(default_factory=list)


def detect_layout(path: Path) -> str:
    """'movielens', 'recbole' or 'sequence' for a folder or file; raises if unknown."""
    if path.is_file():
        return "sequence"
    names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    if "movies.dat" in names:
        return "movielens"
    if any(n.endswith((".inter", ".text", ".item")) for n in names):
        return "recbole"
    if any(n.endswith("sequence.txt") for n in names):
        return "sequence"
    raise DataFileError(str(path), "not a known public layout (no movies.dat, *.inter or "
                        "*sequence.txt)", "give --layout, or import the files with --interactions"
                        " and --catalog", code="unknown_layout")


def read_public(path: str | Path, layout: str | None = None) -> PublicData:
    """Read a public dataset folder (or sequence file) in the given or detected layout."""
    path = Path(path)
    layout = layout or detect_layout(path)
    if layout == "movielens":
        return read_movielens(path)
    if layout == "recbole":
        return read_recbole(path)
    if layout == "sequence":
        files = [path] if path.is_file() else sorted(path.glob("*sequence*.txt"))
        if not files:
            raise DataFileError(str(path), "no sequence file found", "give the .txt file itself")
        return read_sequence_file(files[0])
    raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")


def read_movielens(folder: Path) -> PublicData:
    """MovieLens-1M: movies.dat (latin-1, '::'), and ratings.dat or interactions.tsv(.gz)."""
    movies = read_table(folder / "movies.dat", encoding="latin-1", delimiter="::", header=False)
    movies.columns = ["MovieID", "Title", "Genres"]
    genres = movies["Genres"].str.split("|")
    catalog = pd.DataFrame({
        S.ITEM: movies["MovieID"], S.TITLE: movies["Title"],
        S.CATEGORY: genres.str[0],
        S.DESCRIPTION: "Genres: " + genres.str.join(", "),
    })
    notes = ["category = first listed genre; all genres are in the description"]
    ratings = folder / "ratings.dat"
    if ratings.exists():
        raw = read_table(ratings, delimiter="::", header=False)
        raw.columns = [S.USER, S.ITEM, S.VALUE, S.TIME]
        return PublicData(raw, catalog, ("ratings.dat", "movies.dat"), S.VIEW, notes)
    inter = next((p for p in (folder / "interactions.tsv.gz", folder / "interactions.tsv")
                  if p.exists()), None)
    if inter is None:
        raise DataFileError(str(folder), "no ratings.dat or interactions.tsv(.gz)",
                            "put the interaction file beside movies.dat", code="file_not_found")
    raw = read_table(inter)
    if "position" in raw:
        # Chronological order per user is given by `position`; there is no timestamp.
        pos = pd.to_numeric(raw["position"], errors="raise")
        raw = raw.assign(_pos=pos).sort_values(["user_id", "_pos"], kind="stable")
        raw = raw.drop(columns=["_pos", "position"]).reset_index(drop=True)
        notes.append("order from the 'position' column (no timestamps in this file)")
    raw = raw.rename(columns={"movie_id": S.ITEM})
    return PublicData(raw, catalog, (inter.name, "movies.dat"), S.VIEW, notes)


def _strip_types(frame: pd.DataFrame) -> pd.DataFrame:
    """RecBole headers are 'name:type'; keep the name."""
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame


def _read_mapping(path: Path) -> pd.Series | None:
    if not path.exists():
        return None
    table = read_table(path, header=False, delimiter="\t")
    return pd.Series(table.iloc[:, 0].to_numpy(), index=table.iloc[:, 1].to_numpy())


def read_recbole(folder: Path) -> PublicData:
    """RecBole atomic files (NAME.inter) or benchmark files (NAME.train/valid/test.inter)."""
    incs = sorted(folder.glob("*.inter"))
    if not incs:
        raise DataFileError(str(folder), "no .inter file", "point at the folder with NAME.inter")
    name = incs[0].name.split(".")[0]
    atomic = folder / f"{name}.inter"
    notes: list[str] = []
    if atomic.exists():
        raw = _strip_types(read_table(atomic, delimiter="\t"))
        raw = raw.rename(columns={"rating": S.VALUE})
        inter_name = atomic.name
    else:
        raw, inter_name = _rebuild_benchmark(folder, name, notes)
    catalog = _recbole_catalog(folder, name, notes)
    items = _read_mapping(folder / f"{name}.item2index")
    users = _read_mapping(folder / f"{name}.user2index")
    if items is not None:  # indices -> the shop's real IDs (ASINs)
        raw[S.ITEM] = raw[S.ITEM].map(items.to_dict()).fillna(raw[S.ITEM])
    if users is not None:
        raw[S.USER] = raw[S.USER].map(users.to_dict()).fillna(raw[S.USER])
    cat_name = catalog.attrs.get("file", "") if catalog is not None else ""
    return PublicData(raw, catalog, (inter_name, cat_name), S.PURCHASE, notes)


def _rebuild_benchmark(folder: Path, name: str, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """Whole sequences from RecBole benchmark files (history list + next item per row)."""
    test_f = next(iter(sorted(folder.glob("*.test.inter"))), None)
    if test_f is None:
        raise DataFileError(str(folder), "no NAME.inter or NAME.test.inter",
                            "point at a RecBole dataset folder", code="file_not_found")
    seqs: dict[str, list[str]] = {}
    train_f = folder / f"{name}.train.inter"
    valid_f = next(iter(sorted(folder.glob("*.valid.inter"))), None)
    if train_f.exists() and valid_f is not None:
        train = _strip_types(read_table(train_f, delimiter="\t"))
        # Rows are newest-first within a user: walk them in reverse file order.
        for user, hist, target in zip(train["user_id"][::-1], train["item_id_list"][::-1],
                                      train["item_id"][::-1]):
            if user not in seqs:
                seqs[user] = str(hist).split()
            seqs[user].append(target)
        for f in (valid_f, test_f):
            last = _strip_types(read_table(f, delimiter="\t"))
            for user, hist, target in zip(last["user_id"], last["item_id_list"], last["item_id"]):
                seqs.setdefault(user, str(hist).split()).append(target)
        files = f"{train_f.name} + {valid_f.name} + {test_f.name}"
        notes.append("sequences rebuilt from the train/valid/test benchmark files")
    else:
        last = _strip_types(read_table(test_f, delimiter="\t"))
        for user, hist, target in zip(last["user_id"], last["item_id_list"], last["item_id"]):
            seqs[user] = str(hist).split() + [target]
        files = test_f.name
        capped = int((last["item_id_list"].str.count(" ") + 1 >= 49).sum())
        notes.append(f"sequences rebuilt from {test_f.name} alone (history + last item); "
                     f"{capped:,} users' histories were capped by the source and lose their "
                     "oldest events")
    users = [u for u, s in seqs.items() for _ in s]
    items = [i for s in seqs.values() for i in s]
    return pd.DataFrame({S.USER: users, S.ITEM: items}, dtype="string"), files


def _recbole_catalog(folder: Path, name: str, notes: list[str]) -> pd.DataFrame | None:
    def find(suffix: str) -> Path:
        own = folder / f"{name}{suffix}"
        return own if own.exists() else next(iter(sorted(folder.glob(f"*{suffix}"))), own)
    text_f, item_f = find(".text"), find(".item")
    if text_f.exists():
        raw = _strip_types(read_table(text_f, delimiter="\t"))
        parts = raw["text"].str.strip().str.rstrip(".").str.rsplit(". ", n=2, expand=True)
        if parts.shape[1] == 3:  # UniSRec text is "title. categories. brand."
            cat = pd.DataFrame({S.ITEM: raw["item_id"], S.TITLE: parts[0],
                                S.CATEGORY: parts[1], S.BRAND: parts[2],
                                S.DESCRIPTION: raw["text"].str.strip()})
            notes.append("title, category and brand split from the 'title. category. brand.' "
                         "text")
        else:
            cat = pd.DataFrame({S.ITEM: raw["item_id"], S.TITLE: raw["text"]})
        cat.attrs["file"] = text_f.name
        return cat
    if item_f.exists():
        raw = _strip_types(read_table(item_f, delimiter="\t"))
        rename = {"title": S.TITLE, "categories": S.CATEGORY, "brand": S.BRAND, "price": S.PRICE,
                  "description": S.DESCRIPTION}
        cat = raw.rename(columns=rename)
        cat = cat[[c for c in (S.ITEM, *S.CATALOG_OPTIONAL) if c in cat]]
        cat.attrs["file"] = item_f.name
        return cat
    return None


def read_sequence_file(path: Path) -> PublicData:
    """A "user item item item ..." file: one user per line, items oldest first, no header."""
    text = path.read_text(encoding="utf-8")
    users, items = [], []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            users.extend([parts[0]] * (len(parts) - 1))
            items.extend(parts[1:])
    if not users:
        raise DataFileError(path.name, "no 'user item item ...' lines", "check the file",
                            code="empty_file")
    raw = pd.DataFrame({S.USER: users, S.ITEM: items}, dtype="string")
    return PublicData(raw, None, (path.name, ""), S.PURCHASE,
                      ["one line per user, items in chronological order"])
