"""The client and the local server are separate rooms: neither imports the other's modules."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import momento_http

PACKAGE = Path(momento_http.__file__).parent


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_local_server_never_imports_the_client() -> None:
    for path in (PACKAGE / "local").glob("*.py"):
        for module in imported_modules(path):
            if module.startswith("momento_http"):
                assert module.startswith("momento_http.local"), f"{path.name} imports {module}"


def test_the_client_never_imports_the_local_server() -> None:
    for path in PACKAGE.glob("_*.py"):
        for module in imported_modules(path):
            assert not module.startswith("momento_http.local"), f"{path.name} imports {module}"


def test_the_package_root_only_re_exports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}
    public = {
        name
        for name, value in vars(momento_http).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public == set(momento_http.__all__)


def test_the_command_line_reaches_the_local_server_only_through_its_local_command() -> None:
    for path in (PACKAGE / "_cli").glob("*.py"):
        local = {
            module for module in imported_modules(path) if module.startswith("momento_http.local")
        }
        assert path.name == "_main.py" or not local, f"{path.name} imports {local}"
