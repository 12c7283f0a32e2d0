"""A notebook's parameters: what its ``parameters`` cell declares, values given on a command line
typed as declared, and every parameter's effective value for the run's record.

The declarations are papermill's (:func:`papermill.inspect_notebook`: name, the type annotation,
the default's source and the trailing comment); a value given as text (``-p ALPHA 0.05``, or
``PARAMS="ALPHA=0.05 DECLINING=[1,3]"`` through make) is read as a Python literal of the declared
type (a ``str`` parameter takes the text as it is). An unknown name or a value that does not fit
its type is a :class:`ParameterError` that lists the notebook's parameters.
"""
from __future__ import annotations

import ast
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from twigma.errors import UserError

#: The parameters the runner sets itself (paths); a command line gives them as options, not with -p.
RUNNER_PARAMETERS = ("RELEASE", "OUT", "EMBEDDINGS")


class ParameterError(UserError, ValueError):
    """A parameter the notebook does not declare, or a value that does not fit its declared type."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its name, type (as annotated), default value and comment."""

    name: str
    type: str
    default: object
    help: str

    def line(self) -> str:
        """``ALPHA (float, default 0.01): significance level ...``."""
        return f"{self.name} ({self.type}, default {self.default!r})" + (f": {self.help}" if self.help else "")


def declared(notebook: str | os.PathLike) -> dict[str, Parameter]:
    """The parameters ``notebook`` declares, in order."""
    import papermill as pm

    out = {}
    for name, p in pm.inspect_notebook(str(notebook)).items():
        try:
            default = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            default = p["default"]  # a default that is not a literal is kept as its source
        out[name] = Parameter(name, p.get("inferred_type_name") or "None", default, p.get("help") or "")
    return out


def _listing(params: dict[str, Parameter]) -> str:
    return "\n".join(f"  {p.line()}" for n, p in params.items() if n not in RUNNER_PARAMETERS) or "  (none)"


def _fits(value: object, typename: str) -> bool:
    base = typename.replace(" ", "")
    if base in ("None", "", "Any"):
        return True
    if base == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "bool":
        return isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base.startswith("list[") and base.endswith("]"):
        return isinstance(value, list) and all(_fits(v, base[5:-1]) for v in value)
    if base.startswith("dict"):
        return isinstance(value, dict)
    return True  # a type this reader does not know: papermill passes the value as it is


def typed(notebook: str | os.PathLike, given: dict[str, str]) -> dict[str, object]:
    """``given`` (name -> text) read as the values of ``notebook``'s declared parameters."""
    params = declared(notebook)
    name = Path(notebook).stem
    out: dict[str, object] = {}
    for key, text in given.items():
        if key in RUNNER_PARAMETERS:
            raise ParameterError(f"{key} is set with --{key.lower()} (make: {key}=...), not as a parameter of "
                                 f"{name}.")
        if key not in params:
            raise ParameterError(f"{name} has no parameter {key!r}. Its parameters:\n{_listing(params)}")
        p = params[key]
        if p.type.replace(" ", "") == "str":
            value: object = text
        else:
            try:
                value = ast.literal_eval(text.strip())
            except (ValueError, SyntaxError):
                raise ParameterError(f"{name}: {key}={text!r} is not a {p.type} (for example {key}={p.default!r}). "
                                     f"Its parameters:\n{_listing(params)}") from None
            if p.type.replace(" ", "") == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
        if not _fits(value, p.type):
            raise ParameterError(f"{name}: {key}={text!r} is not a {p.type} (for example {key}={p.default!r}). "
                                 f"Its parameters:\n{_listing(params)}")
        out[key] = value
    return out


def checked(notebook: str | os.PathLike, given: dict[str, object]) -> dict[str, object]:
    """``given`` (name -> value, typed already) when ``notebook`` declares every name and each value fits
    its type; else a :class:`ParameterError` listing the notebook's parameters."""
    params = declared(notebook)
    name = Path(notebook).stem
    for key, value in given.items():
        if key not in params:
            raise ParameterError(f"{name} has no parameter {key!r}. Its parameters:\n{_listing(params)}")
        if key not in RUNNER_PARAMETERS and not _fits(value, params[key].type):
            raise ParameterError(f"{name}: {key}={value!r} is not a {params[key].type}. Its parameters:\n"
                                 f"{_listing(params)}")
    return dict(given)


def effective(notebook: str | os.PathLike, given: dict[str, object]) -> dict[str, object]:
    """Every declared parameter's value in a run that passes ``given``: the defaults, overridden."""
    values = {n: p.default for n, p in declared(notebook).items()}
    values.update(given)
    return values


def parse_assignments(text: str) -> dict[str, str]:
    """``"ALPHA=0.05 DECLINING='[1, 3]'"`` (make's ``PARAMS``) as ``{"ALPHA": "0.05", ...}``; words are
    split as a shell splits them, so a value with spaces is quoted."""
    out = {}
    for word in shlex.split(text or ""):
        key, eq, value = word.partition("=")
        if not eq or not key.isidentifier():
            raise ParameterError(f"PARAMS: {word!r} is not NAME=VALUE (for example PARAMS=\"ALPHA=0.05 "
                                 "MIN_IMAGES_PER_MONTH=50\"; quote a value with spaces: NAMES='[\"a\", \"b\"]').")
        out[key] = value
    return out


def other_than_defaults(notebook: str | os.PathLike, recorded: dict) -> dict[str, object]:
    """The parameters a run of ``notebook`` recorded (``provenance.json``) with values other than the
    notebook's declared defaults, the runner's paths aside (:data:`RUNNER_PARAMETERS`)."""
    defaults = {n: p.default for n, p in declared(notebook).items()}
    return {k: v for k, v in recorded.items()
            if k not in RUNNER_PARAMETERS and k in defaults and v != defaults[k]}


def kept_runs_notes(manifest: dict, notebooks_dir: str | os.PathLike, make_args: str = "") -> list[str]:
    """One line per notebook of a run (``manifest``, its ``provenance.json``) that was run with other
    parameters than its defaults (``make run``): ``make figures`` keeps such a run as it is (its executed
    copy is up to date), so it says so, and how to rerun it with the defaults."""
    notes = []
    for name, record in sorted(manifest.get("notebooks", {}).items()):
        nb = Path(notebooks_dir) / f"{name}.ipynb"
        if not nb.exists():
            continue
        other = other_than_defaults(nb, record.get("parameters", {}))
        if other:
            given = " ".join(f"{k}={v!r}" for k, v in other.items())
            out = record.get("parameters", {}).get("OUT") or "."
            notes.append(f"note: {name} in this run was made with {given} (make run), not its defaults; make "
                         f"figures keeps it as it is. To rerun it with the defaults: rm "
                         f"'{Path(out) / 'build' / nb.name}' && make figures{make_args}")
    return notes
