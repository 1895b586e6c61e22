"""CLI latency: a cold ``cloudgd plan`` per cloud vs merely importing that cloud's SDK.

Every measurement is a fresh ``python`` process (cold interpreter, warm OS file
cache), and every ``cloudgd plan`` gets a fresh, empty ``CLOUDGD_HOME`` so the code
bundle is built anew each time (no cache helps cloudgd). The contenders run
interleaved, ``--repeats`` rounds, and medians are compared, so a busy machine
slows all of them alike.

    python bench/cli_latency.py --repeats 7

Ratio = median(cloudgd plan -p P) / median(import of P's SDK); target < 0.5.

``--spec-commands`` also times cold ``cloudgd validate`` and ``cloudgd schema`` on the same
job (no target: they read only the spec and each provider's options module).

Why ``import sagemaker.core`` for AWS: in the SageMaker Python SDK v3,
``sagemaker/__init__.py`` is a namespace-package stub (``pkgutil.extend_path``), and
the classes a user calls (``sagemaker.core.resources.TrainingJob``, image URIs) live
in ``sagemaker.core`` (distribution ``sagemaker-core``). Whether the bare stub is
cheap depends on the release: some only extend ``__path__`` (tens of ms), newer
ones also register a finder for removed v2 modules by importing
``sagemaker.core.deprecations``, which loads much of ``sagemaker.core``. Both are
measured; the ratio uses ``sagemaker.core``, the import that does the work.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB = REPO / "bench" / "jobs" / "digits-all-clouds.yaml"

# provider -> (the SDK import a user would otherwise pay, label)
VENDOR_IMPORTS: dict[str, tuple[str, str]] = {
    "aws": ("import sagemaker.core", "import sagemaker.core"),
    "gcp": ("from google.cloud import aiplatform", "from google.cloud import aiplatform"),
    "azure": ("import azure.ai.ml", "import azure.ai.ml"),
}
EXTRA_IMPORTS = {"baseline": "pass", "aws-stub": "import sagemaker"}


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds for one process to run to completion; fails loudly if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}"
        )
    return seconds


def plan_once(provider: str) -> float:
    with tempfile.TemporaryDirectory(prefix="cloudgd-bench-home-") as home:
        env = {**os.environ, "CLOUDGD_HOME": home, "PYTHONPATH": str(REPO)}
        argv = [sys.executable, "-m", "cloudgd", "--output", "json", "plan", str(JOB)]
        return timed([*argv, "--provider", provider], env)


def spec_command_once(*args: str) -> float:
    with tempfile.TemporaryDirectory(prefix="cloudgd-bench-home-") as home:
        env = {**os.environ, "CLOUDGD_HOME": home, "PYTHONPATH": str(REPO)}
        return timed([sys.executable, "-m", "cloudgd", *args], env)


def import_once(statement: str) -> float:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return timed([sys.executable, "-W", "ignore", "-c", statement], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--providers", default="aws,gcp,azure")
    parser.add_argument(
        "--spec-commands", action="store_true", help="also time cloudgd validate and schema"
    )
    args = parser.parse_args()
    providers = [p for p in args.providers.split(",") if p]

    contenders: dict[str, object] = {}
    for provider in providers:
        contenders[f"cloudgd plan -p {provider}"] = lambda p=provider: plan_once(p)
        contenders[VENDOR_IMPORTS[provider][1]] = lambda s=VENDOR_IMPORTS[provider][0]: import_once(
            s
        )
    contenders["python -c pass"] = lambda: import_once(EXTRA_IMPORTS["baseline"])
    contenders["import sagemaker (v3 stub)"] = lambda: import_once(EXTRA_IMPORTS["aws-stub"])
    if args.spec_commands:
        contenders["cloudgd validate"] = lambda: spec_command_once("validate", str(JOB))
        contenders["cloudgd schema"] = lambda: spec_command_once("schema")

    # One untimed round: byte-compiles anything not yet in __pycache__.
    for run in contenders.values():
        run()  # type: ignore[operator]
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.repeats):
        for name, run in contenders.items():
            samples[name].append(run())  # type: ignore[operator]

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC  python {platform.python_version()}  "
        f"{os.cpu_count()} cores  repeats={args.repeats} (median, min..max)"
    )
    for name, values in samples.items():
        print(f"  {name:<38} {medians[name]:6.3f} s  ({min(values):.3f}..{max(values):.3f})")
    if not providers:  # --providers "" --spec-commands: nothing to hold to the target
        return
    print("ratios (cloudgd plan / vendor SDK import; target < 0.5):")
    worst = 0.0
    for provider in providers:
        ratio = medians[f"cloudgd plan -p {provider}"] / medians[VENDOR_IMPORTS[provider][1]]
        worst = max(worst, ratio)
        print(f"  {provider:<6} {ratio:.2f}  vs `{VENDOR_IMPORTS[provider][0]}`")
    print(f"worst ratio {worst:.2f}: {'meets' if worst < 0.5 else 'MISSES'} the < 0.5 target")


if __name__ == "__main__":
    main()
