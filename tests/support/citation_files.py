"""CITATION.cff read as cffconvert reads it, for the citation and version tests."""
from __future__ import annotations

from pathlib import Path

import yaml


class CffLoader(yaml.SafeLoader):
    """YAML read as cffconvert 2.0.0 reads CITATION.cff (its ``Citation_1_2_x._parse``): a date stays the
    string it is written as, since the schema types dates as strings (PyYAML would make an unquoted one a
    ``datetime.date``)."""


CffLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def read_cff(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CffLoader)
