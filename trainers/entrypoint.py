"""``module:function`` entrypoints from the job's code directory (``model.entrypoint``,
``data.entrypoint``): one way to import them, and one wording for what goes wrong."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainers.errors import ConfigError


def load_entrypoint_function(
    field: str, entrypoint: str, code_dir: Path | None
) -> Callable[..., Any]:
    """The function ``entrypoint`` names, imported with ``code_dir`` on ``sys.path``.

    ``field`` is the config key the errors name (``model.entrypoint``), so a user sees
    which line of the job to fix when the module is missing or has no such function.
    """
    module_name, _, func_name = entrypoint.partition(":")
    if code_dir is not None and str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{field}: cannot import {module_name!r}: {exc}",
            hint=f"put {module_name}.py in the job's code dir ({code_dir or 'not set'})",
        ) from exc
    factory = getattr(module, func_name, None)
    if not callable(factory):
        raise ConfigError(f"{field}: {module_name} has no callable {func_name!r}")
    return factory
