"""The ``subsetml`` command line (also ``python -m subsetml``)."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap


def _fraction_or_count(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in (0, 1] or a row count, got {text!r}"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a fraction in (0, 1] or a positive row count, got {text!r}"
        )
    if value >= 1 and value == int(value) and "." not in text:
        return int(value)
    if value > 1:
        raise argparse.ArgumentTypeError(
            f"a fraction must lie in (0, 1], got {text!r}; write a row count "
            "without a decimal point"
        )
    return value


def _int_at_least(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    return parse


def _selector_list(text):
    from subsetml._search_demo import SELECTORS

    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SELECTORS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SELECTORS)}; got {text!r}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a selector is named twice in {text!r}")
    return names


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive count, or -1 for all")
    return value


def _add_search_demo(sub):
    from subsetml._search_demo import DATASETS, ESTIMATORS, SELECTORS

    demo = sub.add_parser(
        "demo",
        help="full-data hyper-parameter search vs 5 %% subset searches (table + plot)",
        description=textwrap.dedent(
            """\
            Tune one model with a full-data Optuna TPE search, where every trial
            trains on all rows of its CV fold, and with subset searches
            (SubsetSearchCV), where every trial trains on a subset of each
            fold (5 % unless --subset-size says otherwise), chosen by a
            selector. All searches use the same split, trials, folds and
            seed; the best configuration of each is refit on all training rows
            and scored on held-out rows.

            Prints a table of time, speed-up and test accuracy, and writes
            results.json, table.txt and tradeoff.png (the plot needs
            matplotlib) to the output folder. Runs offline: the data are
            generated or bundled. With the defaults it takes a few minutes at
            most on two CPU cores."""
        ),
        epilog=(
            "examples:\n"
            "  subsetml demo\n"
            "  subsetml demo --dataset digits --estimator logreg --n-iter 15\n"
            "  subsetml demo --dataset bikeshare\n"
            "  subsetml demo --selectors random,gradmatch --subset-size 0.1 "
            "--output out/"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(subparser=demo)
    demo.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="classification data: MNIST-1D generated locally (needs the "
        "mnist1d package), or scikit-learn's bundled digits or breast_cancer; "
        "or bikeshare, the bundled UCI Bike Sharing hours, a regression scored "
        "by R^2 (default: mnist1d if installed, else digits)",
    )
    demo.add_argument(
        "--n-samples",
        type=_int_at_least(50),
        default=5000,
        metavar="N",
        help="rows to generate for mnist1d (default: 5000; ignored otherwise)",
    )
    demo.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        default=None,
        help="svc: RBF SVM tuned on C and gamma; logreg: logistic regression "
        "tuned on C; svr (for bikeshare): RBF support vector regression tuned "
        "on C, gamma and epsilon (default: svr for bikeshare, else svc)",
    )
    demo.add_argument(
        "--subset-size",
        type=_fraction_or_count,
        default=0.05,
        metavar="SIZE",
        help="rows per trial of the subset searches: a fraction in (0, 1] of "
        "each training fold or a row count (default: 0.05)",
    )
    demo.add_argument(
        "--n-iter",
        type=_int_at_least(1),
        default=25,
        metavar="N",
        help="trials of every search (default: 25)",
    )
    demo.add_argument(
        "--selectors",
        type=_selector_list,
        default=list(SELECTORS),
        metavar="LIST",
        help=f"comma-separated selectors to compare with the full-data search "
        f"(default: {','.join(SELECTORS)})",
    )
    demo.add_argument(
        "--cv",
        type=_int_at_least(2),
        default=3,
        metavar="K",
        help="cross-validation folds of every search (default: 3)",
    )
    demo.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="N",
        help="parallel fits within a search, -1 for all cores (default: 1)",
    )
    demo.add_argument(
        "--seed",
        # numpy's seeds: a larger one failed inside scikit-learn (a review).
        type=_int_at_least(0, 2**32 - 1),
        default=0,
        help="seed of the data, the split and every search (default: 0)",
    )
    demo.add_argument(
        "--output",
        default="subsetml-demo",
        metavar="DIR",
        help="folder for results.json, table.txt and tradeoff.png (created if "
        "needed; default: subsetml-demo)",
    )
    demo.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or progress lines; print only the table, its "
        "notes and the files written",
    )
    demo.add_argument(
        "--carbon",
        default=None,
        metavar="COUNTRY",
        help="measure each search's energy and CO2 with codecarbon (pip install "
        "'subsetml[energy]'), for the electricity mix of this three-letter ISO "
        "country code, e.g. FRA or USA (default: not measured)",
    )
    return demo


def _add_select_demo(sub):
    demo = sub.add_parser(
        "select-demo",
        help="compare subset selectors training one model (no search)",
        description=(
            "Train a logistic regression on a small subset chosen by each "
            "selector (random, CRAIG, GLISTER, GRAD-MATCH) and on all rows; print "
            "selection time, training time and test accuracy."
        ),
    )
    demo.set_defaults(subparser=demo)
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
        "--seeds", type=_int_at_least(1), default=3, help="number of seeds (default: 3)"
    )
    return demo


BENCHMARKS = {
    "selection": "selectors' time, memory and quality on synthetic last layers",
    "search": "subset searches vs full-data and anchor searches (sklearn models)",
    "nn_search": "the paper's search on skorch nets (MNIST-1D)",
    "adaselection": "AdaSelection vs full training and its seven policies",
}


def _benchmarks_dir():
    """``benchmarks/`` of the source checkout this package runs from, or None."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    return root if (root / "_common.py").exists() else None


