"""Dependencies run one way: the catalogue never imports the protocol code or the apps on
top of it, so it can be read (and tested) on its own; and no app imports the project
(`config/`), which ties them together: apps read settings through django.conf.settings."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPPER_LAYERS = ("oauthflows", "api", "connectivity", "config")
APPS = ("securitymaterial", "oauthflows", "api", "connectivity", "smclient", "oauthproviders")


def python_files(*packages: str) -> list[Path]:
    return sorted(
        path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


CATALOGUE = python_files("securitymaterial")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_catalogue_imports_nothing_above_it(path: Path) -> None:
    upward = {name for name in imported_modules(path) if name.split(".")[0] in UPPER_LAYERS}
    assert upward == set(), f"{path.name} imports {upward}"


@pytest.mark.parametrize("path", python_files(*APPS), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_app_imports_the_project(path: Path) -> None:
    project = {name for name in imported_modules(path) if name.split(".")[0] == "config"}
    assert project == set(), f"{path.name} imports {project}"


def test_the_check_sees_a_planted_upward_import(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("from oauthflows.refresh import refresh_artifact\n")
    assert "oauthflows.refresh" in imported_modules(planted)


@pytest.mark.parametrize(
    "path", python_files("oauthproviders", "smclient"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_providers_and_the_client_need_no_django(path: Path) -> None:
    """Plain Python: the catalogue imports the providers directly, integrations the client."""
    django = {name for name in imported_modules(path) if name.split(".")[0] == "django"}
    assert django == set(), f"{path.name} imports {django}"


PACKAGES = ("config", *APPS)


def module_graph() -> dict[str, set[str]]:
    """Each module of ours and the modules of ours it imports when it is imported (its
    top-level imports; an import inside a function runs later and is no circle)."""
    modules: dict[str, Path] = {}
    for path in python_files(*PACKAGES):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str | None] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                found |= {ours(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package
                    for _ in range(node.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{base}" if base else parent
                found |= {ours(f"{base}.{alias.name}") or ours(base) for alias in node.names}
        graph[name] = {module for module in found if module and module != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_back_in_a_circle() -> None:
    assert circles(module_graph()) == []


def test_the_circle_check_sees_a_planted_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
