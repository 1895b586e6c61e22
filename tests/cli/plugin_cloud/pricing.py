"""acme's pricing rules: what its rows in the catalog mean (the registry finds ``RULES``)."""

from cloudgd.cost.rules import PricingRules

RULES = PricingRules(
    provider="acme",
    training_label="Acme training",
    training_services=("acme-training",),
    stand_in_services=(),
    stand_in_label=None,
    default_region="moon-1",
    instance_type_pattern=r"acme\.[a-z0-9]+",
    instance_type_example="acme.small",
)
