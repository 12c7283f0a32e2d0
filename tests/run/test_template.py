"""Tests of twigma.run.template: new notebooks from the template ``notebooks/_template.ipynb`` (``make notebook NAME=NN_topic``)."""
from __future__ import annotations

from support.prose_scanner import notebook_problems


def test_the_new_notebook_template_follows_the_rule():
    from twigma.run.template import TEMPLATE

    assert notebook_problems(TEMPLATE) == []
