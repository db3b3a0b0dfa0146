"""The shape of the house (docs/architecture.md): imports point one way, the store never reaches into training,
and no module grows past about 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "museforge"
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules a module imports when it is loaded (module level, outside ``if TYPE_CHECKING``)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found.update(n for n in names if n in known)
    return found


def test_module_level_imports_form_no_cycle() -> None:
    known = _modules()
    edges = {name: _imports(path, known) - {name} for name, path in known.items()}
    # a package importing its own submodules (``museforge.store`` -> ``museforge.store.base``) is no cycle
    edges = {a: {b for b in targets if not b.startswith(a + ".")} for a, targets in edges.items()}
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[list[str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for other in sorted(edges[name]):
            if state.get(other) == 1:
                cycles.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other)
        path.pop()
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert cycles == []
    assert "museforge.model_files" in edges["museforge.store"]  # the store reads model folders this way...


def test_the_store_and_the_shared_modules_never_import_training() -> None:
    lower = [*(PACKAGE / "store").glob("*.py"), PACKAGE / "model_files.py", PACKAGE / "files.py"]
    for path in lower:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # lazy imports in functions too
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        assert not {m for m in imported if m.startswith("museforge.training")}, path


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
