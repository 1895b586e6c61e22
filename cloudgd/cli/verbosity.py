"""``-v``: cloudgd's log records on stderr for this invocation.

``-v`` shows what cloudgd does (INFO from the ``cloudgd`` and ``providers`` loggers),
``-vv`` their DEBUG records, ``-vvv`` every logger's, the cloud SDKs' wire logs
included. :func:`reset` undoes it when the command ends, so an in-process caller
(tests, notebooks) is left as it was.
"""

from __future__ import annotations

import logging

import click

OURS = ("cloudgd", "providers")


class _Stderr(logging.Handler):
    """Writes to whatever stderr is now (click's test runner swaps it per call)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


_installed: list[tuple[logging.Logger, int]] = []
_handler = _Stderr()
_handler.setFormatter(logging.Formatter("cloudgd: %(levelname)s %(name)s: %(message)s"))


def show_logs(verbose: int) -> None:
    """Route log records to stderr at the level ``verbose`` (the count of ``-v``) asks for."""
    reset()
    level = logging.INFO if verbose == 1 else logging.DEBUG
    names: tuple[str | None, ...] = (*OURS, None) if verbose >= 3 else OURS
    for name in names:
        logger = logging.getLogger(name)
        _installed.append((logger, logger.level))
        logger.setLevel(level)
        logger.addHandler(_handler)
        if name is not None and verbose >= 3:
            logger.propagate = False  # the root logger's handler would print it twice


def reset() -> None:
    """Remove the stderr handler and restore the levels :func:`show_logs` changed."""
    while _installed:
        logger, level = _installed.pop()
        logger.removeHandler(_handler)
        logger.setLevel(level)
        logger.propagate = True
