"""Reading the vendors' public price lists: download with progress, and strict shape checks.

The per-cloud parsers (``providers/<cloud>/pricing.py``) use these helpers so that a
response whose shape they do not know is refused with one clear line, never guessed
at. Downloads go through a ``Fetch`` function so tests inject recorded responses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cloudgd.cost.catalog import PriceRow, ShapeRow
from cloudgd.errors import ProviderError

Fetch = Callable[[str], bytes]
"""url → response body. The default is :func:`http_fetch`; tests pass recorded bodies."""

Progress = Callable[[str], None]
"""One progress line (the CLI prints it on stderr)."""

MAX_PAGES = 2000
"""No price list pages further than this; a longer chain is refused, not followed forever."""

_CHUNK = 1 << 20


class RefreshError(ProviderError):
    """A price list could not be read, or its shape is not one cloudgd knows."""


def http_fetch(progress: Progress, timeout: float = 60.0) -> Fetch:
    """A Fetch over HTTPS that reports each download's size on ``progress``."""

    def fetch(url: str) -> bytes:
        import urllib.error
        import urllib.request

        shown = url.split("?")[0]
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                chunks: list[bytes] = []
                done, step = 0, 50 << 20
                while chunk := response.read(_CHUNK):
                    chunks.append(chunk)
                    done += len(chunk)
                    if done >= step:
                        progress(f"  {shown}: {done / 1e6:.0f} MB")
                        step += 50 << 20
        except urllib.error.HTTPError as exc:
            raise RefreshError(f"{shown}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RefreshError(
                f"{shown}: {exc}", hint="check the network connection and try again"
            ) from None
        return b"".join(chunks)

    return fetch


def fetch_json(fetch: Fetch, url: str, what: str) -> dict[str, Any]:
    """The JSON object at ``url``; RefreshError naming ``what`` if it is not one."""
    body = fetch(url)
    try:
        document = json.loads(body)
    except ValueError:
        raise RefreshError(f"{what}: the response is not JSON ({url.split('?')[0]})") from None
    if not isinstance(document, dict):
        raise RefreshError(f"{what}: expected a JSON object, got {type(document).__name__}")
    return document


def need(obj: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """``obj[key]`` checked to be a ``kind``; RefreshError naming the missing field."""
    if not isinstance(obj, dict) or key not in obj:
        raise RefreshError(
            f"{what}: unknown response shape (no {key!r} field)",
            hint="the vendor changed its format; cloudgd must be updated to read it",
        )
    value = obj[key]
    if not isinstance(value, kind):
        raise RefreshError(
            f"{what}: unknown response shape ({key!r} is {type(value).__name__}, "
            f"expected {getattr(kind, '__name__', 'a number')})",
            hint="the vendor changed its format; cloudgd must be updated to read it",
        )
    return value


def price_number(text: Any, what: str) -> float:
    """A price field as a float; RefreshError when it is not a number."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise RefreshError(f"{what}: price {text!r} is not a number") from None


@dataclass(frozen=True)
class RefreshRequest:
    """What one cloud's refresher is asked for."""

    regions: tuple[str, ...]
    """Regions to read (the catalog's own, plus any the user named)."""
    fetch: Fetch
    progress: Progress
    known: tuple[PriceRow, ...]
    """The current catalog's rows, for vCPU/memory/accelerator facts price lists lack."""
    shapes: tuple[ShapeRow, ...]
    """The shapes table, for machine sizes and accelerator counts."""
    today: date
    api_key: str | None = None
    """Google Cloud API key (Cloud Billing Catalog API)."""
    base_url: str | None = None
    """A mirror of the vendor's price API (tests serve recorded responses from 127.0.0.1)."""


Refresher = Callable[[RefreshRequest], list[PriceRow]]
"""One cloud's price-list reader: the rows it produced for the requested regions."""


@dataclass(frozen=True)
class Facts:
    """What the catalog already knows about a machine: price lists rarely say it all."""

    accelerator: str | None
    accelerator_count: int | None
    vcpus: float | None
    memory_gib: float | None


def known_facts(request: RefreshRequest, provider: str, name: str) -> Facts | None:
    """Accelerator, vCPUs and memory of machine ``name`` from the current catalog or the
    shapes table (``ml.`` prefixes ignored); None when neither knows it."""
    bare = name.removeprefix("ml.")
    for r in request.known:
        if r.provider == provider and r.instance_type.removeprefix("ml.") == bare:
            return Facts(r.accelerator, r.accelerator_count, r.vcpus, r.memory_gib)
    for s in request.shapes:
        if s.provider == provider and s.instance_type == bare:
            return Facts(s.accelerator, s.accelerator_count, s.vcpus, s.memory_gib)
    return None


def make_row(
    provider: str,
    service: str,
    region: str,
    instance_type: str,
    facts: Facts | None,
    price: float | None,
    spot: float | None,
    source: str,
    as_of: date,
) -> PriceRow:
    """A catalog row; a machine the catalog does not know keeps blank facts (so cloudgd
    prices it when named but never picks it for a CPU job by mistake)."""
    return PriceRow(
        provider=provider,
        service=service,
        region=region,
        instance_type=instance_type,
        accelerator=facts.accelerator if facts else None,
        accelerator_count=facts.accelerator_count if facts else None,
        vcpus=facts.vcpus if facts else None,
        memory_gib=facts.memory_gib if facts else None,
        price_per_hour=None if price is None else round(price, 6),
        spot_price_per_hour=None if spot is None else round(spot, 6),
        source=source,
        as_of=as_of,
    )
