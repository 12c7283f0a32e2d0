import sys

# jsonschema's format checker imports rfc3987_syntax when it is installed (jupyter-events asks for it), and
# that module builds an Earley grammar at import: 1.3 s of every command that loads nbformat, as each
# notebook of a run does (python-jsonschema/jsonschema#1428), for the "iri" formats that no schema of
# nbformat, papermill or this package uses. A command of this package does without it (jsonschema then
# leaves those two formats unchecked); an import of the package as a library leaves it alone.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "cannot be imported"

from twigma.cli import main  # noqa: E402

sys.exit(main())
