"""``--provider`` choices that come from the registry: the clouds the catalog prices.

``cloudgd --help`` imports every command module, so the choices are read when an option
is parsed or its help is shown, not when the module is imported: finding the clouds
imports each provider's class module.
"""

from __future__ import annotations

from collections.abc import Sequence

import click


class CloudChoice(click.Choice[str]):
    """A ``click.Choice`` over :func:`cloudgd.registry.cloud_names` (plug-in clouds too)."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> Sequence[str]:
        from cloudgd import registry

        return registry.cloud_names()

    @choices.setter
    def choices(self, _value: Sequence[str]) -> None:
        """click.Choice assigns its choices in ``__init__``; they are read lazily instead."""
