"""Write data/train.csv: 400 rows of 6 features and a noisy non-linear target.

Generated, not downloaded (the examples and tests run offline); run it again to
recreate the file byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

ROWS, FEATURES = 400, 6


def main() -> None:
    rng = random.Random(0)
    lines = [",".join([f"x{i}" for i in range(FEATURES)] + ["y"])]
    for _ in range(ROWS):
        x = [rng.uniform(-2, 2) for _ in range(FEATURES)]
        y = 1.5 * x[0] - 2.0 * x[1] + x[2] * x[3] + 0.5 * abs(x[4]) + rng.gauss(0, 0.1)
        lines.append(",".join(f"{v:.4f}" for v in [*x, y]))
    out = Path(__file__).resolve().parent / "data" / "train.csv"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
