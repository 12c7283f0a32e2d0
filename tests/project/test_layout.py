"""The package's shape: one root for the errors a user can cause, one reader of each setting, and the rules of its layout (sizes, private names, the direction of imports, atomic writes)."""
import ast
import importlib
import inspect
import pkgutil

from support.package_sources import SRC, _sources

import twigma
from twigma import paths
from twigma.errors import UserError


def _modules():
    for m in pkgutil.walk_packages(twigma.__path__, "twigma."):
        if not m.name.endswith("__main__"):
            yield importlib.import_module(m.name)


MAX_FILE_LINES = 500


MAX_FUNCTION_LINES = 80


#: Files over MAX_FILE_LINES, and who is splitting them.
LONG_FILES: dict[str, str] = {}


#: Functions over MAX_FUNCTION_LINES (``module:function``), and who is splitting them.
LONG_FUNCTIONS: dict[str, str] = {}


#: Private names imported from another module (``importer -> module._name``), and who makes them public.
PRIVATE_IMPORTS: dict[str, str] = {}


#: Imports against the layers' direction (``importer -> imported``), and who turns them round.
UPWARD_IMPORTS: dict[str, str] = {}


#: Import cycles (the sorted modules of each), and who breaks them.
CYCLES: dict[tuple, str] = {}


#: Modules that write a file other than through files.atomic_write, and why.
DIRECT_WRITES = {
    "fetch/http.py": "a download's .part file is appended to so that it resumes; it is renamed only once "
                     "complete and verified (its own atomic rename)",
    "run/lock.py": "the lock is the open file itself (a renamed copy would be another lock); it holds only the "
                   "holder's pid, and the holder's standard streams go to /dev/null",
}


