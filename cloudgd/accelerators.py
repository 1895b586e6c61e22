"""Parse ``resources.accelerator``: ``A100:8``, ``T4``, ``tpu-v5e:8``, ``none``."""

from __future__ import annotations

from dataclasses import dataclass

# Canonical names; keys are lower-cased aliases users type.
_ALIASES: dict[str, str] = {
    "t4": "T4",
    "v100": "V100",
    "a10g": "A10G",
    "l4": "L4",
    "a100": "A100",
    "a100-40gb": "A100",
    "a100-80gb": "A100-80GB",
    "h100": "H100",
    "trainium": "Trainium",
    "trn1": "Trainium",
    "tpu-v4": "TPU-v4",
    "tpu-v5e": "TPU-v5e",
    "tpu-v5litepod": "TPU-v5e",
}
KNOWN = sorted(set(_ALIASES.values()))


@dataclass(frozen=True)
class Accelerator:
    """A parsed accelerator request. ``kind`` None means CPU only."""

    kind: str | None
    count: int

    @property
    def is_tpu(self) -> bool:
        return bool(self.kind and self.kind.startswith("TPU"))

    @property
    def is_gpu(self) -> bool:
        return bool(self.kind) and not self.is_tpu and self.kind != "Trainium"

    def __str__(self) -> str:
        return "none" if self.kind is None else f"{self.kind}:{self.count}"


def parse_accelerator(text: str) -> Accelerator:
    """Parse and normalise; raises ValueError naming the known accelerators."""
    raw = text.strip()
    if raw.lower() in ("", "none", "cpu"):
        return Accelerator(None, 0)
    name, _, count_text = raw.partition(":")
    kind = _ALIASES.get(name.strip().lower())
    if kind is None:
        import difflib

        close = difflib.get_close_matches(name.lower(), list(_ALIASES), n=1)
        tip = f"; did you mean {_ALIASES[close[0]]!r}?" if close else ""
        raise ValueError(f"unknown accelerator {name!r}{tip} (known: {', '.join(KNOWN)}, or none)")
    if count_text == "":
        count = 1
    elif count_text.strip().isdigit() and int(count_text) >= 1:
        count = int(count_text)
    else:
        raise ValueError(f"accelerator count must be a whole number >= 1 (got {count_text!r})")
    if count > 64:
        raise ValueError(f"accelerator count {count} is more than any instance has (max 64)")
    return Accelerator(kind, count)
