"""``python -m aslcheck`` and the ``aslcheck`` console script."""

import sys

from aslcheck.cli import main


def run() -> None:
    """Console-script entry point: the only place that exits."""
    sys.exit(main())


if __name__ == "__main__":
    run()
