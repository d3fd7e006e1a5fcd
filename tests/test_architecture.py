"""The engine stays importable without the studio's packages (training hosts lack them)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_ONLY = {"streamlit"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_recdash_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "recdash").rglob("*.py")
                 if _imports(p) & UI_ONLY]
    assert not offenders, f"recdash/ must not import streamlit: {offenders}"


def test_engine_imports_without_studio_packages():
    # Block streamlit, plotly and shap the way a bare GPU host lacks them.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('streamlit', 'plotly', 'shap'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import recdash.cli, recdash.workspace, recdash.runs.train, recdash.runs.jobs, recdash.models\n"
        "import recdash.runs.load, recdash.recommend\n"
        "import recdash.data.dataset, recdash.data.demo\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
