"""The house's layout: each part imports only what lies below it, and no import runs in a circle."""

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


# The parts, each a package with a front (its __init__) that says what it owns, and what each
# may import of the rest of the SDK: what lies below it. Nothing imports a part from above
# but through its front.
PARTS: dict[str, set[str]] = {
    # HTTP/1.1 over sockets for an httpx or httpx2 client.
    "_transport": {"_families"},
    # What a key says, the base URL it leads to, and where tokens come from.
    "_credentials": {"_errors", "_redaction"},
    # Every call and poll, from request to answer or MomentoError.
    "_send": {"_transport", "_families", "_config", "_errors", "_logs", "_redaction", "_retry"}
    | {"_version"},
    # Subscriptions, their polls and the events they yield.
    "_topics": {"_send", "_transport", "_config", "_errors", "_logs", "_retry", "_validation"},
}
# Leaves: modules anything may import, which import nothing of the SDK but other leaves.
LEAVES: dict[str, set[str]] = {"_families": set(), "_redaction": set(), "_version": set()}
LEAVES |= {"_errors": {"_redaction"}, "_logs": {"_redaction"}}


def _sdk_modules(path: Path) -> set[str]:
    return {m for m in imported_modules(path) if m.startswith("momento_http.")}


def test_each_part_imports_only_what_lies_below_it() -> None:
    for part, below in PARTS.items():
        for path in (PACKAGE / part).glob("*.py"):
            for module in _sdk_modules(path):
                top = module.split(".")[1]
                assert top == part or top in below, f"{part}/{path.name} imports {module}"


def test_each_leaf_imports_only_leaves() -> None:
    for leaf, allowed in LEAVES.items():
        reached = {m.split(".")[1] for m in _sdk_modules(PACKAGE / f"{leaf}.py")}
        assert reached <= allowed, f"{leaf} imports {reached - allowed}"


def test_a_part_is_reached_from_outside_only_through_its_front() -> None:
    for path in PACKAGE.rglob("*.py"):
        home = path.relative_to(PACKAGE).parts[0]
        for module in _sdk_modules(path):
            parts = module.split(".")
            if parts[1] in PARTS and parts[1] != home:
                assert len(parts) == 2, f"{path.relative_to(PACKAGE)} imports {module}"


def test_only_the_send_path_and_topics_reach_the_transport() -> None:
    for path in PACKAGE.rglob("*.py"):
        home = path.relative_to(PACKAGE).parts[0]
        if home in {"_transport", "_send", "_topics", "__init__.py"}:
            continue
        reached = {m for m in _sdk_modules(path) if m.startswith("momento_http._transport")}
        assert not reached, f"{path.relative_to(PACKAGE)} imports {reached}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_sdk_modules(path: Path, modules: set[str]) -> set[str]:
    """The SDK's modules a file imports: `from package import module` names the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= named & modules
            if named - modules:
                found.add(node.module)
    return found & modules


def test_no_modules_import_each_other_even_for_types() -> None:
    paths = list(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _imported_sdk_modules(path, modules) for path in paths}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circle = [*path[path.index(module) :], module]
            raise AssertionError("an import circle: " + " -> ".join(circle))
        if module in done:
            return
        for imported in graph.get(module, set()):
            visit(imported, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_every_part_says_what_it_owns_and_who_may_import_it() -> None:
    for part in PARTS:
        front = ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text()))
        assert front is not None, part
        assert "Who may import it" in front, part


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
