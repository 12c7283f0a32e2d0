"""Command line of the compendium: ``twigma <command>`` (also ``python -m twigma``).

Commands
--------
sample         write a synthetic release-format file (the embedded sample by default)
sample-embeddings  write the synthetic embedding store that goes with the embedded sample
validate       load a release file, report problems or a short summary, build its typed cache
croissant      Croissant 1.1 metadata (JSON-LD, with Responsible-AI fields) of a release file
run-notebook   execute one notebook with papermill, atomically (what make figures uses)
embed          CLIP embeddings of a folder of images into the embedding store
import-clip-retrieval  embeddings made by clip-retrieval (img_emb/, metadata/) into the store
data           download and validate the release table from Zenodo
rehydrate      tweets and media URLs by tweet id from the X API v2
images         download the rehydrated photos, named by image_name
refs           reference sets: MS-COCO 2017 val photographs and a WikiArt sample
claims         gather results/claims/*.csv into results/claims.csv
provenance     gather the run's provenance records into results/provenance.json
report         render a run as a static HTML site (report/index.html)
verify         check a run's figures and tables against results/provenance.json
new-notebook   a new numbered notebook from the template (make notebook NAME=NN_topic)
track          share of images whose captions match a query, per month, by cluster, with its trend
search         images closest to a text (the store's CLIP model) or to one of the store's images
deps           the notebooks' order for make (build/deps.mk) from the tables each declares it reads
robustness     the specification grid of make robustness: its make fragment, one specification, the summary

``twigma --version`` prints the compendium's version (pyproject.toml's, see :mod:`twigma.version`).

Each command lives with its group (:mod:`twigma.cli.release`, :mod:`~twigma.cli.fetch`,
:mod:`~twigma.cli.embeddings`, :mod:`~twigma.cli.run`); the options several commands share are
declared once, in :mod:`twigma.cli.options`.
"""
from __future__ import annotations

import argparse
import os
import sys

from twigma import paths
from twigma.cli import embeddings, fetch, release, run
from twigma.errors import UserError
from twigma.version import VERSION

#: The commands, in the order ``twigma --help`` lists them: each adds its own sub-parser.
COMMANDS = (release.add_sample, release.add_validate, release.add_croissant, run.add_run_notebook,
            release.add_sample_embeddings, embeddings.add_embed, embeddings.add_import_clip_retrieval,
            fetch.add_data, fetch.add_rehydrate, fetch.add_images, fetch.add_refs, run.add_claims,
            run.add_robustness, run.add_provenance, run.add_report, run.add_verify, run.add_new_notebook,
            run.add_track, embeddings.add_search, run.add_deps)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (see :data:`COMMANDS`)."""
    ap = argparse.ArgumentParser(prog="twigma", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=f"twigma compendium {VERSION}",
                    help="print the compendium's version (pyproject.toml's) and exit")
    sub = ap.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one command; an error the user can fix (any :class:`twigma.errors.UserError`) is printed
    as one line, ``error: ...``, with exit status 1; any other exception is a bug and keeps its traceback."""
    a = build_parser().parse_args(argv)
    if not paths.IN_CHECKOUT and not os.environ.get(paths.ROOT_ENV):
        # an installed package outside a checkout works on the working directory: say so, once (a folder the
        # user named in TWIGMA_ROOT needs no note)
        print(f"note: not inside a checkout of the compendium, so {paths.ROOT} is its root: data/, results/, "
              f"figures/ and build/ are read and written there (set {paths.ROOT_ENV} to name another folder)",
              file=sys.stderr)
    try:
        return a.func(a)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