def _add_bench(sub):
    bench = sub.add_parser(
        "bench",
        help="run a benchmark suite (from a source checkout)",
        description=(
            "Run benchmarks/bench_NAME.py, which writes its results files\n"
            "into --results (./subsetml-bench by default: the committed\n"
            "benchmarks/results are only rewritten when you name that folder;\n"
            "a script's own --output, where it has one, names the file in it).\n"
            "Options after NAME (e.g. --quick for a small version) go to the\n"
            "script; `subsetml bench NAME --help` lists them. The benchmarks\n"
            "live in the source repository, not in the installed package."
        ),
        epilog="suites:\n"
        + "\n".join(f"  {name:<13} {text}" for name, text in BENCHMARKS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.set_defaults(subparser=bench)
    bench.add_argument(
        "--results",
        default="subsetml-bench",
        metavar="DIR",
        help="folder for the results files (default: ./subsetml-bench, created "
        "if needed); pass the checkout's benchmarks/results to update the "
        "committed ones",
    )
    bench.add_argument("name", choices=sorted(BENCHMARKS), metavar="NAME")
    bench.add_argument("script_args", nargs=argparse.REMAINDER, metavar="...")
    return bench


def _run_bench(name, script_args, results="subsetml-bench"):
    import os
    import runpy
    from pathlib import Path

    folder = _benchmarks_dir()
    if folder is None:
        raise ValueError(
            "the benchmarks are not installed with the package; run this from a "
            "source checkout of subsetml (pip install -e .)"
        )
    script = folder / f"bench_{name}.py"
    out = Path(results).resolve()  # created by the script when it writes
    _check_results_folder(out)
    argv, path = sys.argv, list(sys.path)
    env = os.environ.get("SUBSETML_RESULTS")
    os.environ["SUBSETML_RESULTS"] = str(out)
    # The benchmarks' _common reads SUBSETML_RESULTS as it is imported: a
    # fresh one for the run, and the caller's own back after it, which the
    # benchmarks it imported before still use (only popped, a later
    # `import _common` in the caller got a third module).
    before = sys.modules.pop("_common", None)
    # The script's usage line reads "subsetml bench NAME", as it was run.
    sys.argv = [f"subsetml bench {name}", *script_args]
    sys.path.insert(0, str(folder))
    try:
        # Loaded as a module and its main() called with sys.argv[0] set:
        # run as __main__, runpy would put the script's path back in
        # argv[0], and its usage line would name bench_NAME.py.
        script_globals = runpy.run_path(str(script), run_name=f"bench_{name}")
        script_globals["main"](list(script_args))
    except SystemExit as exc:  # the script's own argparse (--help, errors)
        if exc.code not in (0, None):
            raise
    finally:
        sys.argv, sys.path[:] = argv, path
        sys.modules.pop("_common", None)
        if before is not None:
            sys.modules["_common"] = before
        if env is None:
            os.environ.pop("SUBSETML_RESULTS", None)
        else:
            os.environ["SUBSETML_RESULTS"] = env


def _check_results_folder(out):
    """Refuse, before a benchmark runs, a results folder it could not write
    to (it failed with a traceback after all its work, a review), without
    creating it (``--help`` leaves nothing behind)."""
    import os

    if out.exists() and not out.is_dir():
        raise ValueError(f"results {str(out)!r} exists and is not a folder.")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(
            f"cannot create the results folder {str(out)!r}: "
            f"{str(existing)!r} is not a folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write to {str(existing)!r} for the results.")


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
    _add_search_demo(sub)
    _add_select_demo(sub)
    _add_bench(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "demo":
            from subsetml._search_demo import run_search_demo

            run_search_demo(
                args.dataset,
                estimator=args.estimator,
                subset_size=args.subset_size,
                n_iter=args.n_iter,
                selectors=args.selectors,
                cv=args.cv,
                n_samples=args.n_samples,
                seed=args.seed,
                n_jobs=args.n_jobs,
                output=args.output,
                quiet=args.quiet,
                carbon=args.carbon,
            )
        elif args.command == "select-demo":
            from subsetml._demo import run_selection_demo

            run_selection_demo(args.dataset, args.subset_size, args.seeds)
        elif args.command == "bench":
            _run_bench(args.name, args.script_args, args.results)
    except (ValueError, ImportError) as exc:
        # Options that parse but do not fit the data (a subset smaller than
        # the classes, mnist1d missing): a usage error, not a traceback.
        args.subparser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
