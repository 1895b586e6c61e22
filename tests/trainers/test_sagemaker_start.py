"""The trainer image started as SageMaker starts an own image: ``<ENTRYPOINT> train``.

No Docker here: the image's entrypoint (``python -m trainers``) gets ``train`` in an
``/opt/ml`` tree laid out as SageMaker does for cloudgd's request (the bundle in the
``code`` channel, ``sagemaker_submit_directory`` naming it), once with Amazon's
toolkit on PATH and once without.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trainer_helpers import subprocess_env, tiny

from cloudgd.bundle import build_bundle

HAS_TOOLKIT = all(
    importlib.util.find_spec(m) for m in ("sagemaker_training", "sagemaker_pytorch_container")
)


def sagemaker_tree(tmp_path: Path, container: str = "/opt/ml", **hyperparameters: str) -> Path:
    """``/opt/ml`` as SageMaker prepares it for an own image with cloudgd's request
    (``container``: where the tree is in the container, as hyperparameters name it)."""
    base = tmp_path / "opt" / "ml"
    bundle = build_bundle(json.dumps(tiny(epochs=1)), None, tmp_path / "bundles")
    code = base / "input" / "data" / "code"
    code.mkdir(parents=True)
    (code / bundle.filename).write_bytes(Path(bundle.path).read_bytes())
    config = base / "input" / "config"
    config.mkdir(parents=True)
    hps = {
        "sagemaker_program": '"cloudgd_entry.py"',
        "sagemaker_submit_directory": json.dumps(f"{container}/input/data/code/{bundle.filename}"),
        "sagemaker_region": '"us-east-1"',
        "sagemaker_job_name": '"own-image"',
        **hyperparameters,
    }
    (config / "hyperparameters.json").write_text(json.dumps(hps))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    (config / "inputdataconfig.json").write_text("{}")
    return base


def start_image(base: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(SAGEMAKER_BASE_DIR=str(base), PATH=path, SM_STUDIO_LOCAL_MODE="True")
    env.pop("CLOUDGD_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "trainers", "train"],
        cwd=base.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_without_the_toolkit_the_image_unpacks_the_code_channel_and_trains(
    tmp_path: Path,
) -> None:
    base = sagemaker_tree(tmp_path, **{"trainer.optimizer.lr": "0.05"})
    done = start_image(base, "/usr/bin:/bin")  # no `train` console script
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cloudgd_entry.py" in done.stdout
    summary = json.loads((base / "output" / "data" / "summary.json").read_text())
    assert summary["base_lr"] == 0.05  # the tuned value, read from hyperparameters.json
    assert (base / "code" / "cloudgd-job.json").is_file()


@pytest.mark.skipif(not HAS_TOOLKIT, reason="sagemaker-training is not installed")
def test_with_the_toolkit_the_image_hands_the_job_to_it(tmp_path: Path) -> None:
    # The toolkit reads the path as written; in a container that is /opt/ml itself.
    base = sagemaker_tree(tmp_path, container=str(tmp_path / "opt" / "ml"))
    bin_dir = str(Path(sys.executable).parent)  # where pip put the toolkit's `train`
    done = start_image(base, os.pathsep.join([bin_dir, "/usr/bin", "/bin"]))
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "Invoking script with the following command" in output  # the toolkit ran it
    assert (base / "output" / "success").is_file()  # the toolkit's own marker
    assert (base / "output" / "data" / "summary.json").is_file()


def test_without_a_bundle_the_image_says_what_is_missing(tmp_path: Path) -> None:
    base = sagemaker_tree(tmp_path)
    for bundle in (base / "input" / "data" / "code").iterdir():
        bundle.unlink()
    done = start_image(base, "/usr/bin:/bin")
    assert done.returncode == 2
    assert "is not in the container" in done.stderr


SCRIPT = """\
import os, sys
print("script args:", " ".join(sys.argv[1:]))
print("data:", os.environ["CLOUDGD_DATA_DIR"], "model:", os.environ["CLOUDGD_MODEL_DIR"])
print("val_loss=0.25")
"""


def test_without_the_toolkit_a_script_job_runs_its_launcher_with_the_tuned_arguments(
    tmp_path: Path,
) -> None:
    from cloudgd.script_bundle import build_script_bundle
    from cloudgd.spec import JobSpec

    code = tmp_path / "job"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    spec = JobSpec.model_validate(
        {
            "name": "own-image-script",
            "code": str(code),
            "script": {
                "entry_point": "train.py",
                "args": ["--epochs", "1"],
                "inputs": {"train": "s3://bucket/train/"},
                "metrics": {"regex": {"val_loss": "val_loss=([0-9.]+)"}},
            },
        }
    )
    bundle = build_script_bundle(spec, code, tmp_path / "bundles")
    base = sagemaker_tree(tmp_path, lr="0.05")
    channel = base / "input" / "data" / "code"
    for old in channel.iterdir():
        old.unlink()
    (channel / bundle.filename).write_bytes(Path(bundle.path).read_bytes())
    hps_file = base / "input" / "config" / "hyperparameters.json"
    hps = json.loads(hps_file.read_text())
    hps["sagemaker_program"] = '"cloudgd_script.py"'
    hps["sagemaker_submit_directory"] = json.dumps(f"/opt/ml/input/data/code/{bundle.filename}")
    hps_file.write_text(json.dumps(hps))
    (base / "input" / "data" / "train").mkdir()
    (base / "input" / "config" / "inputdataconfig.json").write_text('{"train": {}}')
    done = start_image(base, "/usr/bin:/bin")  # no `train` console script
    assert done.returncode == 0, done.stdout + done.stderr
    # the tuned value reaches the script after its own args, as the toolkit passes it
    assert "script args: --epochs 1 --lr 0.05" in done.stdout
    assert f"data: {base}/input/data/train model: {base}/model" in done.stdout
