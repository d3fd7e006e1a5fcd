"""Named re-ranking settings kept in the workspace.

Presets live in `presets.json` at the workspace root: {"version": 2, "presets": {name: setting}},
replaced atomically (written to a temporary file, then renamed), so a crash never leaves half a
file and the other presets are never lost. Names follow the workspace's naming rule (letters,
digits, '_', '-', '.'). The export and `recdash recommend --rerank PRESET` apply a preset by name.

Version 1 files (a bare {name: setting}, no version) stored MMR's lambda and the DPP's theta, which
weigh relevance, as the strength; since version 2 every strength means "more = more re-ranking",
so those are read as strength = 1 - lambda (or theta), and the next save writes version 2.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from recdash.errors import RecdashError
from recdash.rerank.setting import Setting
from recdash.workspace import Workspace, check_name

FILE = "presets.json"
VERSION = 2  # 2: strength = how much to re-rank, for every method; 1: lambda / theta for MMR/DPP
RELEVANCE_WEIGHTED = ("mmr", "dpp")  # methods whose version-1 strength weighed relevance


def _path(ws: Workspace) -> Path:
    return Path(ws.root) / FILE


def _from_version_1(value: dict) -> dict:
    """A version-1 setting with its strength in today's meaning (strength = 1 - lambda/theta)."""
    if value.get("method") in RELEVANCE_WEIGHTED and "strength" in value:
        # Rounded so that a stored 0.7 reads back as 0.3, not 0.30000000000000004.
        return {**value, "strength": round(1.0 - float(value["strength"]), 9)}
    return value


def _settings(raw: object, path: Path) -> dict[str, dict]:
    """{name: setting fields} of a presets file of any version, in today's meaning."""
    if not isinstance(raw, dict):
        raise TypeError(f"expected a JSON object, got {type(raw).__name__}")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return {name: _from_version_1(value) for name, value in raw.items()}  # version 1
    if version > VERSION:
        raise RecdashError(f"{path}: written by a newer recdash (presets version {version}; this "
                           f"one reads up to {VERSION}); upgrade recdash to use these presets")
    presets = raw.get("presets", {})
    if not isinstance(presets, dict):
        raise TypeError(f"'presets' must be a JSON object, got {type(presets).__name__}")
    return presets


def load_presets(ws: Workspace) -> dict[str, Setting]:
    """Every stored preset by name (none when the file is absent).

    Raises:
        RecdashError: the file is not valid JSON of settings (names the file and the fix), or
            a newer recdash wrote it.
    """
    path = _path(ws)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: Setting(**value) for name, value in _settings(raw, path).items()}
    except (ValueError, TypeError) as exc:
        raise RecdashError(f"{path}: not a presets file ({exc}); fix or delete it (it only "
                           "holds re-ranking presets)") from exc


def save_preset(ws: Workspace, name: str, setting: Setting) -> None:
    """Store `setting` as preset `name`, replacing a preset of that name."""
    check_name(name)
    presets = {k: v.to_dict() for k, v in load_presets(ws).items()}
    presets[name] = setting.to_dict()
    path = _path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{FILE}")
    tmp.write_text(json.dumps({"version": VERSION, "presets": presets}, indent=2,
                              sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def get_preset(ws: Workspace, name: str) -> Setting:
    """Preset `name`, or an error listing the stored ones."""
    presets = load_presets(ws)
    if name not in presets:
        have = ", ".join(sorted(presets)) or "none yet (save one on the Diversity page)"
        raise RecdashError(f"no re-ranking preset named '{name}'; stored presets: {have}")
    return presets[name]