def _module_name(rel: str) -> str:
    parts = ["twigma", *rel[:-len(".py")].split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _function_lengths(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def _imports(rel: str, text: str, modules: set[str]):
    """(imported module, private name or None) for every twigma import of one module, at any depth
    (an import inside a function points the same way as one at the top)."""
    def owner(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    tree = ast.parse(text)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "twigma":
                    yield owner(a.name), None
                    aliases[a.asname or a.name] = owner(a.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "twigma":
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in modules:  # a module: from twigma.embeddings import store
                    yield full, None
                    aliases[a.asname or a.name] = full
                else:  # a name in a module: from twigma.files import atomic_write
                    yield owner(node.module), (a.name if a.name.startswith("_") else None)
    for node in ast.walk(tree):  # store._private, with store an imported twigma module
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            yield aliases[node.value.id], node.attr


def _import_graph():
    sources = dict(_sources())
    modules = {_module_name(rel) for rel in sources}
    edges, private = {}, set()
    for rel, text in sources.items():
        me = _module_name(rel)
        edges[me] = set()
        for target, name in _imports(rel, text, modules):
            if target is None or target == me:
                continue
            edges[me].add(target)
            if name:
                private.add(f"{me} -> {target}.{name}")
    return edges, private


def _cycles(edges):
    """Each elementary cycle found by a depth-first search, as the sorted tuple of its modules."""
    found, state = set(), {}

    def visit(u, stack):
        state[u] = "open"
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == "open":
                found.add(tuple(sorted(stack[stack.index(v):])))
            elif v in edges and v not in state:
                visit(v, stack)
        stack.pop()
        state[u] = "done"

    for u in sorted(edges):
        if u not in state:
            visit(u, [])
    return found


#: The layers, bottom first: a module imports only from its own folder or from a lower layer
#: (docs/design.md draws them). present/ and run/ share a layer: figures carry the run's provenance.
LAYERS = {"paths": 0, "files": 0, "errors": 0, "cache": 0, "memory": 0, "version": 0, "release": 1, "embeddings": 2,
          "analysis": 3, "fetch": 3, "synthetic": 3, "present": 4, "run": 4, "cli": 5, "": 5, "__main__": 6}


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


#: Calls that write a file: ``path.write_text(...)`` (the path is the receiver) or ``df.to_csv(path)``,
#: ``np.save(path, ...)``, ``open(path, "w")`` (the path is the first argument).
_RECEIVER_WRITES = {"write_text", "write_bytes"}


_ARGUMENT_WRITES = {"to_csv", "to_parquet", "savefig", "save", "open", "copyfile", "copy", "dump"}


def _direct_writes(text: str) -> list[int]:
    """Lines where a file is written other than into the temporary path atomic_write hands over: a
    write is fine inside a lambda, to a parameter of the enclosing function (a writer given the
    temporary path) or to a file object opened by a ``with``."""
    bad = []

    def check(node, params: set, handles: set, in_lambda: bool):
        if isinstance(node, ast.Lambda):
            in_lambda = True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            handles = {n.id for w in ast.walk(node) if isinstance(w, (ast.With, ast.AsyncWith))
                       for item in w.items if isinstance(item.optional_vars, ast.Name) for n in [item.optional_vars]}
        if isinstance(node, ast.Call) and not in_lambda:
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            target = None
            if name in _RECEIVER_WRITES and isinstance(f, ast.Attribute):
                target = f.value
            elif name in _ARGUMENT_WRITES and node.args:
                mode = node.args[1] if name == "open" and len(node.args) > 1 else None
                is_write = name != "open" or (mode is not None and not (  # a mode given, and not a read-only one
                    isinstance(mode, ast.Constant) and not set(str(mode.value)) & set("wax+")))
                if name == "dump":  # json.dump(obj, fh): the file is the second argument
                    target = node.args[1] if len(node.args) > 1 else None
                elif is_write:
                    target = node.args[-1] if name in ("copyfile", "copy") else node.args[0]
                if name == "save" and not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                                           and f.value.id == "np"):
                    target = None  # only np.save writes a path
            if target is not None and not (isinstance(target, ast.Name) and target.id in params | handles):
                bad.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            check(child, params, handles, in_lambda)

    check(ast.parse(text), set(), set(), False)
    return bad


#: Calls that read a file or look at a folder. analysis/ computes only: its callers (the notebook's context,
#: twigma.present.notebook; the run's ledger, twigma.run.ledger; the release and embedding readers) hand it tables.
_FILE_READS = {"read_csv", "read_parquet", "read_json", "read_table", "read_feather", "read_text", "read_bytes",
               "load", "loadtxt", "memmap", "open", "glob", "rglob", "iterdir", "exists", "is_file", "load_release",
               "read_meta", "safe_load"}


def _file_reads(text: str) -> list[int]:
    """Lines that call one of :data:`_FILE_READS` (``pd.read_csv(p)``, ``path.read_text()``, ``open(p)``, ...)."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in _FILE_READS:
                found.append(node.lineno)
    return found


def test_every_public_error_class_of_the_package_is_a_user_error():
    errors = {}
    for mod in _modules():
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception) and not issubclass(obj, Warning)
                    and obj.__module__ == mod.__name__
                    and not name.startswith("_")):
                errors[f"{mod.__name__}.{name}"] = obj
    assert len(errors) >= 10  # ReleaseError, StoreError, EmbedError, FetchError, ... (the test sees them all)
    not_user = [n for n, cls in errors.items() if not issubclass(cls, UserError)]
    assert not not_user, f"errors a user can cause that do not derive from twigma.errors.UserError: {not_user}"


def test_the_cache_folder_variable_is_read_in_one_place(monkeypatch, tmp_path):
    readers = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if '"TWIGMA_CACHE_DIR"' in p.read_text()]
    assert readers == ["paths.py"]
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path))
    assert paths.cache_root() == tmp_path
    monkeypatch.delenv(paths.CACHE_ENV)
    assert paths.cache_root() == paths.INTERIM


def test_a_run_layout_names_every_folder_under_its_root(tmp_path):
    run = paths.RunLayout.published(tmp_path)
    assert run.results == tmp_path / "results" and run.figures == tmp_path / "figures"
    assert run.build == tmp_path / "build" and run.report == tmp_path / "report"
    assert run.claims_csv == run.results / "claims.csv" and run.manifest == run.results / "provenance.json"
    assert run.figure("03_cluster_shares", "pdf") == tmp_path / "figures" / "03_cluster_shares.pdf"
    assert paths.RunLayout.published("").root == paths.ROOT


def test_no_file_or_function_is_longer_than_the_limits():
    long_files, long_functions = {}, {}
    for rel, text in _sources():
        n = len(text.splitlines())
        if n > MAX_FILE_LINES:
            long_files[rel] = n
        for name, length in _function_lengths(ast.parse(text)):
            if length > MAX_FUNCTION_LINES:
                long_functions[f"{rel}:{name}"] = length
    assert len(long_files) + len(long_functions) < 20  # the scan sees the package (not an empty folder)
    new_files = {f: n for f, n in long_files.items() if f not in LONG_FILES}
    new_functions = {f: n for f, n in long_functions.items() if f not in LONG_FUNCTIONS}
    assert not new_files, f"files over {MAX_FILE_LINES} lines (split them at their seams): {new_files}"
    assert not new_functions, f"functions over {MAX_FUNCTION_LINES} lines (split them into steps): {new_functions}"


def test_the_size_scan_counts_lines_as_a_reader_does():
    tree = ast.parse("def f():\n" + "    x = 1\n" * 80 + "\n\ndef g():\n    return 2\n")
    assert dict(_function_lengths(tree)) == {"f": 81, "g": 2}


def test_no_module_imports_a_private_name_of_another():
    _, private = _import_graph()
    new = sorted(private - set(PRIVATE_IMPORTS))
    assert not new, f"private names used across modules (make them public where they are shared): {new}"


def test_the_private_name_scan_sees_both_forms():
    modules = {"twigma.a", "twigma.b"}
    text = "from twigma.a import _x, y\nfrom twigma import b\nb._z()\nb.__name__\n"
    assert sorted(n for _, n in _imports("c.py", text, modules) if n) == ["_x", "_z"]


def test_imports_point_down_the_layers_without_cycles():
    edges, _ = _import_graph()
    assert {"twigma.analysis.themes", "twigma.present.outputs", "twigma.run.runner"} <= set(edges)
    assert {_layer(m) for m in edges} <= set(LAYERS), "a new top-level module or folder: give it a layer"
    upward = {f"{a} -> {b}" for a, bs in edges.items() for b in bs
              if _layer(a) != _layer(b) and LAYERS[_layer(a)] < LAYERS[_layer(b)]}
    new_upward = sorted(upward - set(UPWARD_IMPORTS))
    assert not new_upward, f"imports against the layers (analysis/ computes only, readers never call up): {new_upward}"
    new_cycles = sorted(_cycles(edges) - set(CYCLES))
    assert not new_cycles, f"import cycles: {new_cycles}"


def test_the_cycle_scan_finds_a_cycle_and_only_that():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {("a", "b", "c")}
    assert _cycles({"a": {"b"}, "b": set()}) == set()


def test_every_file_is_written_through_atomic_write():
    found = {rel: lines for rel, text in _sources() if (lines := _direct_writes(text))}
    new = {rel: lines for rel, lines in found.items() if rel not in DIRECT_WRITES}
    assert not new, ("files written in place, not through twigma.files.atomic_write(path, lambda tmp: ...) "
                     f"(module: lines): {new}")


def test_the_write_scan_tells_a_temporary_path_from_a_final_one():
    text = ('def ok(df, tmp):\n    df.to_csv(tmp)\n'
            'def ok2(p):\n    atomic_write(p, lambda tmp: tmp.write_text("x"))\n'
            'def ok3(tmp):\n    with open(tmp, "wb") as fh:\n        json.dump({}, fh)\n'
            'def bad(df, root):\n    df.to_csv(root / "a.csv")\n    (root / "b").write_text("x")\n'
            '    np.save(root / "c.npy", x)\n    open(root / "d", "w")\n    open(root / "e")\n'
            '    open(root / "f", "rb")\n    open(root / "g", "ab" if x else "wb")\n')
    assert _direct_writes(text) == [9, 10, 11, 12, 15]


def test_the_computing_layer_reads_no_files():
    found = {rel: lines for rel, text in _sources() if rel.startswith("analysis/") and (lines := _file_reads(text))}
    assert not found, f"files read inside analysis/ (module: lines); read them in present/ or run/: {found}"
    assert _file_reads("import pandas as pd\ndef f(p):\n    x = pd.read_csv(p)\n    return open(p).read()\n"
                       "def g(df):\n    return df.groupby('a').size()\n") == [3, 4]
