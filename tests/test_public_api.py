"""simgen's public API: real signatures that match the functions they call, every job reachable
from `import simgen`, and no import circle anywhere in the package."""

from __future__ import annotations

import ast
import inspect

import pytest

import simgen
from tests.conftest import REPO

# public name -> (module, function) it calls
API = {"load_scenario": ("simgen.scenario", "load"),
       "generate": ("simgen.run.generate", "generate"),
       "verify": ("simgen.trust.verify", "verify"),
       "regenerate": ("simgen.trust.regen", "regenerate"),
       "write_report": ("simgen.trust.report", "write_report"),
       "export_yolo": ("simgen.export.yolo", "export_yolo"),
       "mix": ("simgen.export.mix", "mix_datasets"),
       "preview": ("simgen.viz.preview", "preview")}


@pytest.mark.parametrize("name", sorted(API))
def test_each_public_function_has_the_signature_of_what_it_calls(name):
    import importlib

    module, target = API[name]
    public = inspect.signature(getattr(simgen, name))
    inner = inspect.signature(getattr(importlib.import_module(module), target))
    assert name in simgen.__all__ and getattr(simgen, name).__doc__
    inner_params = [p for p in inner.parameters.values() if p.name != "on_renderer"
                    or "on_renderer" in public.parameters]
    assert [(p.name, p.kind, p.default) for p in public.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in inner_params]
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in public.parameters.values())


def _import_graph() -> dict[str, set[str]]:
    root = REPO / "simgen"
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simgen"):
                targets = [resolve(f"{node.module}.{a.name}") or resolve(node.module)
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("simgen")]
            # The package root is the API facade: it imports everything lazily, and modules
            # take only __version__ from it.
            graph[module] |= {t for t in targets if t and t not in (module, "simgen")}
    return graph


def test_no_import_circle_between_simgen_modules():
    graph = _import_graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(module: str, path: list[str]) -> bool:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycle.extend(path[path.index(other):] + [module, other] if other in path
                             else [module, other])
                return True
            if other not in state and visit(other, path + [module]):
                return True
        state[module] = 2
        return False

    assert not any(visit(m, []) for m in sorted(graph) if m not in state), cycle
    assert "simgen.scene" in graph["simgen.run.generate"]      # the graph is read at all
