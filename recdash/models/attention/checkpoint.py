"""Checkpoints of the attention ranker, never half-written.

A run folder holds checkpoint folders (`ckpt-EEEEE-SSSSSSS`, by epoch and step) and pointer files
`latest.json` (resume from here) and `best.json` (serve this). Each checkpoint folder has
`weights.safetensors` (parameters and item-feature buffers), `meta.json` (model and training
settings, item IDs, training state) and `optimizer.pt` (tensors only, loaded with
weights_only=True). A checkpoint is written under a temporary name and renamed into place, then
the pointer is replaced atomically (os.replace); only then are unreferenced checkpoints removed.
A crash at any moment leaves a complete checkpoint behind its pointer; nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from recdash.errors import RecdashError

WEIGHTS, META, OPTIMIZER = "weights.safetensors", "meta.json", "optimizer.pt"
FORMAT_VERSION = 1
# A pointer names a checkpoint folder of its own run: a bare name, never a path.
CHECKPOINT_NAME = re.compile(r"ckpt-[0-9]{1,9}-[0-9]{1,12}")


@dataclass
class Checkpoint:
    """What a checkpoint holds once loaded.

    Attributes:
        model_config: AttentionConfig fields.
        train_config: TrainConfig fields.
        items: the shop's item IDs in model order.
        state: training progress (epoch, best metric, history, ...).
        weights: the model's state dict.
        optimizer: the optimizer's state dict, or None.
    """

    model_config: dict
    train_config: dict
    items: list
    state: dict
    weights: dict[str, torch.Tensor]
    optimizer: dict | None = None


def save_checkpoint(run_dir: str | Path, model: torch.nn.Module, model_config, train_config,
                    items: list, state: dict, optimizer: torch.optim.Optimizer | None = None,
                    pointers: tuple[str, ...] = ("latest",)) -> Path:
    """Write a checkpoint into run_dir and point `pointers` ("latest", "best") at it.

    Returns:
        The new checkpoint folder.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    name = f"ckpt-{int(state.get('epoch', 0)):05d}-{int(state.get('step', 0)):09d}"
    folder = run_dir / name
    tmp = run_dir / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS))
        meta = {"format": FORMAT_VERSION, "model_config": asdict(model_config),
                "train_config": asdict(train_config), "items": [str(i) for i in items],
                "state": state}
        (tmp / META).write_text(json.dumps(meta))
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / OPTIMIZER)
        if folder.exists():  # same epoch and step saved again: replace it
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for pointer in pointers:
        _write_pointer(run_dir, pointer, name)
    _remove_unreferenced(run_dir)
    return folder


def _write_pointer(run_dir: Path, pointer: str, name: str) -> None:
    tmp = run_dir / f".{pointer}.json.tmp"
    tmp.write_text(json.dumps({"checkpoint": name}))
    os.replace(tmp, run_dir / f"{pointer}.json")


def _read_pointer(run_dir: Path, pointer: str) -> Path | None:
    path = run_dir / f"{pointer}.json"
    if not path.is_file():
        return None
    try:
        name = json.loads(path.read_text())["checkpoint"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RecdashError(f"{path} is corrupt ({exc}); delete it and resume from another "
                           "checkpoint") from exc
    if not isinstance(name, str) or not CHECKPOINT_NAME.fullmatch(name):
        raise RecdashError(f"{path} points at {name!r}, which is not a checkpoint folder of this "
                           "run (a pointer names a 'ckpt-EPOCH-STEP' folder beside it); delete "
                           "the pointer and resume from another checkpoint, or retrain")
    return run_dir / name


def _remove_unreferenced(run_dir: Path) -> None:
    keep = {p.name for p in (_read_pointer(run_dir, n) for n in ("latest", "best")) if p}
    for folder in run_dir.glob("ckpt-*"):
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def find_checkpoint(run_dir: str | Path, which: str = "best") -> Path | None:
    """The checkpoint folder a run's pointer names ("best" falls back to "latest")."""
    run_dir = Path(run_dir)
    found = _read_pointer(run_dir, which)
    if found is None and which == "best":
        found = _read_pointer(run_dir, "latest")
    return found


def load_checkpoint(path: str | Path, with_optimizer: bool = False,
                    which: str = "best") -> Checkpoint:
    """Read a checkpoint folder, or a run folder's `which` checkpoint.

    Raises:
        RecdashError: missing, corrupt or truncated files, naming the file and the fix.
    """
    folder = Path(path)
    if not (folder / META).exists():  # a run folder: follow its pointer
        folder = find_checkpoint(folder, which) or folder
    fix = "retrain the model, or point at another run's checkpoint"
    for name in (WEIGHTS, META):
        if not (folder / name).is_file():
            raise RecdashError(f"{folder / name} is missing: not a recdash checkpoint. Fix: {fix}")
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT_VERSION}")
        weights = load_file(str(folder / WEIGHTS))
    except (ValueError, KeyError, OSError, SafetensorError) as exc:
        raise RecdashError(f"checkpoint {folder} is corrupt or truncated ({exc}). Fix: {fix}") \
            from exc
    optimizer = None
    if with_optimizer and (folder / OPTIMIZER).is_file():
        try:
            optimizer = torch.load(folder / OPTIMIZER, weights_only=True, map_location="cpu")
        except Exception as exc:  # torch raises several types for a bad file
            raise RecdashError(f"{folder / OPTIMIZER} is corrupt ({exc}); delete it to restart "
                               "the optimizer from scratch") from exc
    return Checkpoint(meta["model_config"], meta["train_config"], meta["items"], meta["state"],
                      weights, optimizer)
