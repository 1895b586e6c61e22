"""Which Azure ML workspace a job lives in, and the IDs and handles derived from it."""

from __future__ import annotations

from dataclasses import dataclass

from cloudgd.errors import SpecError, UsageError
from cloudgd.plan import JobHandle
from providers.azure.options import AzureOptions

# A rehearsal backend (the fake) accepts any workspace; these keep a spec without
# Azure settings plannable there. Submitting them to the real cloud is refused.
REHEARSAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
REHEARSAL_RESOURCE_GROUP = "cloudgd-rehearsal"
REHEARSAL_WORKSPACE = "cloudgd-rehearsal"
PROVIDER_NAMESPACE = "Microsoft.MachineLearningServices"


@dataclass(frozen=True)
class WorkspaceScope:
    """Subscription, resource group and workspace of an Azure ML workspace."""

    subscription_id: str
    resource_group: str
    workspace: str

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{PROVIDER_NAMESPACE}/workspaces/{self.workspace}"
        )

    @property
    def is_rehearsal(self) -> bool:
        """True when any part is a rehearsal placeholder."""
        return (
            self.subscription_id == REHEARSAL_SUBSCRIPTION
            or self.resource_group == REHEARSAL_RESOURCE_GROUP
            or self.workspace == REHEARSAL_WORKSPACE
        )

    def code_id(self, name: str, version: str) -> str:
        """ARM ID of a code asset version (what a job's ``code:`` refers to)."""
        return f"{self.arm_id}/codes/{name}/versions/{version}"

    def handle(self, job: str, params: dict[str, str] | None = None) -> JobHandle:
        return JobHandle(
            provider="azure",
            parts=(self.subscription_id, self.resource_group, self.workspace, job),
            params=dict(params or {}),
        )

    @classmethod
    def of_handle(cls, handle: JobHandle) -> WorkspaceScope:
        if handle.provider != "azure" or len(handle.parts) != 4:
            raise UsageError(
                f"not an Azure ML job handle: {handle}",
                hint="Azure handles look like azure://<subscription>/<resource group>/"
                "<workspace>/<job>",
            )
        sub, rg, ws, _ = handle.parts
        return cls(sub, rg, ws)


def workspace_scope(options: AzureOptions, *, rehearsal: bool) -> WorkspaceScope:
    """The workspace from ``providers.azure``; placeholders only for a rehearsal backend."""
    missing = [
        f"providers.azure.{field}"
        for field in ("subscription_id", "resource_group", "workspace")
        if getattr(options, field) is None
    ]
    if missing and not rehearsal:
        raise SpecError(
            f"{', '.join(missing)}: an Azure ML job needs its workspace",
            hint="use the outputs of terraform/modules/azure-ml (`cloudgd config from-terraform`), "
            "or rehearse with --backend fake",
            problems=[f"{name}: not set" for name in missing],
        )
    return WorkspaceScope(
        options.subscription_id or REHEARSAL_SUBSCRIPTION,
        options.resource_group or REHEARSAL_RESOURCE_GROUP,
        options.workspace or REHEARSAL_WORKSPACE,
    )
