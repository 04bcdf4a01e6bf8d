"""The project's layers, lowest first: crm (settings, URLs, roles) ← contacts ← messaging ←
broadcasts. A module imports from its own layer and those below it, never above (messaging's
delivery statuses reach broadcasts by a signal), and at its top: an import inside a function
would hide a circle. Only an AppConfig's ready() imports inside a function."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["crm", "contacts", "messaging", "broadcasts"]


def _modules() -> list[str]:
    names = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if "migrations" not in path.parts:
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(parts).removesuffix(".__init__"))
    return names


MODULES = _modules()


def _imports(module: str) -> list[tuple[str, list[str]]]:
    """Each project module `module` imports, with the functions the import is inside."""
    source = importlib.import_module(module).__file__
    tree = ast.parse(Path(source).read_text(), source)
    found = []

    def visit(node: ast.AST, functions: list[str]) -> None:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import ("from . import x") is one of the module's own package.
            names = [node.module or ""] if not node.level else [module.split(".")[0]]
        else:
            names = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions = [*functions, node.name]
        found.extend((name, functions) for name in names if name.split(".")[0] in LAYERS)
        for child in ast.iter_child_nodes(node):
            visit(child, functions)

    visit(tree, [])
    return found


def _layer(name: str) -> int:
    return LAYERS.index(name.split(".")[0])


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_nothing_from_a_layer_above_its_own(module):
    above = [name for name, _ in _imports(module) if _layer(name) > _layer(module)]
    assert above == [], f"{module} imports {above}: the layers are {' ← '.join(LAYERS)}"


@pytest.mark.parametrize("module", MODULES)
def test_no_function_imports_a_project_module_but_an_app_configs_ready(module):
    inside = [
        (name, functions)
        for name, functions in _imports(module)
        if functions and not (module.endswith(".apps") and functions == ["ready"])
    ]
    assert inside == [], f"{module} imports inside functions: {inside}"
