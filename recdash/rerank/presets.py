"""Named re-ranking settings kept in the workspace.

Presets live in `presets.json` at the workspace root: a small file of {name: setting}, replaced
atomically (written to a temporary file, then renamed), so a crash never leaves half a file and
the other presets are never lost. Names follow the workspace's naming rule (letters, digits,
'_', '-', '.'). The export and `recdash recommend --rerank PRESET` apply a preset by name.
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


def _path(ws: Workspace) -> Path:
    return Path(ws.root) / FILE


def load_presets(ws: Workspace) -> dict[str, Setting]:
    """Every stored preset by name (none when the file is absent).

    Raises:
        RecdashError: the file is not valid JSON of settings (names the file and the fix).
    """
    path = _path(ws)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: Setting(**value) for name, value in raw.items()}
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
    tmp.write_text(json.dumps(presets, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def get_preset(ws: Workspace, name: str) -> Setting:
    """Preset `name`, or an error listing the stored ones."""
    presets = load_presets(ws)
    if name not in presets:
        have = ", ".join(sorted(presets)) or "none yet (save one on the Diversity page)"
        raise RecdashError(f"no re-ranking preset named '{name}'; stored presets: {have}")
    return presets[name]
