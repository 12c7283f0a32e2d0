"""The documentation: a short README, links that resolve, make targets that exist (CITATION.cff:
tests/project/test_citation.py)."""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from twigma import paths
from twigma.analysis.claims import CLAIMS

ROOT = paths.ROOT


README = ROOT / "README.md"


DOCS = ROOT / "docs"


#: The pages of docs/ that README and the code's messages name.
DOC_PAGES = ("real-data.md", "embeddings.md", "adapting.md", "benchmarks.md", "design.md", "releasing.md")


PAGES = [README, *(DOCS / p for p in DOC_PAGES)]


FOLDER_READMES = [ROOT / d / "README.md" for d in ("data", "figures", "results")]


README_MAX_LINES = 150


FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


INLINE_CODE = re.compile(r"`([^`\n]+)`")


MAKE_CALL = re.compile(r"(?<![\w/.-])make((?:\s+-[\w=-]+)*)\s+([a-z][a-zA-Z0-9_-]*)(?![\w=/.-])")


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def _code(text: str) -> list[str]:
    """The code of a Markdown text: lines of fenced blocks and inline code spans."""
    blocks = [m.group(0) for m in FENCE.finditer(text)]
    return [*blocks, *INLINE_CODE.findall(_without_code_blocks(text))]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _without_code_blocks(page.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}


@pytest.fixture(scope="module")
def make_targets() -> set[str]:
    r = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    targets = {line.split()[0] for line in r.stdout.splitlines()[1:] if line.startswith("  ") and line.split()}
    assert {"figures", "test"} <= targets, r.stdout
    return targets


DESIGN = DOCS / "design.md"


SRC = ROOT / "src" / "twigma"


#: A line of the layout that names entries: "  kernel.py   what it holds" or "  text.py, themes.py  ...";
#: a name ends in .py (a module) or / (a folder), and the description follows after two spaces or more.
_ENTRY = r"[\w.]+(?:/[\w.]+)*(?:\.py|/)"  # kernel.py, robustness/, src/twigma/


LAYOUT_ENTRY = re.compile(rf"^( *)({_ENTRY}(?:, {_ENTRY})*)(?: {{2,}}|$)")


DOTTED = re.compile(r"\btwigma(?:\.\w+)+")


def _layout_names(text: str) -> set[str]:
    """What the layout block of design.md names under ``src/twigma/``, as paths relative to it
    (``embeddings/kernel.py``, ``analysis/robustness/``); a folder's entries are indented below it."""
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(section).group(0)
    names, folders, package_indent = set(), [], None
    for line in block.splitlines():
        m = LAYOUT_ENTRY.match(line)
        if not m:
            continue  # a description's continuation line
        indent, entries = len(m.group(1)), m.group(2).split(", ")
        if package_indent is None:
            package_indent = indent if entries == ["src/twigma/"] else None
            continue
        if indent <= package_indent:
            break  # tests/, bench/, ...: outside the package
        while folders and folders[-1][0] >= indent:
            folders.pop()
        prefix = "".join(name for _, name in folders)
        names.update(prefix + e for e in entries)
        if len(entries) == 1 and entries[0].endswith("/"):
            folders.append((indent, entries[0]))
    return names


def _package_modules() -> set[str]:
    """Every module of the package (not ``__init__.py``, ``__main__.py``) and every subpackage, as they are now."""
    found = set()
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC)
        if p.name == "__init__.py" and rel.parent != Path("."):
            found.add(f"{rel.parent.as_posix()}/")
        elif p.name not in ("__init__.py", "__main__.py"):
            found.add(rel.as_posix())
    return found


def _top_level_names(module: Path) -> set[str]:
    """Names a module defines or imports at its top level (read with ast: nothing is imported)."""
    names = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:  # a name, or the names of a tuple (ROOT, IN_CHECKOUT = find_root())
                names.update(e.id for e in (t.elts if isinstance(t, ast.Tuple) else [t]) if isinstance(e, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _resolves(dotted: str) -> bool:
    """Whether ``twigma.a.b.c`` is a package, a module or a name defined in one (attributes of that name
    are not followed)."""
    folder, parts = SRC, dotted.split(".")[1:]
    for i, part in enumerate(parts):
        if (folder / part / "__init__.py").is_file():
            folder = folder / part
        elif (folder / f"{part}.py").is_file():
            rest = parts[i + 1:]
            return not rest or rest[0] in _top_level_names(folder / f"{part}.py")
        else:
            return part in _top_level_names(folder / "__init__.py")
    return True


def test_docs_pages_exist():
    missing = [_name(p) for p in PAGES if not p.is_file()]
    assert not missing, f"missing documentation pages: {missing}"


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= README_MAX_LINES, (f"README.md has {n} lines; keep it to {README_MAX_LINES} and move the rest "
                                   "to docs/")


def test_no_page_holds_a_figure_still_pending():
    """Every figure in the docs was measured (command, machine, date) or is not there: no "pending" block."""
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for mark in ("PENDING", "*pending*", "(pending)", "Not measured yet", "being measured"):
            assert mark not in text, f"{_name(page)} still has a {mark!r} block: measure it or remove it"


def test_readme_names_both_environment_layers_and_who_installs_the_second():
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "env/requirements.txt" in text and "env/requirements-embed.txt" in text
    for target in ("make figures", "make lab", "make report", "make embeddings", "search", "import-clip-retrieval"):
        assert target in text, target


def test_readme_says_the_default_data_are_synthetic_and_gives_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "synthetic sample" in text
    code = "\n".join(_code(text))
    for command in ("make figures", "make test"):
        assert re.search(rf"(?m)^{command}\b", code), f"README.md does not show `{command}` in a code block"


def test_readme_maps_every_paper_notebook_and_states_every_claim_as_the_code_does():
    text = README.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    mapped = [re.match(r"\| \[([^\]]+)\]", row).group(1) for row in rows]
    paper = list(paths.PAPER_NOTEBOOKS)
    assert mapped[: len(paper)] == paper, "README.md's notebook map must list notebooks 00-09 first, in order"
    assert mapped == sorted(mapped) and all((paths.NOTEBOOKS / f"{m}.ipynb").exists() for m in mapped), \
        "README.md's notebook map lists notebooks that exist, in order (after 00-09: 10_explore, ...)"
    for cid, statement in CLAIMS.items():
        assert f"| {cid} | {statement} |" in text, f"README.md's claim table: {cid} must read {statement!r}"


@pytest.mark.parametrize("page", PAGES + FOLDER_READMES, ids=_name)
def test_relative_links_point_to_files_and_headings_that_exist(page):
    text = _without_code_blocks(page.read_text(encoding="utf-8"))
    links = LINK.findall(text)
    broken = []
    for target in links:
        if SCHEME.match(target):
            continue  # https:, mailto: ...
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target} (no such file: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest})")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.relative_to(ROOT)})")
    assert not broken, f"{_name(page)}: broken links: {broken}"


