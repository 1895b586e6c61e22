"""The worker pool's code for a ``script:`` job on Vertex AI (pure).

With the prebuilt image Vertex pip-installs the job's sdist, whose
``install_requires`` hold the script's own requirements, and runs
``python -m trainers.script_launch`` (``pythonPackageSpec``): the launcher maps
Vertex's variables (``AIP_MODEL_DIR``, ``AIP_CHECKPOINT_DIR``, the ``/gcs/`` mount) to
the ``CLOUDGD_*`` contract, starts the script (under torchrun for several processes)
and collects its metrics. A custom image unpacks the same sdist from the Cloud
Storage FUSE mount and runs the same launcher; it must already hold the script's
packages. Each ``script.inputs`` channel is a ``gs://`` URI the container reads
through ``/gcs/``, passed to the launcher as ``--cloudgd-data NAME=/gcs/...``.
"""

from __future__ import annotations

from typing import Any

from cloudgd.errors import SpecError
from cloudgd.script_spec import ScriptSpec
from providers.gcp.images import worker_code

LAUNCH_MODULE = "trainers.script_launch"
# "$0" is the sdist on the FUSE mount; "$@" the launcher's options (see render._UNPACK).
UNPACK_AND_LAUNCH_SCRIPT = (
    'dir="${TMPDIR:-/tmp}/cloudgd" && mkdir -p "$dir" '
    '&& tar -xzf "$0" -C "$dir" --strip-components=1 '
    f'&& cd "$dir" && exec python -m {LAUNCH_MODULE} "$@"'
)


def fuse_folder(uri: str) -> str:
    """The ``/gcs/`` directory a channel reads: the URI's folder when it names a folder
    (ends with ``/``), else the folder holding the object, so ``CLOUDGD_DATA_DIR_<NAME>``
    is a directory on every cloud (as SageMaker's ``S3Prefix`` channel is)."""
    path = "/gcs/" + uri.removeprefix("gs://")
    return path.rstrip("/") if uri.endswith("/") else path.rsplit("/", 1)[0]


def input_args(script: ScriptSpec) -> list[str]:
    """``--cloudgd-data NAME=/gcs/...`` for each ``script.inputs`` channel, in order."""
    args = []
    for name, uri in script.inputs.items():
        if not uri.startswith("gs://") or len(uri.removeprefix("gs://").strip("/")) == 0:
            raise SpecError(
                f"script.inputs.{name}: a Vertex job reads its inputs from Cloud Storage "
                f"(got {uri!r})",
                hint=f"copy the data to gs://<your staging bucket>/{name}/ and use that URI",
            )
        args += ["--cloudgd-data", f"{name}={fuse_folder(uri)}"]
    return args


def code_spec(
    script: ScriptSpec,
    *,
    image: str,
    executor_image: str,
    package_uri: str,
    package_path: str,
    checkpoint_dir: str | None,
    env: list[dict[str, str]],
) -> dict[str, Any]:
    """``pythonPackageSpec`` (prebuilt image) or ``containerSpec`` (``image``) running the
    launcher. ``package_path`` is the sdist as the container sees it (``/gcs/...``)."""
    args = input_args(script)
    if checkpoint_dir:
        args += ["--cloudgd-checkpoint-dir", checkpoint_dir]
    return worker_code(
        image=image,
        executor_image=executor_image,
        package_uri=package_uri,
        module=LAUNCH_MODULE,
        command=["sh", "-c", UNPACK_AND_LAUNCH_SCRIPT, package_path],
        args=args,
        env=env,
    )
