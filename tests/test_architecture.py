"""The shape of core/ (docs/ARCHITECTURE.md), checked over the source with ``ast``: the kernel
imports no feature, features form no import cycle and use each other only through ``payloads``
modules and the registry, core/ knows no transport, and the route order covers every feature."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from core.features import FEATURES, ORDER, registry
from core.kernel.registry import Feature, Registry, RegistryError
from core.kernel.routes import Always, Route

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
FEATURE_NAMES = sorted(p.name for p in CORE.iterdir()
                       if p.is_dir() and (p / "__init__.py").exists() and p.name != "kernel")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(folder: Path) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        yield module_name(path), ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(tree: ast.Module, typing_too: bool = True) -> Iterator[str]:
    """Every module a file imports, at any depth (inside functions too); ``from a import b``
    counts as ``a.b`` when b is a module. Imports under ``if TYPE_CHECKING:`` only when
    ``typing_too``."""
    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.If) and not typing_too
                    and "TYPE_CHECKING" in ast.unparse(child.test)):
                yield from (m for n in child.orelse for m in walk(ast.Module([n], [])))
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                names = [f"{child.module}.{alias.name}" for alias in child.names]
                modules = [n for n in names
                           if (ROOT / Path(*n.split("."))).with_suffix(".py").exists()]
                yield from modules if len(modules) == len(names) else [child.module, *modules]
            yield from walk(child)
    yield from walk(tree)


def feature_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "core" and parts[1] in FEATURE_NAMES:
        return parts[1]
    return None


def is_payloads(module: str) -> bool:
    return module.split(".")[2:] == ["payloads"]


def feature_imports() -> Iterator[tuple[str, str, str, str]]:
    """(importing module, its feature, imported module, its feature) across features."""
    for name in FEATURE_NAMES:
        for module, tree in sources(CORE / name):
            for imported in imports(tree):
                other = feature_of(imported)
                if other is not None and other != name:
                    yield module, name, imported, other


def test_the_kernel_imports_no_feature() -> None:
    found = [(module, imported) for module, tree in sources(CORE / "kernel")
             for imported in imports(tree)
             if imported in ("core.features",) or feature_of(imported)]
    assert not found, found


def test_payloads_modules_import_no_feature() -> None:
    """So that importing another feature's payloads can never close a cycle."""
    found = [(module, imported) for name in FEATURE_NAMES
             for module, tree in sources(CORE / name) if is_payloads(module)
             for imported in imports(tree) if feature_of(imported)]
    assert not found, found


def test_features_form_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in FEATURE_NAMES}
    for _, name, imported, other in feature_imports():
        if not is_payloads(imported):
            graph[name].add(other)
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as cycle:
        pytest.fail(f"import cycle among features: {' -> '.join(cycle.args[1])}")


def test_a_feature_imports_from_another_only_its_payloads() -> None:
    offenders = sorted({(module, imported) for module, _, imported, _ in feature_imports()
                        if not is_payloads(imported)})
    for module, imported in offenders:
        print(f"{module} imports {imported}")
    assert not offenders, "use the other feature's payloads or a registry continuation"


TRANSPORTS = ("vkbottle", "aiohttp", "bot")


def test_core_knows_no_transport_and_storage_no_feature() -> None:
    found = [(module, imported) for module, tree in sources(CORE)
             for imported in imports(tree, typing_too=False)
             if imported.split(".")[0] in TRANSPORTS]
    # not even for type hints: settings reach core/ as deps.settings, never bot.config
    found += [(module, imported) for module, tree in sources(CORE)
              for imported in imports(tree) if imported.split(".")[0] == "bot"]
    found += [(module, imported) for module, tree in sources(ROOT / "storage")
              for imported in imports(tree) if imported.startswith("core.")
              and not imported.startswith("core.kernel")]
    assert not found, found


def test_the_order_places_every_route_group_once() -> None:
    assert len(ORDER) == len(set(ORDER))
    groups = {f"{f.name}.{group}" for f in FEATURES for group in f.routes}
    assert groups == set(ORDER)
    assert len(registry().routes) == sum(len(r) for f in FEATURES for r in f.routes.values())
    stray = Feature("stray", routes={"late": [Route(Always(), lambda conv: [])]})
    with pytest.raises(RegistryError, match="stray.late"):
        Registry.of((*FEATURES, stray), ORDER)
    with pytest.raises(RegistryError, match="nowhere.group"):
        Registry.of(FEATURES, (*ORDER, "nowhere.group"))


def test_every_continuation_called_is_registered() -> None:
    """``registry.continuation(key)`` fails only when called: every key the source asks for
    (a literal, or a module constant) is registered by some feature."""
    asked: dict[str, str] = {}
    for module, tree in sources(CORE):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "continuation" and node.args):
                arg = node.args[0]
                if isinstance(arg, ast.Constant):
                    asked[str(arg.value)] = module
                else:
                    assert isinstance(arg, ast.Name), f"{module}: {ast.unparse(arg)}"
                    asked[getattr(importlib.import_module(module), arg.id)] = module
    assert asked
    missing = {key: module for key, module in asked.items()
               if key not in registry().continuations}
    assert not missing, missing
