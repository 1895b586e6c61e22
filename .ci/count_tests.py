"""Fail unless a pytest junit report shows at least N tests that ran (not skipped).

``make test`` runs this after pytest so a collection mistake (no tests found, a
conftest that deselects everything) cannot pass as a green run.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def ran(report: str) -> tuple[int, int]:
    """(tests that ran, tests skipped) summed over every testsuite in the report."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - skipped, skipped


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: count_tests.py JUNIT_XML MIN_TESTS", file=sys.stderr)
        return 2
    try:
        count, skipped = ran(argv[1])
    except (OSError, ET.ParseError) as error:
        print(f"count_tests: cannot read {argv[1]}: {error}", file=sys.stderr)
        return 1
    minimum = int(argv[2])
    if count < minimum:
        print(f"count_tests: only {count} tests ran (at least {minimum} expected)", file=sys.stderr)
        return 1
    print(f"count_tests: {count} tests ran, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
