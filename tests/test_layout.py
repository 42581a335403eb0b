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


TRANSPORT = PACKAGE / "_transport"
# The send path: what builds requests, sends them and reads their answers.
SEND_PATH = {"_body", "_call", "_deadline", "_exception_mapping", "_http_client", "_requests"}
SEND_PATH |= {"_send"}
SEND_PATH |= {"_topic_polls"}  # a subscription's polls ride a dedicated connection


# Which httpx family a client, request or failure is of: a leaf that anything may import.
FAMILIES = "momento_http._families"


def test_the_families_module_imports_nothing_of_the_sdk() -> None:
    modules = imported_modules(PACKAGE / "_families.py")
    assert not {module for module in modules if module.startswith("momento_http")}


def test_the_transport_imports_nothing_of_the_sdk_outside_itself_but_the_families() -> None:
    for path in TRANSPORT.glob("*.py"):
        for module in imported_modules(path):
            if module.startswith("momento_http") and module != FAMILIES:
                assert module.startswith("momento_http._transport"), f"{path.name} imports {module}"


def test_only_the_send_path_reaches_the_transport_and_only_through_its_front() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.parent == TRANSPORT:
            continue
        reached = {m for m in imported_modules(path) if m.startswith("momento_http._transport")}
        if path == PACKAGE / "__init__.py" or path.stem in SEND_PATH:
            assert reached <= {"momento_http._transport"}, f"{path.name} imports {reached}"
        else:
            assert not reached, f"{path.name} imports {reached}"


def test_the_command_line_and_the_fixtures_use_public_names_only() -> None:
    users = [PACKAGE / "testing.py", *(PACKAGE / "_cli").glob("*.py")]
    for path in users:
        for module in imported_modules(path):
            if not module.startswith("momento_http"):
                continue
            own = path.parent.name == "_cli" and module.startswith("momento_http._cli")
            local_cli = path.name == "_main.py" and module == "momento_http.local._cli"
            assert module in {"momento_http", "momento_http.local"} or own or local_cli, (
                f"{path.name} imports {module}"
            )


def _defined_names() -> set[str]:
    """Every name the package defines: functions, classes, attributes, parameters."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)  # __slots__ entries
    return names


def test_no_other_librarys_private_attribute_is_touched() -> None:
    ours = _defined_names()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                foreign_private = parts[0] not in {"momento_http", "__future__"} and any(
                    part.startswith("_") for part in parts
                )
                assert not foreign_private, f"{path.name} imports {node.module}"
            if isinstance(node, ast.Attribute):
                private = node.attr.startswith("_") and not node.attr.startswith("__")
                assert not private or node.attr in ours, f"{path.name} touches .{node.attr}"


def test_the_private_attribute_check_sees_what_it_looks_for() -> None:
    leaky = ast.parse("url._uri_reference")
    (attribute,) = [node for node in ast.walk(leaky) if isinstance(node, ast.Attribute)]
    assert attribute.attr not in _defined_names()
