"""Write examples/data/reviews.csv: short synthetic product reviews labelled by sentiment.

The bundled text set for the BERT walkthrough and the tests. It is generated, not
collected: a seeded template grammar, so the file is small (400 rows), free of
licence questions, and byte-identical every time this script runs:

    python examples/data/make_reviews.py            # rewrites examples/data/reviews.csv
    python examples/data/make_reviews.py out.csv    # or anywhere else

Columns: ``text`` and ``label`` (``positive`` / ``negative``). The sentiment is carried
by the adjectives and verbs, sometimes negated ("not great" is negative), with
neutral filler around them, so a model has to look at the words that matter.
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

ROWS = 400
SEED = 14

PRODUCTS = [
    "blender", "kettle", "phone case", "backpack", "desk lamp", "keyboard", "coffee grinder",
    "rain jacket", "headphones", "water bottle", "toaster", "running shoes", "monitor stand",
    "tent", "office chair", "charger",
]  # fmt: skip
GOOD = [
    "great", "excellent", "sturdy", "reliable", "comfortable", "quiet", "fantastic",
    "well made", "solid", "lovely",
]  # fmt: skip
BAD = [
    "terrible", "flimsy", "broken", "noisy", "useless", "awful", "cheap", "disappointing",
    "faulty", "uncomfortable",
]  # fmt: skip
GOOD_VERBS = ["love", "recommend", "enjoy", "trust"]
BAD_VERBS = ["regret buying", "returned", "hate", "gave up on"]
FILLER = [
    "It arrived on Tuesday.", "The box was plain.", "I use it every day.",
    "My sister has the same one.", "Delivery took a week.", "It comes in three colours.",
    "I bought it for the kitchen.", "The manual is short.",
]  # fmt: skip


def _sentence(rng: random.Random, positive: bool) -> str:
    product = rng.choice(PRODUCTS)
    negate = rng.random() < 0.2
    # A negated adjective flips its polarity: "not great" reads as negative.
    adjectives = (BAD if negate else GOOD) if positive else (GOOD if negate else BAD)
    adjective = rng.choice(adjectives)
    verbs = GOOD_VERBS if positive else BAD_VERBS
    core = rng.choice(
        [
            f"The {product} is {'not ' if negate else ''}{adjective}.",
            f"This {product} feels {'not at all ' if negate else ''}{adjective}.",
            f"I {rng.choice(verbs)} this {product}.",
            f"{'Not ' + adjective if negate else adjective.capitalize()} {product}, "
            f"I {rng.choice(verbs)} it.",
        ]
    )
    parts = [core]
    if rng.random() < 0.6:
        parts.insert(rng.randrange(2), rng.choice(FILLER))
    return " ".join(parts)


def rows(n: int = ROWS, seed: int = SEED) -> list[tuple[str, str]]:
    """(text, label) pairs, half positive, in a seeded order."""
    rng = random.Random(seed)
    labels = ["positive", "negative"] * (n // 2) + ["positive"] * (n % 2)
    rng.shuffle(labels)
    return [(_sentence(rng, label == "positive"), label) for label in labels]


def write(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("reviews.csv")
    write(target)
    print(f"wrote {target} ({ROWS} rows)")
