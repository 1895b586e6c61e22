"""The dated catalog: prices, instance shapes, accelerators and carbon factors.

The bundled catalog is package data (``cloudgd/data``). ``cloudgd catalog refresh``
writes a newer one to ``$CLOUDGD_HOME/catalog/``; when that exists it wins (its
tables replace the bundled ones file by file). Nothing is fetched at run time. A
value the tables do not hold is ``None`` ("unknown") and is never filled in by
arithmetic or a guess; see ``cloudgd/data/PROVENANCE.md``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from cloudgd.errors import CloudgdError
from cloudgd.home import home

SCHEMA_VERSION = 1
"""The catalog layout this code reads; ``cloudgd/data/catalog.json`` must match."""

# accelerators.csv keeps more precise names than the spec's canonical ones
# (PROVENANCE.md, "Accelerator names in prices.csv compared with accelerators.csv").
SPEC_TO_HARDWARE: dict[str, str] = {
    "A100": "A100-40GB",
    "H100": "H100-SXM",
    "Trainium": "Trainium1",
}


@dataclass(frozen=True)
class PriceRow:
    """One line of prices.csv. Blank cells are None."""

    provider: str
    service: str
    region: str
    instance_type: str
    accelerator: str | None
    accelerator_count: int | None
    vcpus: float | None
    memory_gib: float | None
    price_per_hour: float | None
    spot_price_per_hour: float | None
    source: str
    as_of: date


@dataclass(frozen=True)
class ShapeRow:
    """One line of shapes.csv: a machine shape the price table lacks or splits."""

    provider: str
    instance_type: str
    accelerator: str | None
    accelerator_count: int
    vcpus: float
    memory_gib: float
    attachable: dict[str, tuple[int, ...]]
    tpu_topology: str | None
    price_key: str
    source: str


@dataclass(frozen=True)
class AcceleratorRow:
    """One line of accelerators.csv (per chip)."""

    accelerator: str
    vendor: str
    memory_gib: float | None
    tdp_watts: float | None
    bf16_tflops_dense: float | None
    source: str


@dataclass(frozen=True)
class CarbonRow:
    """One line of carbon.csv: a region's grid intensity (and PUE) from one source."""

    provider: str
    region: str
    grid_gco2e_per_kwh: float
    pue: float | None
    source: str
    as_of: str


@dataclass(frozen=True)
class Catalog:
    """All bundled tables, loaded once."""

    schema_version: int
    as_of: date
    prices: tuple[PriceRow, ...]
    shapes: tuple[ShapeRow, ...]
    accelerators: tuple[AcceleratorRow, ...]
    carbon: tuple[CarbonRow, ...]
    origin: str = "bundled"
    """``bundled``, or the directory of the refreshed catalog that was read."""

    @cached_property
    def _by_name(self) -> dict[tuple[str, str, str], list[PriceRow]]:
        index: dict[tuple[str, str, str], list[PriceRow]] = defaultdict(list)
        for r in self.prices:
            index[(r.provider, r.region, r.instance_type)].append(r)
        return index

    def rows_named(self, provider: str, region: str, instance_type: str) -> list[PriceRow]:
        """The rows of one machine name in one region (``""``: accelerator-only rows)."""
        return self._by_name.get((provider, region, instance_type), [])

    def regions(self, provider: str) -> list[str]:
        """Regions the catalog has any price or carbon row for."""
        found = {r.region for r in self.prices if r.provider == provider}
        found |= {r.region for r in self.carbon if r.provider == provider}
        return sorted(found)

    def hardware(self, accelerator: str) -> AcceleratorRow | None:
        """Per-chip facts for a canonical spec accelerator name, or None if unknown."""
        name = SPEC_TO_HARDWARE.get(accelerator, accelerator)
        return next((a for a in self.accelerators if a.accelerator == name), None)


def _opt_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _opt_int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _attachable(text: str) -> dict[str, tuple[int, ...]]:
    """``T4:1/2/4;V100:1/2/4/8`` → {"T4": (1, 2, 4), "V100": (1, 2, 4, 8)}."""
    out: dict[str, tuple[int, ...]] = {}
    for part in filter(None, text.split(";")):
        name, _, counts = part.partition(":")
        out[name.strip()] = tuple(int(c) for c in counts.split("/"))
    return out


