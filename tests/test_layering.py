"""The layers of `core`: which part may import which, read from the source (lazy imports inside functions
count too), so an upward import or an import circle fails here rather than at a distance.

From the bottom up:
- the foundation: core's own top-level modules (errors, files, home, access, progress, hub): each other only;
- jobs (the job folders and their lifecycle) and data (questions, prompt formats): the foundation;
- models (families, loading, the catalogue, conversion, export): data and jobs;
- serving (the chat): models and below;
- evaluation (scoring, evaluation jobs, reports, publishing a run with its evaluations): models and below;
- training (recipes, the worker, sweeps, in-training validation): evaluation and below;
- practice (a class's practice sessions: questions, answers, explanations): evaluation and below;
- commands (`python -m core ...`) and the top-level views over everything (overview, __main__): anything.
The product is a library first: nothing in core imports streamlit or gradio (those are the views').
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
FOUNDATION = {"errors", "files", "home", "access", "progress", "hub", "__init__"}
EVERYTHING = {"foundation", "jobs", "data", "models", "serving", "evaluation", "training", "practice", "commands",
              "overview"}
ALLOWED = {
    "foundation": {"foundation"},
    "jobs": {"foundation"},
    "data": {"foundation"},
    "models": {"foundation", "jobs", "data"},
    "serving": {"foundation", "jobs", "data", "models"},
    "evaluation": {"foundation", "jobs", "data", "models", "serving"},
    "training": {"foundation", "jobs", "data", "models", "serving", "evaluation"},
    "practice": {"foundation", "jobs", "data", "models", "serving", "evaluation"},
    "commands": EVERYTHING,
    "overview": EVERYTHING - {"commands"},
    "__main__": EVERYTHING,
}
UI_LIBRARIES = ("streamlit", "gradio")


def module_name(path: Path) -> str:
    parts = ["core", *path.relative_to(CORE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(CORE.rglob("*.py"))}


def imported(path: Path, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth; `from core.x import y` names core.x.y
    where y is a module, else core.x."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((node.lineno, full if full in known else node.module))
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
    return out


def layer(module: str) -> str:
    """The layer of a core module: its sub-package, the foundation, or a named top-level module."""
    parts = module.split(".")
    if len(parts) == 1:
        return "foundation"  # the package itself
    if (CORE / parts[1]).is_dir():
        return parts[1]
    return "foundation" if parts[1] in FOUNDATION else parts[1]


def test_every_module_of_core_is_in_a_stated_layer():
    unknown = sorted({m for m in modules() if layer(m) not in ALLOWED})
    assert not unknown, f"state the layer of these modules in tests/test_layering.py ALLOWED: {unknown}"


def test_core_imports_only_downwards():
    known = modules()
    wrong = []
    for name, path in known.items():
        for line, target in imported(path, known):
            if target.startswith("."):
                wrong.append(f"{path.relative_to(CORE.parent)}:{line} relative import {target} (spell it core.…)")
            elif target.split(".")[0] == "core" and target != "core":
                if layer(target) not in ALLOWED[layer(name)] and layer(target) != layer(name):
                    wrong.append(f"{path.relative_to(CORE.parent)}:{line} {layer(name)} -> {layer(target)} ({target})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_core_has_no_import_circle():
    known = modules()
    graph = {name: {t for _, t in imported(path, known) if t in known and t != name} for name, path in known.items()}
    circles = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt):] + [node, nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert not circles, "import circles in core:\n" + "\n".join(circles)


def test_core_never_imports_a_ui_library():
    known = modules()
    found = [f"{path.relative_to(CORE.parent)}:{line} {target}" for name, path in known.items()
             for line, target in imported(path, known) if target.split(".")[0] in UI_LIBRARIES]
    assert not found, "core is the product, the pages are its views:\n" + "\n".join(found)


def test_the_layering_check_sees_a_lazy_upward_import(tmp_path):
    """The checks read imports inside functions too (the circle and the upward imports this test file
    was written against were all lazy)."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from core.evaluation.jobs import load_results\n    import streamlit as st\n")
    found = imported(src, {"core.evaluation.jobs": src})
    assert (2, "core.evaluation.jobs") in found and (3, "streamlit") in found
    assert layer("core.evaluation.jobs") not in ALLOWED["models"]
    assert layer("core.hub") == "foundation" and layer("core.models.catalogue") == "models"
