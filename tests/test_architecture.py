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
        "import recdash.serve.api, recdash.serve.cli, recdash.privacy\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _recdash_imports(path: Path) -> set[str]:
    """Every recdash module `path` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("recdash"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("recdash"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


# Lower layers never reach up: data and models know nothing of runs, serving or the views;
# evaluation scores any scorer without importing the models; serving knows nothing of runs.
FORBIDDEN = {
    "recdash/data": ("recdash.runs", "recdash.recommend", "recdash.explain", "recdash.rerank",
                     "recdash.models", "recdash.eval", "recdash.runs_view", "recdash.cli"),
    "recdash/eval": ("recdash.models", "recdash.runs", "recdash.recommend", "recdash.explain",
                     "recdash.rerank", "recdash.runs_view", "recdash.cli"),
    "recdash/models": ("recdash.runs", "recdash.recommend", "recdash.explain", "recdash.rerank",
                       "recdash.runs_view", "recdash.cli", "recdash.shopper"),
    "recdash/explain": ("recdash.runs", "recdash.rerank", "recdash.runs_view", "recdash.cli"),
    "recdash/rerank": ("recdash.runs", "recdash.explain", "recdash.runs_view", "recdash.cli"),
}
# The HTTP service is the top of the engine: nothing below it reaches into its app, its served
# state or its command (the event log is storage that privacy also reads).
for _layer in ("recdash/data", "recdash/eval", "recdash/models", "recdash/explain",
               "recdash/rerank", "recdash/search", "recdash/runs"):
    FORBIDDEN[_layer] = (*FORBIDDEN.get(_layer, ()), "recdash.serve.api", "recdash.serve.state",
                         "recdash.serve.cli")


def test_no_module_imports_upward():
    offenders = []
    for folder, banned in FORBIDDEN.items():
        for path in _modules(folder):
            for name in _recdash_imports(path):
                if any(name == b or name.startswith(b + ".") for b in banned):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    recommend = _recdash_imports(ROOT / "recdash" / "recommend.py")
    offenders += [f"recdash/recommend.py imports {n}" for n in recommend
                  if n.startswith(("recdash.runs", "recdash.explain", "recdash.rerank"))]
    assert not offenders, "\n".join(offenders)


def _calls(path: Path) -> set[str]:
    """The attribute names called anywhere in `path` (`x.topk(...)` -> "topk")."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}


def test_lists_come_from_the_one_serving_path():
    # Top-k lists are cut in recdash/recommend.py only (evaluation ranks for its metrics).
    cutting = [str(p.relative_to(ROOT)) for p in _modules("recdash") + _modules("ui")
               + _modules("pages") if "topk" in _calls(p)]
    assert sorted(cutting) == ["recdash/eval/evaluate.py", "recdash/recommend.py"], cutting
    # The studio never scores with a model itself, nor builds one: it serves a loaded run.
    for path in _modules("ui") + _modules("pages") + [ROOT / "app.py"]:
        calls = _calls(path)
        assert not calls & {"score", "score_targets", "fit", "rank"}, path
        imports = _recdash_imports(path)
        assert not {n for n in imports if n.startswith("recdash.models")
                    and not n.startswith("recdash.models.attention.config")}, path
