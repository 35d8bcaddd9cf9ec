"""The package's layers, and imports that only flow down them.

A module may import from its own level and the levels below it -- at module level and
inside functions alike -- never from a level above. Optional back-ends (torch, onnx,
h5py, uvicorn, ...) are third-party and not checked here; they are imported only where
used (test_install checks the package imports without them)."""
import ast
import pathlib

import glassnet

ROOT = pathlib.Path(glassnet.__file__).parent

# Lowest first. A module belongs to the first entry whose name is a prefix of its own.
LEVELS = [
    ("foundation", ["errors", "validate", "config", "files", "weights", "lectures", "limits",
                    "utils"]),
    ("numerics", ["initializers", "schedules", "regularizers", "kernels", "layers.ops"]),
    ("layers", ["layers", "losses", "optimizers", "metrics"]),
    ("views of layers and files", ["inspect", "io", "datasets"]),
    ("network", ["network"]),
    ("pictures", ["viz"]),
    ("course and interop", ["course", "interop"]),
    ("explorer", ["explore"]),
    ("entry points", ["cli", "__main__", ""]),
]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def level(name):
    for i, (_, prefixes) in enumerate(LEVELS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + ".") or prefix == "" == name:
                return i
    raise AssertionError(f"glassnet.{name} is in no level of LEVELS; add it there (and to "
                         f"docs/layout.md).")


def imports(path):
    """(line, imported glassnet module) for every import in the file, anywhere in it."""
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_in(source, name, is_package=False):
    package = name.split(".") if is_package else name.split(".")[:-1]
    if name == "":
        package = []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = target + [alias.name]
                as_module = ROOT.joinpath(*candidate)
                if as_module.with_suffix(".py").exists() or as_module.is_dir():
                    found.append((node.lineno, ".".join(candidate)))
                else:
                    found.append((node.lineno, ".".join(target)))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "glassnet" or alias.name.startswith("glassnet."):
                    found.append((node.lineno, alias.name[len("glassnet."):]))
        elif isinstance(node, ast.ImportFrom) and node.module and \
                (node.module == "glassnet" or node.module.startswith("glassnet.")):
            target = node.module.split(".")[1:]
            for alias in node.names:              # from glassnet import viz: the module viz
                candidate = ROOT.joinpath(*target, alias.name)
                module = target + [alias.name] if candidate.with_suffix(".py").exists() \
                    or candidate.is_dir() else target
                found.append((node.lineno, ".".join(module)))
    return found


def upward_imports():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        here = module_name(path)
        for line, target in imports(path):
            if level(target) > level(here):
                found.append(f"glassnet/{path.relative_to(ROOT)}:{line} "
                             f"({LEVELS[level(here)][0]}) imports glassnet.{target} "
                             f"({LEVELS[level(target)][0]})")
    return found


def test_every_module_has_a_level_and_imports_only_downward():
    upward = upward_imports()
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_the_check_sees_imports_inside_functions_and_absolute_ones():
    source = ("import numpy\n"
              "from .graph import Network\n"
              "from glassnet import io, viz\n"
              "def f():\n"
              "    from ..viz import plot_warp\n"
              "    import glassnet.explore.server\n")
    found = [target for _, target in imports_in(source, "network.sequential")]
    assert found == ["network.graph", "io", "viz", "viz", "explore.server"]
    assert [level(t) > level("network.sequential") for t in found] == \
        [False, False, True, True, True]


def test_every_import_of_glassnet_names_a_module_that_exists():
    """An import inside a function runs only when it is called: a path left behind by a
    move is caught here, before a user calls it."""
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        for line, target in imports(path):
            place = ROOT.joinpath(*target.split(".")) if target else ROOT
            if not (place.with_suffix(".py").exists() or place.is_dir()):
                missing.append(f"glassnet/{path.relative_to(ROOT)}:{line} glassnet.{target}")
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)


def test_the_public_names_resolve_as_keras_users_expect():
    import glassnet as gn
    from glassnet import layers
    assert layers.Conv2D is gn.Conv2D and gn.layers.Dense is gn.Dense
    assert all(getattr(gn, name) is getattr(layers, name) for name in layers.__all__)
    assert {"Dense", "Conv2D", "LSTM", "MultiHeadAttention", "BatchNormalization",
            "Bidirectional", "Reshape", "GlobalMaxPooling2D"} <= set(layers.__all__)
    assert gn.callbacks.EarlyStopping is gn.EarlyStopping
    assert gn.losses.get("mse") is not None and gn.optimizers.get("adam") is not None
    assert gn.network.Sequential is gn.Sequential and gn.network.Model is gn.Model


def test_no_modules_import_each_other_in_a_circle():
    """Within a level too, imports run one way: the graph of glassnet's modules (imports
    inside functions counted, ``from . import name`` of a non-module counted as the
    package) has no cycle."""
    graph = {module_name(p): {t for _, t in imports(p)} - {module_name(p)}
             for p in ROOT.rglob("*.py")}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"
    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "imports in a circle:\n" + "\n".join(cycles)
