"""What one cloud's catalog rows mean: the per-cloud pricing rules the cost package reads.

Each cloud states its rules in ``providers/<name>/pricing.py`` (a ``RULES`` value);
the cost package reaches them through :func:`cloudgd.registry.pricing_rules`, never by
importing a provider package itself, so a cloud's rules move with its provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cloudgd.errors import SpecError

if TYPE_CHECKING:
    from cloudgd.cost.price_feed import Refresher


@dataclass(frozen=True)
class PricingRules:
    """How one cloud's machines are named, priced and checked."""

    provider: str
    """aws, gcp or azure."""
    training_label: str
    """The service that bills a training job (``SageMaker training``)."""
    training_services: tuple[str, ...]
    """prices.csv ``service`` values that are that service's own training rates."""
    stand_in_services: tuple[str, ...]
    """``service`` values priced for something else (EC2 VMs) that may stand in, labelled."""
    stand_in_label: str | None
    """How an estimate names a stand-in row (``EC2 list price``)."""
    default_region: str
    """The region used when the spec names none."""
    instance_type_pattern: str
    """A regular expression an explicit ``resources.instance_type`` must match."""
    instance_type_example: str
    """An example of that syntax, for the error message."""
    region_pattern: str = r"[a-z][a-z0-9-]*"
    """A regular expression every region name of the cloud matches (syntax only)."""
    region_example: str = ""
    """An example region name, for the error message."""
    native_prefix: str = ""
    """Prefix the service adds to the catalog's machine name (``ml.`` on SageMaker)."""
    split_accelerators: bool = False
    """GPUs are billed apart from the host (GCP): price = host row + accelerator row."""
    accelerator_types: dict[str, str] = field(default_factory=dict)
    """Canonical accelerator → the service's accelerator type name (Vertex)."""
    alternatives: dict[str, str] = field(default_factory=dict)
    """Accelerator family (``tpu``) the cloud lacks → what to use instead."""
    refresh: Refresher | None = None
    """Reads the vendor's price list (``cloudgd catalog refresh``); None: not refreshable."""
    refresh_needs_api_key: bool = False
    """The price list is read with the API key ``catalog refresh`` is given (GCP's Cloud
    Billing Catalog API); without one this cloud is left out of a refresh of all clouds."""

    def native(self, catalog_name: str) -> str:
        """The service's name for a catalog machine (``m5.xlarge`` → ``ml.m5.xlarge``)."""
        if not catalog_name or catalog_name.startswith(self.native_prefix):
            return catalog_name
        return self.native_prefix + catalog_name

    def catalog_name(self, name: str) -> str:
        """The catalog's key for a machine name, with or without the service prefix."""
        return name.removeprefix(self.native_prefix) if self.native_prefix else name

    def check_region(self, region: str) -> None:
        """Raise SpecError naming ``resources.region`` when it cannot be a region name.

        Only the syntax: whether the region exists and offers the machine is the
        cloud's own answer, so the catalog never limits the regions you can use.
        """
        if not re.fullmatch(self.region_pattern, region):
            raise SpecError(
                f"resources.region: {region!r} is not a {self.provider} region name "
                f"(like {self.region_example or self.default_region})",
                hint=f"fix the name, or leave region out to use {self.default_region}",
            )

    def check_instance_type(self, instance_type: str) -> None:
        """Raise SpecError naming ``resources.instance_type`` when its syntax is wrong.

        Only the syntax: whether the machine exists is the cloud's own answer.
        """
        if not re.fullmatch(self.instance_type_pattern, instance_type):
            raise SpecError(
                f"resources.instance_type: {instance_type!r} is not a {self.provider} "
                f"machine name (like {self.instance_type_example})",
                hint="fix the name, or leave instance_type out to choose from the catalog",
            )
