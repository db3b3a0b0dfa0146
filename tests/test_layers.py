"""The shape of the house (docs/architecture.md): every import, function-level ones included, points down the
layers; no two modules import each other, however far round; a function-level import only defers a heavy library;
the CLI and the server start without torch; no module grows past 500 lines.

``python -m tests.test_layers`` prints the import graph (module -> the package modules it imports) and the
counts this test holds down.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "museforge"
MAX_LINES = 500
#: Libraries heavy enough to import only when needed: numpy alone is most of a bare CLI start-up's time, and the
#: network stack (urllib.request, http.client: ssl, email) another 90 ms that only a download needs.
HEAVY = ("torch", "numpy", "matplotlib", "fastapi", "music21", "fluidsynth", "urllib.request", "http.client")
#: The layers, bottom first: a module imports only from its own layer or the ones below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "paths", "files", "pretrained"),
    ("model_files",),
    ("music",),
    ("datasets", "metrics", "models", "store"),
    ("sampling", "render"),
    ("training",),
    ("pipelines", "evaluate"),
    ("jobs",),
    ("server", "commands"),
    ("cli",),
)
#: Most function-level ``museforge`` imports the package may hold (each deferring a heavy library).
MAX_FUNCTION_LEVEL = 40
#: The pipelines that never import one another (demo and the instrument menus are built over compose).
PIPELINES = ("compose", "regenerate", "enhance", "extend")


@dataclass
class Module:
    name: str
    path: Path
    top: set[str] = field(default_factory=set)  # package modules imported when it loads
    deferred: list[tuple[int, str]] = field(default_factory=list)  # (line, module) imported inside functions
    heavy_top: set[str] = field(default_factory=set)  # heavy libraries imported when it loads
    heavy_deferred: list[tuple[int, str]] = field(default_factory=list)


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.Import | ast.ImportFrom, known: set[str], here: str) -> list[str]:
    """The package modules an import statement loads (its module, and ``from package import submodule``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        assert not node.level, f"{here} imports relatively: the package imports absolutely"
        base = node.module or ""
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    found = []
    for n in names:
        while n and n not in known:
            n = n.rpartition(".")[0]
        if n:
            found.append(n)
    return found


def _heavy(node: ast.Import | ast.ImportFrom) -> set[str]:
    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    return {h for n in names for h in HEAVY if n == h or n.startswith(h + ".")}


def read_modules() -> dict[str, Module]:
    paths = {_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(paths)
    modules = {}
    for name, path in paths.items():
        module = Module(name, path)

        def visit(node: ast.AST, in_function: bool, module: Module = module) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue  # for the type checker only: never loaded
                if isinstance(child, ast.Import | ast.ImportFrom):
                    targets = [t for t in _targets(child, known, module.name) if t != module.name]
                    if in_function:
                        module.deferred += [(child.lineno, t) for t in targets]
                        module.heavy_deferred += [(child.lineno, h) for h in _heavy(child)]
                    else:
                        module.top.update(targets)
                        module.heavy_top |= _heavy(child)
                else:
                    visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
        # loading a.b.c loads the packages a and a.b first
        parts = name.split(".")
        module.top.update(".".join(parts[:i]) for i in range(2, len(parts)) if ".".join(parts[:i]) in known)
        module.top.discard(name)
        modules[name] = module
    return modules


def loaded_when_imported(modules: dict[str, Module], name: str) -> set[str]:
    """Every package module that ``import name`` loads (itself included)."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += modules[current].top
    return seen


def heavy_when_imported(modules: dict[str, Module], name: str) -> set[str]:
    return set().union(*(modules[m].heavy_top for m in loaded_when_imported(modules, name)))


def function_level_imports(modules: dict[str, Module]) -> int:
    """How many import statements inside functions load a package module."""
    return sum(len({line for line, _ in m.deferred}) for m in modules.values())


def layer(name: str) -> int:
    if name == "museforge":
        return 0  # the package's face: its version
    first = name.split(".")[1]
    for index, rooms in enumerate(LAYERS):
        if first in rooms:
            return index
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS (and to docs/architecture.md)")


def edges(modules: dict[str, Module]) -> dict[str, set[str]]:
    """Every import, module-level or function-level, between package modules (a package's own face importing
    its submodules is not an arrow)."""
    out = {}
    for name, module in modules.items():
        targets = module.top | {t for _, t in module.deferred}
        out[name] = {t for t in targets if not t.startswith(name + ".") and t != "museforge"}
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    path: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                found.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def test_no_import_circle_even_through_function_level_imports() -> None:
    assert cycles(edges(read_modules())) == []


def test_every_import_points_down_the_layers() -> None:
    upward = [
        f"{a} -> {b}"
        for a, targets in edges(read_modules()).items()
        if a != "museforge"
        for b in targets
        if layer(a) < layer(b)
    ]
    assert upward == []


def test_no_pipeline_imports_another() -> None:
    graph = edges(read_modules())
    for pipeline in PIPELINES:
        others = {f"museforge.pipelines.{p}" for p in PIPELINES} - {f"museforge.pipelines.{pipeline}"}
        assert not graph[f"museforge.pipelines.{pipeline}"] & others, pipeline


def test_a_function_level_import_only_defers_a_heavy_library() -> None:
    modules = read_modules()
    needless = []
    for name, module in modules.items():
        already = heavy_when_imported(modules, name)
        for line, target in module.deferred:
            if not heavy_when_imported(modules, target) - already:
                needless.append(f"{module.path.relative_to(PACKAGE)}:{line} imports {target} in a function")
        for line, library in module.heavy_deferred:
            if library in already:
                needless.append(f"{module.path.relative_to(PACKAGE)}:{line} imports {library} again in a function")
    assert needless == []
    assert function_level_imports(modules) <= MAX_FUNCTION_LEVEL


def test_the_cli_and_the_server_start_without_torch() -> None:
    code = (
        "import sys, museforge.cli, museforge.server.app; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'music21') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, museforge.cli; print('numpy' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert bare.strip() == "False"  # `museforge --help` starts in a tenth of a second
    modules = read_modules()
    assert "torch" not in heavy_when_imported(modules, "museforge.cli")
    assert "torch" not in heavy_when_imported(modules, "museforge.server.app")


def test_the_store_and_the_shared_modules_never_import_training() -> None:
    graph = edges(read_modules())
    for name in graph:
        if layer(name) < layer("museforge.training"):
            assert not {t for t in graph[name] if t.startswith("museforge.training")}, name


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def main() -> None:
    modules = read_modules()
    graph = edges(modules)
    for name in sorted(graph):
        print(f"{name} -> {', '.join(sorted(graph[name])) or '(nothing)'}")
    deferred = function_level_imports(modules)
    arrows = sum(len(t) for t in graph.values())
    print(f"\n{len(modules)} modules, {arrows} arrows, {len(cycles(graph))} circles, {deferred} function-level imports")


if __name__ == "__main__":
    main()
