"""Shared helpers of the benchmark scripts: where the public datasets are, what machine a figure
came from, how to reproduce it, and how to print and store the results.

Every benchmark prints a markdown table and writes a JSON file under bench/results/ holding the
figures, the machine and the exact command, so a number in BENCHMARKS.md can be traced back.
Paths written anywhere are relative to the repository root, never absolute.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shlex
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DEFAULT_DATASETS = "../shared/datasets"


@dataclass(frozen=True)
class PublicSet:
    """A public benchmark dataset and how the published protocol prepares it.

    Attributes:
        name: the dataset name used in tables and the workspace.
        folder: the folder under the datasets root.
        kcore: k-core filter applied on import (0 = the data is used as shipped).
        source: one line on the data, for the table's reader.
    """

    name: str
    folder: str
    kcore: int
    source: str


PUBLIC_SETS = (
    PublicSet("ml-1m", "ml-1m", 5, "MovieLens-1M, 5-core (SASRec/BERT4Rec preprocessing)"),
    PublicSet("amazon-beauty", "amazon-beauty", 0, "Amazon Beauty 2014, 5-core (P5 split)"),
    PublicSet("amazon-scientific", "amazon-scientific", 0,
              "Amazon Industrial & Scientific 2018, 5-core (UniSRec files)"),
)


def repo_path(path: str | Path) -> Path:
    """A path given relative to the repository root (or absolute) as an absolute Path."""
    path = Path(path)
    return path if path.is_absolute() else (REPO / path).resolve()


def rel(path: str | Path) -> str:
    """A path as written in results: relative to the repository root."""
    return os.path.relpath(repo_path(path), REPO)


def require_datasets(root: str | Path, folders: Sequence[str]) -> Path:
    """The datasets root, or exit with a message naming what is missing and how to fix it."""
    base = repo_path(root)
    missing = [f for f in folders if not (base / f).is_dir()]
    if missing:
        sys.exit(f"bench: the public dataset folder(s) {', '.join(missing)} are missing under "
                 f"{root!s} (relative to the repository root). Put the shared datasets there, "
                 "or pass --datasets DIR pointing at the folder that holds them.")
    return base


def _relative(arg: str) -> str:
    """An argument that is an absolute path, rewritten relative to the repository root."""
    if not arg.startswith("/"):
        return arg
    try:
        return os.path.relpath(arg, REPO)
    except ValueError:
        return arg


def reproduce_command() -> str:
    """The command that reproduced this run, from the repository root, with relative paths."""
    python = Path(sys.executable)
    exe = _relative(str(python)) if REPO in python.absolute().parents else "python"
    script = os.path.relpath(Path(sys.argv[0]).resolve(), REPO)
    args = [_relative(a) for a in sys.argv[1:]]
    env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " \
        if "OMP_NUM_THREADS" in os.environ else ""
    return env + shlex.join([exe, script, *args])


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (platform.processor() as a fallback)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or "unknown"


def machine() -> dict:
    """What the figures were measured on: CPU, cores, memory, library versions, date, load."""
    import numpy
    import pandas
    import scipy
    import torch

    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(pages / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scipy": scipy.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "command": reproduce_command(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024**2


def reset_peak_rss() -> bool:
    """Reset the peak-RSS counter to the current RSS (Linux clear_refs); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def summarise(values: Sequence[float]) -> dict:
    """Median, min, max and the raw values of repeated measurements."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; the first column left-aligned, the others right-aligned."""
    align = [":--"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(name: str, payload: dict) -> Path:
    """Write bench/results/NAME as indented JSON; returns the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
