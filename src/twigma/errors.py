"""The one root of the errors a user can cause, and can fix.

Every module's error that a user's input can trigger (a bad release file, a missing store, a
failed download, a bad grid, ...) subclasses :class:`UserError`, so that the command line turns
any of them into a one-line message (``error: ...``, with its "What to do" advice) instead of a
traceback, without a hand-kept list. Programming errors (a bug) are not ``UserError`` and keep
their traceback.

Each subclass also derives from the built-in exception it was before (``ValueError``,
``RuntimeError``), so code that caught those still works::

    class StoreError(UserError, ValueError): ...
"""
from __future__ import annotations


class UserError(Exception):
    """An error in what the user gave (a file, a folder, a parameter, a service's answer), with what to do."""


__all__ = ["UserError"]
