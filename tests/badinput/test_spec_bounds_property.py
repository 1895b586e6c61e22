"""Property: the numeric bounds of every spec field hold end to end.

Every int/float field of the job spec (found by walking the models, so a new field is
covered without editing this file) gets values at, inside, just outside and far outside
its documented bounds. A spec that validation accepts must also be accepted by the
trainer's own config validation (from the JSON the code bundle ships), by every
provider's pure ``plan`` and by the budget gate; a value outside its bounds must be
refused with exit code 2 and a line naming the field.

Bounded for CI: a fixed number of derandomised examples per property.
"""

from __future__ import annotations

import copy
import json
import math
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import annotated_types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from cloudgd import registry
from cloudgd.errors import CloudgdError, SpecError
from cloudgd.loader import validate_document
from cloudgd.plan import BundleRef, RenderContext
from cloudgd.provider_options import concrete
from cloudgd.spec import JobSpec
from trainers.configio import build_config
from trainers.errors import ConfigError

PROVIDERS = ("aws", "gcp", "azure", "local")
MAX_DURATION = 365 * 86400  # cloudgd.durations: "between 0s and 365d"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BASE: dict[str, Any] = {
    "name": "bounds-job",
    "trainer": {
        "epochs": 2,
        "data": {"source": "synthetic_classification", "n_samples": 64},
        "early_stopping": {"metric": "val_loss"},
        "checkpoint": {"every_steps": 10},
        "num_threads": 1,
    },
    "resources": {"accelerator": "T4:1", "disk_gb": 50},
    "scaling": {"spot": True, "restarts": 1, "max_nodes": 2},
    "limits": {"max_runtime": "1h", "expected_runtime": "30m", "max_cost_usd": 50},
    "providers": {
        "aws": {
            "role_arn": "arn:aws:iam::123456789012:role/cloudgd",
            "output_uri": "s3://cloudgd-artifacts/jobs",
        },
        "gcp": {"project": "cloudgd-test", "staging_bucket": "gs://cloudgd-test-staging"},
        "azure": {
            "subscription_id": "11111111-2222-3333-4444-555555555555",
            "resource_group": "ml-rg",
            "workspace": "ml-ws",
        },
    },
    "tuning": {
        "parameters": {"trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 0.1}},
        "max_trials": 4,
    },
}
# Fields a cloud may refuse within the spec's bounds, each for a documented reason of its
# own (e.g. the local provider starts at most 64 processes, Azure has no warm pools).
PROVIDER_LIMITED = ("resources.", "scaling.", "distributed.", "limits.", "providers.")


