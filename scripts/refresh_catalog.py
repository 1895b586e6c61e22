"""Rebuild the bundled price catalog (cloudgd/data) from the vendors' price lists.

Maintainers only; users run ``cloudgd catalog refresh``, which writes to
``$CLOUDGD_HOME/catalog`` instead. Both are :func:`cloudgd.cost.refresh.refresh`::

    python scripts/refresh_catalog.py [--provider aws] [--region eu-central-1] \\
        [--gcp-api-key KEY] [--out cloudgd/data]

Reads the AWS Price List bulk files (AmazonSageMaker training rows, AmazonEC2
stand-ins), the Azure Retail Prices API and, with an API key, Google's Cloud Billing
Catalog API (Vertex AI, Compute Engine, Cloud TPU). Rows of each provider, service
and region the price lists cover replace the bundled ones; the rest are kept.
Afterwards review the diff of prices.csv, update cloudgd/data/PROVENANCE.md, copy
prices.csv and PROVENANCE.md to ../shared/data, and run ``pytest tests/cost``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cloudgd import registry  # noqa: E402
from cloudgd.cost.catalog import load_catalog  # noqa: E402
from cloudgd.cost.price_feed import http_fetch  # noqa: E402
from cloudgd.cost.refresh import default_providers, refresh  # noqa: E402
from cloudgd.errors import CloudgdError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, refresh, and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", action="append", choices=registry.cloud_names())
    parser.add_argument("--region", action="append", default=[])
    parser.add_argument("--gcp-api-key", default=os.environ.get("GOOGLE_API_KEY"))
    parser.add_argument("--out", type=Path, default=ROOT / "cloudgd" / "data")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args(argv)

    def progress(line: str) -> None:
        print(line, file=sys.stderr)

    providers = tuple(args.provider or default_providers(args.gcp_api_key, progress))
    try:
        counts = refresh(
            load_catalog(),
            args.out,
            providers=providers,
            regions=tuple(args.region),
            fetch=http_fetch(progress),
            progress=progress,
            today=args.as_of,
            gcp_api_key=args.gcp_api_key,
        )
    except CloudgdError as exc:
        print(f"refresh_catalog: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    print(", ".join(f"{name}: {n} rows" for name, n in counts.items()), f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
