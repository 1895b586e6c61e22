"""``cloudgd catalog refresh`` and ``scripts/refresh_catalog.py``: one implementation.

Each cloud's reader (``providers/<cloud>/pricing.py``, reached through the registry)
turns the vendor's public price list into catalog rows. Those rows replace the current
catalog's rows of the same provider, service and region; everything else is kept. All
downloading and parsing happens before anything is written, and each file is then
replaced atomically (prices.csv first, catalog.json last), so an interrupted refresh
leaves the previous catalog as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from cloudgd import registry
from cloudgd.cost.catalog import SCHEMA_VERSION, Catalog, PriceRow
from cloudgd.cost.price_feed import Fetch, Progress, RefreshRequest
from cloudgd.errors import UsageError

COLUMNS = [
    "provider",
    "service",
    "region",
    "instance_type",
    "accelerator",
    "accelerator_count",
    "vcpus",
    "memory_gib",
    "price_per_hour_usd",
    "spot_price_per_hour_usd",
    "source",
    "as_of",
]


def number(value: float | int | None) -> str:
    """A number as the catalog writes it: ``0.0601``, ``4`` (not ``4.0``), blank for None."""
    if value is None:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def prices_csv(rows: Iterable[PriceRow]) -> str:
    """prices.csv text in the catalog's column order (what ``parse_prices`` reads back)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.provider,
                r.service,
                r.region,
                r.instance_type,
                r.accelerator or "",
                "" if r.accelerator_count is None else str(r.accelerator_count),
                number(r.vcpus),
                number(r.memory_gib),
                number(r.price_per_hour),
                number(r.spot_price_per_hour),
                r.source,
                r.as_of.isoformat(),
            ]
        )
    return buffer.getvalue()


def merge(current: Iterable[PriceRow], new: list[PriceRow]) -> list[PriceRow]:
    """``current`` without the (provider, service, region) groups ``new`` has rows for,
    plus ``new``, in a stable order. A group the price list had nothing for is kept."""
    replaced = {(r.provider, r.service, r.region) for r in new}
    kept = [r for r in current if (r.provider, r.service, r.region) not in replaced]
    return sorted(
        [*kept, *new],
        key=lambda r: (
            r.provider,
            r.service,
            r.region,
            r.instance_type,
            r.accelerator or "",
            r.accelerator_count or 0,
        ),
    )


def _write_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def refresh(
    catalog: Catalog,
    target: Path,
    *,
    providers: tuple[str, ...],
    regions: tuple[str, ...] = (),
    fetch: Fetch,
    progress: Progress,
    today: date,
    gcp_api_key: str | None = None,
    base_urls: dict[str, str] | None = None,
) -> dict[str, int]:
    """Read each provider's price list and write the merged catalog into ``target``.

    ``regions`` adds to the regions the catalog already has for each provider.
    Returns rows written per provider. Nothing is written when any provider fails.
    """
    new: list[PriceRow] = []
    counts: dict[str, int] = {}
    for name in providers:
        rules = registry.pricing_rules(name)
        if rules.refresh is None:
            raise UsageError(f"--provider {name}: cloudgd cannot refresh its prices")
        wanted = tuple(dict.fromkeys([*catalog.regions(name), *regions]))
        request = RefreshRequest(
            regions=wanted,
            fetch=fetch,
            progress=progress,
            known=catalog.prices,
            shapes=catalog.shapes,
            today=today,
            api_key=gcp_api_key if rules.refresh_needs_api_key else None,
            base_url=(base_urls or {}).get(name),
        )
        rows = rules.refresh(request)
        progress(f"{name}: {len(rows)} rows for {len(wanted)} region(s)")
        new += rows
        counts[name] = len(rows)
    target.mkdir(parents=True, exist_ok=True)
    _write_atomically(target / "prices.csv", prices_csv(merge(catalog.prices, new)))
    tables = ("prices.csv", "accelerators.csv", "carbon.csv", "shapes.csv")
    meta = {
        "schema_version": SCHEMA_VERSION,
        "as_of": today.isoformat(),
        # Tables this directory holds; the others are read from the bundled catalog.
        "files": [name for name in tables if (target / name).is_file()],
        "refreshed": {"providers": list(providers), "rows": counts},
        "provenance": "each row's source column; cloudgd/data/PROVENANCE.md",
    }
    _write_atomically(target / "catalog.json", json.dumps(meta, indent=2) + "\n")
    return counts


def default_providers(api_key: str | None, progress: Progress) -> tuple[str, ...]:
    """The clouds a refresh reads when none is named: every cloud with a refreshable price
    list, less those that need an API key when there is none (said through ``progress``)."""
    chosen: list[str] = []
    for name in registry.cloud_names():
        rules = registry.pricing_rules(name)
        if rules.refresh is None:
            continue
        if rules.refresh_needs_api_key and not api_key:
            progress(f"{name} skipped: no API key (pass --gcp-api-key or set GOOGLE_API_KEY)")
            continue
        chosen.append(name)
    return tuple(chosen)
