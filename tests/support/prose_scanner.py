"""The scanner of sentences a notebook renders: a numeric literal compared, or more than one conditional."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

SENTENCE_CALLS = {"show", "display_markdown", "Markdown"}


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
