"""Rebuild cloudgd/data/prices.csv from downloaded public price lists (maintainers only).

cloudgd never fetches prices at run time; a maintainer refreshes the bundled,
dated catalog with this script and commits the result. The inputs are the
SkyPilot catalog CSVs the current rows were read from (see
cloudgd/data/PROVENANCE.md), downloaded by hand, for example::

    curl -LO https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/<sha>/catalogs/v8/aws/vms.csv

Then::

    python scripts/refresh_catalog.py --as-of 2027-01-15 \\
        --aws aws-vms.csv --aws-ref "skypilot-org/skypilot-catalog catalogs/v8/aws/vms.csv@<sha>" \\
        --gcp gcp-vms.csv --gcp-ref "skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv@<sha>" \\
        --azure az_ml_vms.csv \\
        --azure-ref "skypilot-org/skypilot-catalog catalogs/v5/azure/az_ml_vms.csv@<sha>"

The rows to rebuild are the ones already in the catalog (``--selection``); a
provider without an input file keeps its rows as they are. A selected row the new
file lacks is dropped and listed on stderr, never carried over or guessed. The
derivation rules are those PROVENANCE.md states:

- AWS: on-demand = ``Price`` (one value per region); spot = the minimum
  ``SpotPrice`` over the region's standard AZs (``use1-az2``; local zones such as
  ``usw2-lax1-az1`` excluded).
- GCP: a machine row by ``InstanceType``; GPUs as accelerator-only rows
  (empty ``InstanceType``, matching ``AcceleratorName`` and count); TPU slices by
  ``AcceleratorName`` (``tpu-v5litepod-8``). Zones of a region should agree; if
  they do not, the highest value is kept and reported.
- Azure: the row for the VM size and region (highest if repeated).

Afterwards update cloudgd/data/PROVENANCE.md (commits, date) and run the tests.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

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
_STANDARD_AWS_AZ = re.compile(r"^[a-z]+\d+-az\d+$")


@dataclass
class Report:
    """What a refresh did that a maintainer must look at."""

    missing: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def number(text: str) -> str:
    """A source number as the catalog writes it: ``0.060100`` → ``0.0601``, ``4.0`` → ``4``."""
    value = repr(float(text))
    return value[:-2] if value.endswith(".0") else value


def _key(row: dict[str, str]) -> str:
    parts = (row["provider"], row["region"], row["instance_type"] or row["accelerator"])
    count = f"x{row['accelerator_count']}" if not row["instance_type"] else ""
    return " ".join(parts) + count


def _matches(selected: dict[str, str], src: dict[str, str]) -> bool:
    if src.get("Region") != selected["region"]:
        return False
    service, wanted = selected["service"], selected["instance_type"]
    if service == "tpu":
        return not src["InstanceType"] and src["AcceleratorName"] == wanted
    if wanted:
        return src["InstanceType"] == wanted
    # GCP accelerator-only row: billed on top of the host VM.
    count = src.get("AcceleratorCount") or "0"
    return (
        not src["InstanceType"]
        and src["AcceleratorName"] == selected["accelerator"]
        and float(count) == float(selected["accelerator_count"] or 0)
    )


def _pick(values: Iterable[str], label: str, report: Report, *, lowest: bool = False) -> str:
    distinct = sorted({v for v in values if v.strip()}, key=float)
    if not distinct:
        return ""
    if len(distinct) > 1 and not lowest:
        report.conflicts.append(f"{label}: values differ across zones {distinct}; kept highest")
    return number(distinct[0] if lowest else distinct[-1])


def rebuild_row(
    selected: dict[str, str],
    source_rows: list[dict[str, str]],
    ref: str,
    as_of: str,
    report: Report,
) -> dict[str, str] | None:
    """The selected catalog row recomputed from one provider's source rows, or None."""
    found = [r for r in source_rows if _matches(selected, r)]
    label = _key(selected)
    if not found:
        report.missing.append(label)
        return None
    if selected["provider"] == "aws":
        standard = [r for r in found if _STANDARD_AWS_AZ.match(r.get("AvailabilityZone", ""))]
        spot = _pick((r["SpotPrice"] for r in standard), label + " spot", report, lowest=True)
    else:
        spot = _pick((r["SpotPrice"] for r in found), label + " spot", report)
    first = found[0]
    old_source = selected["source"]
    rule = old_source[old_source.find(" (") :] if " (" in old_source else ""
    keep_shape = selected["provider"] == "gcp"  # GCP host/accelerator rows keep their layout
    return {
        **selected,
        "vcpus": selected["vcpus"] if keep_shape else number(first["vCPUs"]),
        "memory_gib": selected["memory_gib"] if keep_shape else number(first["MemoryGiB"]),
        "price_per_hour_usd": _pick((r["Price"] for r in found), label, report),
        "spot_price_per_hour_usd": spot,
        "source": ref + rule,
        "as_of": as_of,
    }


def refresh(
    selection: list[dict[str, str]],
    sources: dict[str, tuple[list[dict[str, str]], str]],
    as_of: str,
) -> tuple[list[dict[str, str]], Report]:
    """New catalog rows: selected rows of providers in ``sources`` rebuilt, others kept."""
    report = Report()
    out: list[dict[str, str]] = []
    for selected in selection:
        if selected["provider"] not in sources:
            out.append(selected)
            continue
        rows, ref = sources[selected["provider"]]
        rebuilt = rebuild_row(selected, rows, ref, as_of, report)
        if rebuilt is not None:
            out.append(rebuilt)
    return out, report


def write_csv(rows: list[dict[str, str]]) -> str:
    """prices.csv text with the catalog's column order."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(__file__).resolve().parents[1] / "cloudgd" / "data"
    parser.add_argument("--selection", type=Path, default=data / "prices.csv")
    parser.add_argument("--out", type=Path, default=data / "prices.csv")
    parser.add_argument("--catalog-json", type=Path, default=data / "catalog.json")
    parser.add_argument("--as-of", required=True, help="Date the lists were downloaded.")
    for provider in ("aws", "gcp", "azure"):
        parser.add_argument(f"--{provider}", type=Path, help=f"{provider} source CSV")
        parser.add_argument(f"--{provider}-ref", help="repo path@commit of that CSV")
    args = parser.parse_args(argv)
    sources: dict[str, tuple[list[dict[str, str]], str]] = {}
    for provider in ("aws", "gcp", "azure"):
        path, ref = getattr(args, provider), getattr(args, f"{provider}_ref")
        if path is not None:
            if not ref:
                parser.error(f"--{provider} needs --{provider}-ref (where the file came from)")
            sources[provider] = (_read(path), ref)
    if not sources:
        parser.error("give at least one of --aws, --gcp, --azure")
    rows, report = refresh(_read(args.selection), sources, args.as_of)
    args.out.write_text(write_csv(rows), encoding="utf-8")
    meta = json.loads(args.catalog_json.read_text(encoding="utf-8"))
    meta["as_of"] = min(row["as_of"] for row in rows)
    args.catalog_json.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for line in report.missing:
        print(f"missing (dropped, now unknown): {line}", file=sys.stderr)
    for line in report.conflicts:
        print(f"conflict: {line}", file=sys.stderr)
    print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
