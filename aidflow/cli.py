"""The aidflow command line (a thin click layer over :class:`aidflow.AidFlow`)."""

from __future__ import annotations

import click

from aidflow import __version__


@click.group()
@click.version_option(__version__, prog_name="aidflow")
def main() -> None:
    """aidflow: closed-loop aid for new university students."""
