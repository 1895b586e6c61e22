"""Operational carbon of a job: accelerator power × utilisation × hours × PUE × grid intensity.

The bundled carbon table holds three sources with different methods
(PROVENANCE.md, carbon.csv). An estimate takes grid intensity *and* PUE from one
source only; where that source lacks either number the result is unknown rather
than patched from another source.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.cost.catalog import CarbonRow, Catalog

CARBON_SOURCES: dict[str, str] = {
    "ccf": "cloud-carbon-footprint/cloud-carbon-footprint",
    "google": "GoogleCloudPlatform/region-carbon-info",
    "mlco2": "mlco2/impact",
}
"""Short name → the prefix of its rows' ``source`` in carbon.csv."""

DEFAULT_CARBON_SOURCE = "ccf"
"""Cloud Carbon Footprint is the one source with a grid factor and a PUE for every
region of all three providers in the catalog, so estimates across clouds compare."""


class CarbonEstimate(BaseModel):
    """kg CO2e for one job, or the reason it is unknown, with every factor's source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kg_co2e: float | None = Field(description="Operational emissions in kg CO2e; None = unknown.")
    unknown_reason: str | None = Field(description="Why kg_co2e is unknown, if it is.")
    energy_kwh: float | None = Field(description="Facility energy (IT energy × PUE) in kWh.")
    accelerator_watts: float | None = Field(description="TDP per accelerator in watts.")
    accelerators: int = Field(description="Accelerators across all nodes.")
    utilisation: float = Field(description="Fraction of TDP assumed drawn while training.")
    hours: float | None = Field(description="Hours the estimate covers.")
    pue: float | None = Field(description="Power usage effectiveness of the data centre.")
    grid_gco2e_per_kwh: float | None = Field(description="Grid carbon intensity, g CO2e/kWh.")
    carbon_source: str = Field(description="Short name of the carbon source used (ccf, ...).")
    sources: tuple[str, ...] = Field(description="Sources of TDP, grid intensity and PUE.")


def carbon_row(catalog: Catalog, provider: str, region: str, source: str) -> CarbonRow | None:
    """The region's row from one named source, or None."""
    prefix = CARBON_SOURCES[source]
    return next(
        (
            r
            for r in catalog.carbon
            if r.provider == provider and r.region == region and r.source.startswith(prefix)
        ),
        None,
    )


def estimate_carbon(
    catalog: Catalog,
    *,
    provider: str,
    region: str,
    accelerator: str | None,
    accelerators: int,
    hours: float | None,
    utilisation: float = 1.0,
    source: str = DEFAULT_CARBON_SOURCE,
) -> CarbonEstimate:
    """Emissions of ``accelerators`` chips of ``accelerator`` running ``hours``.

    Only accelerator power is counted (host CPUs, memory and networking are not),
    so the figure is a lower bound on the whole machine's emissions at that
    utilisation; ``utilisation`` 1.0 assumes the chips draw full TDP.
    """
    if source not in CARBON_SOURCES:
        raise ValueError(f"carbon source must be one of {sorted(CARBON_SOURCES)}")
    hardware = catalog.hardware(accelerator) if accelerator else None
    row = carbon_row(catalog, provider, region, source)
    watts = hardware.tdp_watts if hardware else None
    sources = tuple(s for s in (hardware.source if hardware else None, row and row.source) if s)
    reason = None
    if accelerator is None:
        reason = "CPU-only machine: the catalog has no CPU power figures"
    elif watts is None:
        reason = f"the catalog has no TDP for {accelerator}"
    elif row is None:
        reason = f"carbon source {source} has no factor for {provider} {region}"
    elif row.pue is None:
        reason = f"carbon source {source} has no PUE for {provider} {region}"
    elif hours is None:
        reason = "expected hours unknown (set limits.expected_runtime or use --calibrate)"
    kg = energy = None
    if reason is None and watts is not None and row is not None and row.pue is not None:
        assert hours is not None
        energy = watts * accelerators * utilisation * hours / 1000.0 * row.pue
        kg = energy * row.grid_gco2e_per_kwh / 1000.0
    return CarbonEstimate(
        kg_co2e=kg,
        unknown_reason=reason,
        energy_kwh=energy,
        accelerator_watts=watts,
        accelerators=accelerators,
        utilisation=utilisation,
        hours=hours,
        pue=row.pue if row else None,
        grid_gco2e_per_kwh=row.grid_gco2e_per_kwh if row else None,
        carbon_source=source,
        sources=sources,
    )
