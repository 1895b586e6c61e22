"""``python -m trainers``: the entry point every cloud job and local run starts.

Exit codes: 0 ok, 1 failed, 2 bad config, 3 data error, 143 stopped by SIGTERM after
saving a checkpoint. On SageMaker a failure also writes ``/opt/ml/output/failure``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from trainers.context import Flags, RunContext, detect_context
from trainers.errors import EXIT_FAILED, EXIT_OK, TrainerError

_FAILURE_LIMIT = 1024  # SageMaker keeps the first 1024 characters as FailureReason


_TUNED_PREFIX = "--trainer."


def split_tuned_arguments(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Pull the tuned values out of ``argv`` as ``path=value`` overrides.

    Clouds pass a trial's values as arguments named by cloudgd's parameter IDs (dotted
    TrainConfig paths under ``trainer.``), in two forms: Amazon's training toolkit
    (``sagemaker-training``) writes every non-``sagemaker_`` hyperparameter as two
    arguments, ``--trainer.batch_size 64``, and Vertex AI documents ``--name VALUE`` but
    is also seen passing ``--name=VALUE``. Both must reach the trainer unchanged, before
    argparse can mistake a value for the ``train`` mode argument. Raises ValueError for a
    name with no value.
    """
    rest: list[str] = []
    overrides: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if not item.startswith(_TUNED_PREFIX):
            rest.append(item)
            continue
        path, sep, value = item[2:].partition("=")
        if not sep:
            if index >= len(items):
                raise ValueError(f"argument {item}: expected a value")
            value = items[index]
            index += 1
        if path == "trainer." or not path.removeprefix("trainer."):
            raise ValueError(f"argument {item}: expected --trainer.PATH")
        overrides.append(f"{path}={value}")
    return rest, overrides


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainers", description="Run the cloudgd gradient-descent trainer."
    )
    # SageMaker starts BYO images as `<entrypoint> train`; accept and ignore it.
    parser.add_argument("mode", nargs="?", choices=["train"], help=argparse.SUPPRESS)
    parser.add_argument("--config", help="TrainConfig or job spec (YAML/JSON)")
    parser.add_argument("--data-dir", help="directory (or file) holding the training data")
    parser.add_argument("--model-dir", help="where model.pt and model.json go")
    parser.add_argument("--checkpoint-dir", help="where checkpoints go (and are resumed from)")
    parser.add_argument("--output-dir", help="where metrics.jsonl and summary.json go")
    parser.add_argument("--tensorboard-dir", help="write TensorBoard events here")
    parser.add_argument("--code-dir", help="the job's code dir (custom models)")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a TrainConfig field, e.g. --set optimizer.lr=0.01",
    )
    try:
        rest, tuned = split_tuned_arguments(argv)
    except ValueError as exc:
        parser.error(str(exc))  # exits 2, like any other bad argument
    args = parser.parse_args(rest)
    # Tuned values win over --set, as they do over the config: they come last.
    args.sets.extend(tuned)
    return args


def resolve_code_dir(ctx: RunContext, config_path: Path, explicit: bool) -> Path | None:
    """The job's code dir: a flag or platform dir, else ``code/`` from the bundle or config."""
    bundle_root = Path(__file__).resolve().parent.parent
    candidates = []
    if ctx.code_dir is not None:
        if explicit:
            return ctx.code_dir
        candidates += [ctx.code_dir / "code", ctx.code_dir]
    candidates += [bundle_root / "code", config_path.parent / "code", config_path.parent]
    return next((c for c in candidates if c.is_dir()), None)


def write_failure(ctx: RunContext | None, message: str) -> None:
    """SageMaker reads the reason of a failed job from /opt/ml/output/failure."""
    if ctx is None or ctx.failure_file is None or not ctx.is_main:
        return
    try:
        ctx.failure_file.parent.mkdir(parents=True, exist_ok=True)
        if not ctx.failure_file.exists():
            ctx.failure_file.write_text(message[:_FAILURE_LIMIT], encoding="utf-8")
    except OSError:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trainer; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ctx: RunContext | None = None
    try:
        if args.mode == "train" and not (args.config or os.environ.get("CLOUDGD_CONFIG")):
            from trainers import sagemaker_start

            if sagemaker_start.started_by_sagemaker(os.environ):
                sagemaker_start.exec_handoff(os.environ)  # does not return
        from trainers.configio import load_train_config

        flags = Flags(
            data_dir=args.data_dir,
            model_dir=args.model_dir,
            checkpoint_dir=args.checkpoint_dir,
            output_dir=args.output_dir,
            tensorboard_dir=args.tensorboard_dir,
            code_dir=args.code_dir,
        )
        ctx = detect_context(flags)
        from trainers.secrets import resolve_secrets

        for name in resolve_secrets(ctx.platform):
            if ctx.is_main:  # every rank reads its own copy; one line says so
                print(f"secret {name}: read from the cloud's secret store", flush=True)
        cfg, config_path = load_train_config(
            args.config, os.environ, args.sets, ctx.hyperparameters
        )
        if cfg.device == "tpu":
            os.environ.setdefault("PJRT_DEVICE", "TPU")
        code_dir = resolve_code_dir(ctx, config_path, explicit=bool(args.code_dir))

        from trainers.run import run
        from trainers.signals import StopFlag

        stop = StopFlag().install()
        try:
            run(cfg, ctx, code_dir, stop)
        finally:
            stop.uninstall()
            from trainers.distributed import shutdown

            shutdown()
        return EXIT_OK
    except TrainerError as exc:
        print(f"error: {exc.line()}", file=sys.stderr, flush=True)
        if exc.exit_code != 143:
            write_failure(ctx, exc.line())
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        traceback.print_exc()
        write_failure(ctx, f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