def parse_prices(text: str) -> tuple[PriceRow, ...]:
    """Parse prices.csv content."""
    return tuple(
        PriceRow(
            provider=r["provider"],
            service=r["service"],
            region=r["region"],
            instance_type=r["instance_type"],
            accelerator=r["accelerator"] or None,
            accelerator_count=_opt_int(r["accelerator_count"]),
            vcpus=_opt_float(r["vcpus"]),
            memory_gib=_opt_float(r["memory_gib"]),
            price_per_hour=_opt_float(r["price_per_hour_usd"]),
            spot_price_per_hour=_opt_float(r["spot_price_per_hour_usd"]),
            source=r["source"],
            as_of=date.fromisoformat(r["as_of"]),
        )
        for r in _rows(text)
    )


def parse_shapes(text: str) -> tuple[ShapeRow, ...]:
    """Parse shapes.csv content."""
    return tuple(
        ShapeRow(
            provider=r["provider"],
            instance_type=r["instance_type"],
            accelerator=r["accelerator"] or None,
            accelerator_count=int(r["accelerator_count"] or 0),
            vcpus=float(r["vcpus"]),
            memory_gib=float(r["memory_gib"]),
            attachable=_attachable(r["attachable"]),
            tpu_topology=r["tpu_topology"] or None,
            price_key=r["price_key"],
            source=r["source"],
        )
        for r in _rows(text)
    )


def parse_accelerators(text: str) -> tuple[AcceleratorRow, ...]:
    """Parse accelerators.csv content."""
    return tuple(
        AcceleratorRow(
            accelerator=r["accelerator"],
            vendor=r["vendor"],
            memory_gib=_opt_float(r["memory_gib"]),
            tdp_watts=_opt_float(r["tdp_watts"]),
            bf16_tflops_dense=_opt_float(r["bf16_tflops_dense"]),
            source=r["source"],
        )
        for r in _rows(text)
    )


def parse_carbon(text: str) -> tuple[CarbonRow, ...]:
    """Parse carbon.csv content."""
    return tuple(
        CarbonRow(
            provider=r["provider"],
            region=r["region"],
            grid_gco2e_per_kwh=float(r["grid_gco2e_per_kwh"]),
            pue=_opt_float(r["pue"]),
            source=r["source"],
            as_of=r["as_of"],
        )
        for r in _rows(text)
    )


def _data(name: str) -> str:
    return resources.files("cloudgd").joinpath("data", name).read_text(encoding="utf-8")


def refreshed_dir() -> Path:
    """Where ``cloudgd catalog refresh`` writes: ``$CLOUDGD_HOME/catalog``."""
    return home() / "catalog"


def load_catalog() -> Catalog:
    """The refreshed catalog when ``$CLOUDGD_HOME/catalog/catalog.json`` exists, else the
    bundled one (cached per file version). Raises if its schema version is not ours."""
    meta = refreshed_dir() / "catalog.json"
    try:
        stamp = meta.stat().st_mtime_ns
    except OSError:
        return _load(None, 0)
    return _load(str(meta.parent), stamp)


@cache
def _load(directory: str | None, stamp: int) -> Catalog:
    del stamp  # part of the cache key only: a new refresh is read again

    def text(name: str) -> str:
        if directory is not None and (Path(directory) / name).is_file():
            return (Path(directory) / name).read_text(encoding="utf-8")
        return _data(name)

    where = f"{directory}/catalog.json" if directory else "cloudgd/data/catalog.json"
    try:
        meta = json.loads(text("catalog.json"))
    except ValueError as exc:
        raise CloudgdError(
            f"{where}: not valid JSON ({exc})", hint="run `cloudgd catalog refresh` again"
        ) from None
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise CloudgdError(
            f"{where}: schema_version {meta.get('schema_version')!r}, "
            f"this cloudgd reads {SCHEMA_VERSION}",
            hint="run `cloudgd catalog refresh` again, or reinstall cloudgd",
        )
    return Catalog(
        schema_version=SCHEMA_VERSION,
        as_of=date.fromisoformat(meta["as_of"]),
        prices=parse_prices(text("prices.csv")),
        shapes=parse_shapes(text("shapes.csv")),
        accelerators=parse_accelerators(text("accelerators.csv")),
        carbon=parse_carbon(text("carbon.csv")),
        origin=directory or "bundled",
    )


MAX_AGE_DAYS = 180


def age_warning(as_of: date, today: date, max_age_days: int = MAX_AGE_DAYS) -> str | None:
    """A one-line warning when the catalog dated ``as_of`` is older than ``max_age_days``."""
    age = (today - as_of).days
    if age <= max_age_days:
        return None
    return (
        f"the price catalog is {age} days old (as of {as_of.isoformat()}); prices may have "
        "changed: refresh it with `cloudgd catalog refresh`"
    )
