"""Write the 8x8 handwritten digits as a CSV: a ``label`` column and 64 pixel columns.

The SageMaker MLP walkthrough trains on this file (1797 rows, from scikit-learn's
bundled copy of the UCI digits; nothing is downloaded). Any MNIST-style CSV with a
``label`` column and one column per pixel works the same way.

    python examples/data/make_digits_csv.py digits.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def write(path: Path) -> int:
    """Write the CSV; returns the number of rows."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["label", *(f"px{i}" for i in range(digits.data.shape[1]))])
        for label, row in zip(digits.target, digits.data, strict=True):
            writer.writerow([int(label), *(int(v) for v in row)])
    return len(digits.target)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_digits_csv.py OUT.csv")
    print(f"wrote {sys.argv[1]} ({write(Path(sys.argv[1]))} rows)")
