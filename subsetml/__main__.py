"""The ``subsetml`` command line (also ``python -m subsetml``)."""

from __future__ import annotations

import argparse
import sys


def _fraction_or_count(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in (0, 1] or a row count, got {text!r}"
        ) from None
    if value >= 1 and value == int(value) and "." not in text:
        return int(value)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"a fraction must lie in (0, 1], got {text!r}; write a row count "
            "without a decimal point"
        )
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="subsetml",
        description=(
            "Cheaper hyper-parameter search and training on well-chosen subsets "
            "of the data."
        ),
    )
    from subsetml import __version__

    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="compare subset selectors on a bundled dataset and print a table",
        description=(
            "Train a logistic regression on a small subset chosen by each "
            "selector (random, CRAIG, GLISTER, GRAD-MATCH) and on all rows; print "
            "selection time, training time and test accuracy."
        ),
    )
    demo.add_argument(
        "--dataset",
        default="digits",
        choices=["digits", "breast_cancer", "wine"],
        help="bundled scikit-learn dataset (default: digits)",
    )
    demo.add_argument(
        "--subset-size",
        type=_fraction_or_count,
        default=0.1,
        help="fraction in (0, 1] or row count of the training rows (default: 0.1)",
    )
    demo.add_argument(
        "--seeds", type=int, default=3, help="number of seeds (default: 3)"
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        if args.seeds < 1:
            parser.error("--seeds must be at least 1")
        from subsetml._demo import run_selection_demo

        try:
            run_selection_demo(args.dataset, args.subset_size, args.seeds)
        except ValueError as exc:
            print(f"subsetml demo: error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
