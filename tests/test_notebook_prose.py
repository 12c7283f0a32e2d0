"""Decisions live in the package, words in the notebooks: a sentence a notebook renders (a call of
``show``/``display_markdown``/``Markdown``) holds words and fields of tested results, with at most one
conditional expression and no numeric literal compared inside it (a cut-off is a parameter or a field).
The scanner is tested on small examples first, so the rule cannot pass by seeing nothing."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from twigma import paths

SENTENCE_CALLS = {"show", "display_markdown", "Markdown"}
NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def sentence_problems(source: str) -> list[str]:
    """What breaks the rule in one code cell's source: one line per sentence call at fault."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not a sentence
        return []
    problems = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _name(node.func) in SENTENCE_CALLS):
            continue
        inner = [n for n in ast.walk(node) if n is not node]
        if any(isinstance(n, ast.Call) and _name(n.func) in SENTENCE_CALLS for n in inner):
            continue  # display(Markdown(...)): the inner call is checked on its own
        conditionals = sum(isinstance(n, ast.IfExp) for n in inner)
        literals = [ast.unparse(n) for n in inner
                    if isinstance(n, ast.Compare) and any(_is_number(x) for x in [n.left, *n.comparators])]
        line = node.lineno
        if conditionals > 1:
            problems.append(f"line {line}: {conditionals} conditional expressions in one sentence (at most 1)")
        if literals:
            problems.append(f"line {line}: a number compared inside a sentence: {', '.join(literals)}")
    return problems


def notebook_problems(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            found += [f"{path.name} cell {i} {p}" for p in sentence_problems(cell.source)]
    return found


@pytest.mark.parametrize("source,expected", [
    ('show(f"{n:,} images")', 0),
    ('show(f"{t.low:.2f}" + (" rises" if t.rising else " does not rise"))', 0),
    ('show(f"x" + ("a" if a else "b") + ("c" if c else "d"))', 1),
    ('show(f"x" + ("barely" if r.p < 0.05 else "clearly"))', 1),
    ('display(Markdown("y" if share > 0.5 else "z"))', 1),
    ('show(f"{(\'up\' if slope > -0 else \'down\')}")', 1),
    ('show("%d" % n if n == 1 else "many")', 1),
    ('x = 1 if a < 0.5 else 2\nshow(f"{x}")', 0),  # a decision outside the sentence is not this rule's
    ('narrative.display_markdown(f"{a}" if ok else f"{b}" if other else "c")', 1),
])
def test_the_scanner_sees_what_the_rule_forbids(source, expected):
    assert len(sentence_problems(source)) == expected, sentence_problems(source)


def test_there_are_notebooks_to_scan():
    assert len(NOTEBOOKS) >= 13


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sentences_hold_words_and_fields_not_decisions(nb_path):
    assert notebook_problems(nb_path) == []


def test_the_new_notebook_template_follows_the_rule():
    from twigma.run.template import TEMPLATE

    assert notebook_problems(TEMPLATE) == []
