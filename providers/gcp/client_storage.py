"""The Cloud Storage calls of :class:`providers.gcp.client.GcpApi`: the staging bucket,
uploads that skip an object already there with the same hash, and downloads that stay
inside their destination.

No SDK import here: the client module hands over the ``google.cloud.storage`` client
(``_storage``) and its error translation (``_translated``), so ``client.py`` stays the only
module that imports the SDK.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from cloudgd.errors import JobNotFoundError, ProviderError

SHA_KEY = "cloudgd-sha256"
"""Object metadata key holding an upload's SHA-256, so an unchanged file is not sent again."""


class StorageCalls:
    """Staging-bucket calls; the class that mixes them in supplies the two hooks."""

    location: str  # the region a bucket the fake lacks is created in

    def _storage(self, project: str | None) -> Any:
        """A ``google.cloud.storage.Client`` for ``project`` (the default project if None)."""
        raise NotImplementedError

    def _translated(
        self,
        what: str,
        *,
        not_found: str | None = None,
        missing: type[ProviderError] = JobNotFoundError,
    ) -> AbstractContextManager[None]:
        """A context that turns SDK errors raised inside into cloudgd errors."""
        raise NotImplementedError

    def ensure_bucket(self, bucket: str, project: str) -> None:
        """Create the bucket if it is missing (the fake only: cloud buckets come from
        Terraform, with their location and IAM)."""
        client = self._storage(project)
        with self._translated(f"create gs://{bucket}"):
            if client.lookup_bucket(bucket) is None:
                client.create_bucket(bucket, location=self.location)

    def upload(self, source: str, destination: str, sha256: str | None, project: str) -> bool:
        """Copy ``source`` to ``gs://...`` unless an object with the same hash is there.
        True when it uploaded."""
        bucket_name, _, key = destination.removeprefix("gs://").partition("/")
        client = self._storage(project)
        where = f"upload {destination}"
        with self._translated(
            where,
            not_found=f"providers.gcp.staging_bucket: gs://{bucket_name} does not exist",
            missing=ProviderError,
        ):
            bucket = client.bucket(bucket_name)
            existing = bucket.get_blob(key)
            if sha256 and existing is not None and (existing.metadata or {}).get(SHA_KEY) == sha256:
                return False
            blob = bucket.blob(key)
            if sha256:
                blob.metadata = {SHA_KEY: sha256}
            try:
                blob.upload_from_filename(source, content_type="application/gzip")
            except OSError as exc:
                raise ProviderError(f"{where}: cannot read {source}: {exc.strerror}") from None
        return True

    def exists(self, uri: str, project: str) -> bool:
        """Whether ``gs://bucket/key`` is an object, or a prefix with objects under it."""
        bucket_name, _, key = uri.removeprefix("gs://").partition("/")
        client = self._storage(project)
        with self._translated(f"look up {uri}"):
            if client.lookup_bucket(bucket_name) is None:
                return False
            if key and not key.endswith("/") and client.bucket(bucket_name).get_blob(key):
                return True
            prefix = key if not key or key.endswith("/") else key + "/"
            return any(True for _ in client.list_blobs(bucket_name, prefix=prefix, max_results=1))

    def download_files(
        self, prefix: str, names: tuple[str, ...], dest: Path, project: str
    ) -> list[str]:
        """Copy ``<prefix><name>`` (a gs:// prefix ending in /) to ``dest/<name>`` for each
        name that exists; the names copied."""
        bucket_name, _, key_prefix = prefix.removeprefix("gs://").partition("/")
        client = self._storage(project)
        found = []
        with self._translated(
            f"download {prefix}",
            not_found=f"gs://{bucket_name} does not exist",
            missing=ProviderError,
        ):
            bucket = client.bucket(bucket_name)
            for name in names:
                blob = bucket.get_blob(key_prefix + name)
                if blob is not None:
                    blob.download_to_filename(str(dest / name))
                    found.append(name)
        return found

    def download_tree(self, prefix: str, dest: Path, project: str) -> list[tuple[str, Path]]:
        """Copy every object under ``prefix`` (a gs:// prefix ending in /) into ``dest``,
        keeping names relative to it; (relative name, file) for each. A name that would
        land outside ``dest`` (``..``, absolute) is skipped."""
        bucket_name, _, key_prefix = prefix.removeprefix("gs://").partition("/")
        client = self._storage(project)
        root = dest.resolve()
        copied: list[tuple[str, Path]] = []
        with self._translated(
            f"download {prefix}",
            not_found=f"gs://{bucket_name} does not exist",
            missing=ProviderError,
        ):
            for blob in client.list_blobs(bucket_name, prefix=key_prefix):
                relative = blob.name[len(key_prefix) :]
                target = (root / relative).resolve()
                if not relative or blob.name.endswith("/") or not target.is_relative_to(root):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                blob.download_to_filename(str(target))
                copied.append((relative, target))
        return copied
