"""Shared helpers for the benchmark scripts: machine info, JSON output."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

#: Where results files go: ``$SUBSETML_RESULTS`` when set (``subsetml bench``
#: sets it to its ``--results`` folder, so running a suite from an installed
#: checkout never overwrites the committed files by accident), else the
#: repository's ``benchmarks/results``.
RESULTS = Path(
    os.environ.get("SUBSETML_RESULTS") or Path(__file__).resolve().parent / "results"
)


def machine_info():
    import numpy
    import scipy
    import sklearn

    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads")}
            for p in threadpool_info()
        ]
    except Exception:  # pragma: no cover - informative only
        pass
    try:
        import subsetml

        info["subsetml"] = subsetml.__version__
    except Exception:  # pragma: no cover
        pass
    return info


def write_results(name, payload):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n")
    return path


def write_run(benchmark, doc, args, records):
    """Write ``records`` of a benchmark run with its command line ``args``
    (all but ``output``, which names the file) and the machine, to
    ``args.output``; the docstring's first paragraph describes it."""
    payload = {
        "benchmark": benchmark,
        "description": doc.split("\n\n")[0],
        "machine": machine_info(),
        "config": {k: v for k, v in vars(args).items() if k != "output"},
        "records": records,
    }
    return write_results(args.output, payload)
