"""What the AWS PyTorch training image (SageMaker flavour) holds in Python, in one place.

The rehearsal's environment holds these, the bundle's ``requirements.txt`` and nothing
else, so a job that imports a package neither provides fails here as on SageMaker.

Source: ``aws/deep-learning-containers``, ``pytorch/training/docker/2.8/py3/Dockerfile.cpu``
(commit 1c78f58bedb7a44a4e6b399d2138390dc5d84e95), stages ``common`` and ``sagemaker``:
every ``pip install`` there, by distribution name. The GPU Dockerfile of the same
version installs the same Python packages. Versions are whatever is installed here:
the rehearsal links this machine's distributions and downloads nothing.
"""

from __future__ import annotations

from importlib import metadata

from cloudgd.trainer_requirements import canonical

SOURCE = (
    "aws/deep-learning-containers pytorch/training/docker/2.8/py3/Dockerfile.cpu "
    "(the sagemaker stage)"
)

# `common` stage: "Install common packages", then "Install PyTorch".
_COMMON = (
    "pip",
    "cython",
    "cryptography",
    "pyOpenSSL",
    "pybind11",
    "mkl",
    "mkl-include",
    "parso",
    "typing",
    "charset-normalizer",
    "packaging",
    "boto3",
    "PyYAML",
    "numpy",
    "scipy",
    "click",
    "psutil",
    "ipython",
    "ipykernel",
    "pillow",
    "h5py",
    "fsspec",
    "idna",
    "tqdm",
    "requests",
    "setuptools",
    "urllib3",
    "awscli",
    "opencv-python",
    "mpi4py",
    "jinja2",
    "tornado",
    "torch",
    "torchvision",
    "torchaudio",
    "torchtnt",
    "torchdata",
    "s3torchconnector",
    "fastai",
    "accelerate",
    "spacy",
    "thinc",
    "blis",
)
# `sagemaker` stage: "Install SM packages", then "Install extra packages".
_SAGEMAKER = (
    "smclarify",
    "sagemaker",
    "sagemaker-experiments",
    "sagemaker-pytorch-training",
    "sagemaker-training",
    "bokeh",
    "imageio",
    "numba",
    "pandas",
    "plotly",
    "scikit-learn",
    "seaborn",
    "shap",
    "cloudpickle",
)
# Named because `sagemaker` (v2, not installed here: cloudgd uses sagemaker-core) brings
# it in the image: sagemaker 2.x requires sagemaker-core, whose metadata requires
# pydantic>=2.0.0,<3.0.0. Without it the trainer could not import on SageMaker either.
_THROUGH_SAGEMAKER = ("pydantic",)

IMAGE_PACKAGES: tuple[str, ...] = (*_COMMON, *_SAGEMAKER, *_THROUGH_SAGEMAKER)


def split_by_presence(installed: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(the image's packages installed here, those that are not), by canonical name.

    A package the image carries but this machine lacks cannot be offered offline; a job
    that imports it fails the rehearsal although SageMaker would run it (the log says so).
    """
    if installed is None:
        installed = {canonical(d.metadata["Name"] or "") for d in metadata.distributions()}
    here = [name for name in IMAGE_PACKAGES if canonical(name) in installed]
    absent = [name for name in IMAGE_PACKAGES if canonical(name) not in installed]
    return here, absent