def test_pages_link_somewhere():
    # guards the link test above against a regex that silently matches nothing
    assert len(LINK.findall(README.read_text(encoding="utf-8"))) >= 10


@pytest.mark.parametrize("page", PAGES + FOLDER_READMES, ids=_name)
def test_make_targets_named_in_docs_exist(page, make_targets):
    named = {m.group(2) for code in _code(page.read_text(encoding="utf-8")) for m in MAKE_CALL.finditer(code)}
    unknown = sorted(named - make_targets)
    assert not unknown, (f"{_name(page)} names make targets that `make help` does not list: {unknown} "
                         f"(listed: {sorted(make_targets)})")


def test_make_call_pattern_reads_targets_and_variable_forms():
    found = [m.group(2) for m in MAKE_CALL.finditer(
        "make -j2 figures RELEASE=x OUT=y\nmake embeddings IMAGES=a\n`make` alone\n.venv/bin/make-ish\nmake lab")]
    assert found == ["figures", "embeddings", "lab"]


def test_code_points_at_docs_pages_that_exist():
    """Error messages and help texts name docs/<page>.md: each such page must exist."""
    files = [*sorted((ROOT / "src" / "twigma").rglob("*.py")), ROOT / "Makefile"]
    named = {m for f in files for m in re.findall(r"docs/[\w.-]+\.md", f.read_text(encoding="utf-8"))}
    assert named, "expected the code's messages to point to docs/ pages"
    missing = sorted(n for n in named if not (ROOT / n).is_file())
    assert not missing, f"the code points to missing pages: {missing}"


def test_design_layout_names_every_module_of_the_package_and_no_other():
    named, modules = _layout_names(DESIGN.read_text(encoding="utf-8")), _package_modules()
    assert any(n.count("/") >= 2 for n in named), f"the layout scan found no nested entries: {sorted(named)}"
    missing, gone = sorted(modules - named), sorted(named - modules)
    assert not missing and not gone, ("docs/design.md's layout must name each module of src/twigma, and only "
                                      f"those: not named {missing}; named but not in the package {gone}")


def test_design_names_no_module_or_file_that_does_not_exist():
    text = DESIGN.read_text(encoding="utf-8")
    dotted = set(DOTTED.findall(text))
    assert {"twigma.files.atomic_write", "twigma.paths.ROOT"} <= dotted
    unknown = sorted(d for d in dotted if not _resolves(d))
    assert not unknown, f"docs/design.md names modules or names the package does not have: {unknown}"
    paths_named = set(re.findall(r"\bsrc/twigma/([\w/]+\.py)\b", text))
    missing = sorted(p for p in paths_named if not (SRC / p).is_file())
    assert not missing, f"docs/design.md names files of src/twigma that do not exist: {missing}"


def test_the_layout_scan_reads_folders_by_indentation():
    text = ("# Design\n\n## Layout\n\n```\nREADME.md, docs/      docs\nsrc/twigma/           the package\n"
            "  paths.py              folders\n  release/              the table\n    load.py, fast.py  read it\n"
            "                        continued, text.py\n    deep/                 a subpackage\n"
            "      a.py                one\n  run/                  running\n    lock.py\n"
            "tests/                the tests\n```\n\n## Next\n")
    assert _layout_names(text) == {"paths.py", "release/", "release/load.py", "release/fast.py", "release/deep/",
                                   "release/deep/a.py", "run/", "run/lock.py"}
    assert _resolves("twigma.release.load_release") and _resolves("twigma.embeddings.neighbors.topk_cosine")
    assert not _resolves("twigma.embeddings.nope") and not _resolves("twigma.files.nope")