@dataclass(frozen=True)
class Numeric:
    """One numeric spec field and its documented bounds."""

    path: tuple[str, ...]
    integer: bool
    shape: str  # "scalar", "list" (every item bounded) or "pair"
    low: float | None
    low_open: bool
    high: float | None
    high_open: bool

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def holds(self, value: float) -> bool:
        if self.integer and (isinstance(value, float) and not value.is_integer()):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [concrete(annotation)]  # providers: one block per registered provider
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _leaves(annotation: Any) -> tuple[set[Any], str, list[Any]]:
    """(leaf types, shape, bounds metadata of list items)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        found: set[Any] = set()
        shape, item_bounds = "scalar", []
        for arg in typing.get_args(annotation):
            leaves, inner, bounds = _leaves(arg)
            found |= leaves
            if inner != "scalar":
                shape, item_bounds = inner, bounds
        return found - {type(None)}, shape, item_bounds
    if origin is list:
        item = typing.get_args(annotation)[0]
        if typing.get_origin(item) is typing.Annotated:
            item, *extra = typing.get_args(item)
            bounds = [m for info in extra for m in getattr(info, "metadata", [info])]
            return {item}, "list", bounds
        return {item}, "list", []
    if origin is tuple:
        return set(typing.get_args(annotation)), "pair", []
    if origin is not None:
        return {object}, "scalar", []
    return {annotation} - {type(None)}, "scalar", []


def numeric_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[Numeric]:
    """Every int/float field under ``model``, with the bounds its metadata declares."""
    found: list[Numeric] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        models = _models_in(field.annotation)
        if models:
            found.extend(numeric_fields(models[0], path))
            continue
        leaves, shape, item_bounds = _leaves(field.annotation)
        if not leaves or not leaves <= {int, float}:
            continue
        low = high = None
        low_open = high_open = False
        for item in [*field.metadata, *item_bounds]:
            if isinstance(item, annotated_types.Ge):
                low = float(item.ge)
            elif isinstance(item, annotated_types.Gt):
                low, low_open = float(item.gt), True
            elif isinstance(item, annotated_types.Le):
                high = float(item.le)
            elif isinstance(item, annotated_types.Lt):
                high, high_open = float(item.lt), True
            elif "parse_duration" in repr(item):
                low = 0.0 if low is None else low
                high = float(MAX_DURATION)
        found.append(Numeric(path, leaves == {int}, shape, low, low_open, high, high_open))
    return found


FIELDS = numeric_fields(JobSpec)


def test_the_walk_finds_the_fields_the_issue_names() -> None:
    names = {f.dotted for f in FIELDS}
    for expected in (
        "trainer.seed",
        "trainer.optimizer.betas",
        "trainer.optimizer.eps",
        "trainer.data.n_samples",
        "trainer.model.hidden",
        "trainer.num_threads",
        "trainer.schedule.milestones",
        "limits.max_cost_usd",
        "limits.max_runtime",
        "resources.nodes",
        "tuning.max_trials",
        "providers.aws.volume_size_gb",
    ):
        assert expected in names
    assert all(f.high is not None for f in FIELDS if f.integer), [
        f.dotted for f in FIELDS if f.integer and f.high is None
    ]


def candidates(field: Numeric) -> st.SearchStrategy[float]:
    edges: list[float] = [0, 1, -1, 2, 2**31, 2**32, 2**63, 10**29, 1e308, -1e308, 5e-324]
    for bound in (field.low, field.high):
        if bound is not None:
            edges += [bound, math.nextafter(bound, math.inf), math.nextafter(bound, -math.inf)]
            edges += [bound + 1, bound - 1, bound * 2]
    ints = st.integers(min_value=-(2**70), max_value=2**70)
    floats = st.floats(allow_nan=False, allow_infinity=False)
    if field.integer:
        exact = [int(e) for e in edges if float(e).is_integer() and abs(e) < 1e30]
        return st.one_of(st.sampled_from(sorted(set(exact))), ints)
    return st.one_of(st.sampled_from(sorted(set(edges))), floats, ints)


def put(document: dict[str, Any], field: Numeric, value: float) -> dict[str, Any]:
    out = copy.deepcopy(document)
    node = out
    for part in field.path[:-1]:
        node = node.setdefault(part, {})
    if field.shape == "list":
        node[field.path[-1]] = [value] if field.dotted != "trainer.model.hidden" else [value, 8]
    elif field.shape == "pair":
        node[field.path[-1]] = [value, 0.5]
    else:
        node[field.path[-1]] = value
    return out


def contexts() -> dict[str, RenderContext]:
    def bundle(fmt: str) -> BundleRef:
        return BundleRef(
            path=f"/bundles/cloudgd-bundle-0123456789ab.{fmt}",
            sha256="0123456789ab" + "0" * 52,
            filename=f"cloudgd-bundle-0123456789ab.{fmt}",
            format=fmt,
        )

    formats = {"aws": "tar.gz", "azure": "tar.gz", "gcp": "sdist", "local": None}
    return {
        name: RenderContext(
            now=NOW,
            bundle=bundle(fmt) if fmt else None,
            runs_dir="/nonexistent/cloudgd-runs",
            spec_dir="/nonexistent/job",
        )
        for name, fmt in formats.items()
    }


CONTEXTS = contexts()
PLANNERS = {name: registry.create(name) for name in PROVIDERS}


def check_accepted(spec: JobSpec, field: Numeric) -> None:
    shipped = json.loads(json.dumps(spec.trainer.model_dump(mode="json")))
    try:
        build_config(shipped, "cloudgd-job.json")
    except ConfigError as refused:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"{field.dotted}: validation accepted what the trainer refuses: {refused}")
    for name, provider in PLANNERS.items():
        try:
            provider.plan(spec, CONTEXTS[name])
        except SpecError as refused:
            # A cloud may refuse a resources/limits value for its own documented reason;
            # it must say which field. Trainer fields are the trainer's alone.
            assert field.dotted.startswith(PROVIDER_LIMITED), (name, refused.message)
            assert refused.exit_code == 2 and ":" in refused.message
    if spec.limits.max_cost_usd is not None:
        from cloudgd.cost.budget import enforce_budget
        from cloudgd.cost.select import choice_for_spec

        for cloud in ("aws", "gcp", "azure"):
            try:
                enforce_budget(spec, choice_for_spec(spec, cloud))
            except CloudgdError as refused:
                assert refused.exit_code == 2, refused.message


BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def check_value(field: Numeric, value: float) -> None:
    """Refused with exit 2 (naming the field when out of bounds), or accepted everywhere."""
    document = put(BASE, field, value)
    try:
        spec = validate_document(document, "job.yaml")
    except SpecError as refused:
        assert refused.exit_code == 2
        lines = refused.lines()
        assert all(line.startswith("job.yaml: ") for line in lines), lines
        if not field.holds(value):  # in bounds, another field's rule may refuse it
            parent = ".".join(field.path[:-1])
            assert any(
                line.startswith((f"job.yaml: {field.dotted}", f"job.yaml: {parent}"))
                for line in lines
            ), (field.dotted, value, lines)
        return
    assert field.holds(value), f"{field.dotted}={value!r} is outside its bounds but was accepted"
    check_accepted(spec, field)


def edges(field: Numeric) -> list[float]:
    """Each bound, the nearest value past it, and values far past any sane bound."""
    values: list[float] = [2**63, -(2**63), 10**29]
    if field.low is not None:
        values += [field.low, field.low - 1 if field.integer else math.nextafter(field.low, -1)]
        if field.low_open:
            values.append(field.low + 1 if field.integer else math.nextafter(field.low, math.inf))
    if field.high is not None:
        values += [field.high, field.high + 1 if field.integer else math.nextafter(field.high, 2)]
        if field.high_open:
            values.append(field.high - 1 if field.integer else math.nextafter(field.high, -1))
    if not field.integer:
        values += [1e308, -1e308, 5e-324]
    return [int(v) if field.integer else float(v) for v in values]


def test_every_numeric_field_at_its_edges() -> None:
    for field in FIELDS:
        for value in edges(field):
            check_value(field, value)


@BOUNDED
@given(data=st.data())
def test_every_numeric_field_keeps_its_bounds_end_to_end(data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(FIELDS), label="field")
    check_value(field, data.draw(candidates(field), label="value"))


def test_the_base_spec_is_accepted_everywhere() -> None:
    spec = validate_document(copy.deepcopy(BASE), "job.yaml")
    for name, provider in PLANNERS.items():
        assert provider.plan(spec, CONTEXTS[name]).provider == name
