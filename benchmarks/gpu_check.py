"""GPU check: the CUDA tests and a few timings, in one short run.

Run it (through ``benchmarks/gpu_check.sh``) whenever a machine with a GPU is
at hand. It writes ``gpu.json`` into the results folder
(``$SUBSETML_RESULTS`` or ``benchmarks/results``) with:

* ``tests``: the outcome of the tests that need CUDA (``pytest -k cuda``);
* ``lastlayer_pass``: :func:`~subsetml.skorch.lastlayer_from_net` on
  MNIST-1D rows against a raw forward of the same module, on the device;
* ``selection``: each selector on that view, per class (3,200 rows a class
  at full size): ``seconds`` with the view on the device (CRAIG and
  GRAD-MATCH run their kernels there, :mod:`subsetml.skorch._kernels`) and
  ``host_seconds`` with the same view on the host (numpy kernels);
* ``adaptive_fit`` (MLP) and ``adaptive_fit_cnn``: a
  :class:`~subsetml.skorch.SubsetNeuralNetClassifier` fit (5 % subsets),
  its selection share and epoch times;
* ``adaselection_step``: an AdaSelection epoch at r = 0.2 against a plain
  skorch epoch of the same CNN, next to the cost model (1 + 3r) / 3;
* ``adaselection_rates``: the same ratio for the 1-D CNN of
  ``bench_adaselection.py`` at 32 and 128 channels and r = 0.1-0.5 (issue
  18: on small models a selecting step should not cost more than a plain
  one), with batches of 128 rows and (``adaselection_rates_b1024``) 1,024;
* ``selection_by_rows``: CRAIG and GRAD-MATCH with the view on the device
  against the host, for ground sets of 2,000 rows up to all of them.

Each section is saved as soon as it ends, and a section that fails records
its error rather than ending the run.

Without CUDA it runs on the CPU (``--device cpu``), which is how its plumbing
is tested; ``--quick`` shrinks everything to seconds.

Usage::

    python benchmarks/gpu_check.py                # CUDA when available
    python benchmarks/gpu_check.py --quick --device cpu
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_results

ROOT = Path(__file__).resolve().parents[1]


def _modules():
    from bench_nn_search import _modules

    return _modules()


def _best(f, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        _sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def _sync():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run_tests(device):
    if device != "cuda":
        return {"skipped": "no CUDA device"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
         "cuda", "tests/skorch"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    return {"returncode": proc.returncode, "summary": tail[0],
            "seconds": time.perf_counter() - t0}  # fmt: skip


def _net_kwargs(device):
    import torch

    return dict(
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=128,
        train_split=None,
        verbose=0,
        device=device,
    )


def _epoch(net):
    """Median epoch time, the first (warm-up, compilation) left out."""
    durs = list(net.history[:, "dur"])
    return float(np.median(durs[1:] or durs))


def selection_timings(device, X, y):
    import torch
    from skorch import NeuralNetClassifier

    from subsetml.skorch import lastlayer_from_net

    rows = len(X)
    mods = _modules()
    kw = _net_kwargs(device)
    out = {}
    torch.manual_seed(0)
    net = NeuralNetClassifier(mods["mlp"], max_epochs=1, **kw).fit(X, y)
    pass_s = _best(lambda: lastlayer_from_net(net, X, y))
    Xt = torch.as_tensor(X, device=device)

    def raw():
        with torch.no_grad():
            net.module_.eval()
            net.module_(Xt)

    def raw_with_transfer():  # rows from the host, outputs back to it
        with torch.no_grad():
            net.module_.eval()
            net.module_(torch.as_tensor(X).to(device)).cpu().numpy()

    raw_s = _best(raw)
    out["lastlayer_pass"] = {
        "rows": rows,
        "seconds": pass_s,
        "raw_forward_seconds": raw_s,
        "ratio": pass_s / raw_s,
        "raw_forward_with_transfer_seconds": _best(raw_with_transfer),
    }

    view = lastlayer_from_net(net, X, y)
    k = max(10, int(0.05 * rows))
    host = copy.copy(view)
    host.device = None  # the same rows, selected with the numpy kernels
    out["selection"] = {}
    # The best of two calls: the first on a device pays one-off library
    # start-up (cuBLAS, cuSOLVER handles) that a fit pays once.
    for name in ("random", "craig", "gradmatch", "glister"):
        out["selection"][name] = {"budget": k, **_device_and_host(name, view, host, k)}
    # Device against host kernels by ground-set size (rows over 10 classes),
    # to place MIN_ACCELERATED_ROWS and MIN_ACCELERATED_MATVEC_ENTRIES.
    out["selection_by_rows"] = {}
    for n in sorted({min(rows, m) for m in (2000, 4000, 8000, 16000, rows)}):
        part = view.take(np.arange(n))
        part_host = copy.copy(part)
        part_host.device = None
        out["selection_by_rows"][str(n)] = {
            name: _device_and_host(name, part, part_host, max(10, int(0.05 * n)))
            for name in ("craig", "gradmatch")
        }
    return out


def _device_and_host(name, view, host, k):
    from subsetml.selection import make_selector

    sel = make_selector(name, random_state=0)
    return {
        "seconds": _best(lambda: sel.select(view, k), repeat=2),
        "host_seconds": _best(lambda: sel.select(host, k), repeat=2),
    }


def adaptive_fit(device, X, y, epochs, model="mlp"):
    import torch

    from subsetml.skorch import SubsetNeuralNetClassifier

    mods = _modules()
    kw = _net_kwargs(device)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    ada = SubsetNeuralNetClassifier(
        mods[model], max_epochs=epochs, selector="gradmatch", subset_size=0.05,
        select_every=1, warm_up=0.2, random_state=0, **kw,
    ).fit(X, y)  # fmt: skip
    _sync()
    total = time.perf_counter() - t0
    sub = [e["dur"] for e in ada.history if e["subset_phase"] == "subset"]
    return {
        "seconds": total, "selection_seconds": ada.selection_time_,
        "selection_share": ada.selection_time_ / total,
        "n_selections": ada.n_selections_,
        "subset_epoch_seconds": float(np.median(sub)) if sub else None,
    }  # fmt: skip


def _ada_epochs(module, X, y, rates, epochs, device, **module_kw):
    import torch
    from skorch import NeuralNetClassifier

    from subsetml.skorch import AdaSelectionClassifier

    kw = {**_net_kwargs(device), **module_kw}
    torch.manual_seed(0)
    plain = NeuralNetClassifier(module, max_epochs=epochs, **kw)
    full_epoch = _epoch(plain.fit(X, y))
    rows = []
    for r in rates:
        torch.manual_seed(0)
        ada = AdaSelectionClassifier(
            module, sampling_rate=r, max_epochs=epochs, warmup_epochs=0, **kw,
        ).fit(X, y)  # fmt: skip
        ada_epoch = _epoch(ada)
        rows.append({
            "sampling_rate": r, "plain_epoch_seconds": full_epoch,
            "adaselection_epoch_seconds": ada_epoch,
            "ratio": ada_epoch / full_epoch, "cost_model": (1 + 3 * r) / 3,
        })  # fmt: skip
    return rows


def adaselection_step(device, X, y, epochs):
    return _ada_epochs(_modules()["cnn"], X, y, (0.2,), epochs, device)[0]


def adaselection_rates(device, X, y, epochs, channels=(32, 128), batch_size=128):
    from bench_adaselection import CNN1D

    return {
        str(c): _ada_epochs(
            CNN1D,
            X,
            y,
            (0.1, 0.2, 0.3, 0.5),
            epochs,
            device,
            module__channels=c,
            batch_size=batch_size,
        )  # fmt: skip
        for c in channels
    }


def _section(record, key, f, *args, save, merge=False, wanted=()):
    """Run one part of the check; ``merge`` spreads its dict into the record.
    With ``wanted`` non-empty, only the sections it names run."""
    if wanted and key not in wanted:
        return
    t0 = time.perf_counter()
    print(f"{key} ...", flush=True)
    try:
        value = f(*args)
    except Exception as exc:  # one broken section must not lose the others
        value = {"error": f"{type(exc).__name__}: {exc}"}
    if merge and "error" not in value:
        record.update(value)
    else:
        record[key] = value
    print(f"{key}: {time.perf_counter() - t0:.1f} s", flush=True)
    save()


def _table(header, rows, fmt):
    """A Markdown or reStructuredText (``list-table``) table."""
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def report(path, fmt="md"):
    """Tables of one ``gpu_check`` record: selection on the device against
    the host, each selection against a subset epoch, AdaSelection's epoch
    against a plain one."""
    import json

    r = json.loads(Path(path).read_text())
    m = r["machine"]
    out = [
        f"``{Path(path).name}``: {r.get('gpu') or r['device']}, torch {r['torch']}, "
        f"Python {m['python']}, {m['cpu_count']} cores, run {m['date'][:10]}. "
        f"CUDA tests: {r.get('tests', {}).get('summary', 'not run')}.",
        "",
    ]
    ll = r.get("lastlayer_pass")
    if ll:
        with_transfer = ll.get("raw_forward_with_transfer_seconds", float("nan"))
        out += [
            f"Last-layer pass over {ll['rows']:,} rows: {ll['seconds'] * 1e3:.1f} "
            f"ms; a raw forward of the module on rows already on the device "
            f"{ll['raw_forward_seconds'] * 1e3:.2f} ms, with the rows sent and "
            f"the outputs fetched {with_transfer * 1e3:.2f} ms.",
            "",
        ]
    by_rows = r.get("selection_by_rows", {})
    header = ["rows (10 classes)", "CRAIG device", "CRAIG host", "GRAD-MATCH device",
              "GRAD-MATCH host"]  # fmt: skip
    rows = [
        [f"{int(n):,}"]
        + [
            f"{d[name][key]:.3f} s"
            for name in ("craig", "gradmatch")
            for key in ("seconds", "host_seconds")
        ]
        for n, d in by_rows.items()
    ]
    if rows:
        out += ["Selection at 5 %, best of two calls:", "", _table(header, rows, fmt)]
    header = ["model", "selections", "seconds each", "subset epoch",
              "selection / subset epoch", "share of fit"]  # fmt: skip
    rows = []
    for key, model in (("adaptive_fit", "MLP"), ("adaptive_fit_cnn", "CNN")):
        fit = r.get(key)
        if not fit or "error" in fit or not fit.get("subset_epoch_seconds"):
            continue
        each = fit["selection_seconds"] / fit["n_selections"]
        rows.append([
            model, str(fit["n_selections"]), f"{each:.3f}",
            f"{fit['subset_epoch_seconds']:.3f}",
            f"{each / fit['subset_epoch_seconds']:.2f}",
            f"{fit['selection_share']:.0%}",
        ])  # fmt: skip
    if rows:
        out += ["GRAD-MATCH inside a fit (5 % subsets, re-selected every epoch):",
                "", _table(header, rows, fmt)]  # fmt: skip
    header = ["batch", "channels", "r", "plain epoch", "ratio", "cost model"]
    rows = []
    for key, batch in (("adaselection_rates", 128), ("adaselection_rates_b1024", 1024)):
        section = r.get(key) or {}
        if "error" in section:  # the section failed: its message only
            continue
        for channels, sweep in section.items():
            rows += [
                [
                    str(batch),
                    channels,
                    f"{x['sampling_rate']:g}",
                    f"{x['plain_epoch_seconds']:.3f} s",
                    f"{x['ratio']:.2f}",
                    f"{x['cost_model']:.2f}",
                ]  # fmt: skip
                for x in sweep
            ]
    if rows:
        out += ["AdaSelection's epoch over a plain skorch epoch (1-D CNN):", "",
                _table(header, rows, fmt)]  # fmt: skip
    return "\n".join(out)


#: The parts of the check, in the order they run (``--sections``).
SECTIONS = (
    "tests",
    "selection",
    "adaptive_fit",
    "adaptive_fit_cnn",
    "adaselection_step",
    "adaselection_rates",
    "adaselection_rates_b1024",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes")
    parser.add_argument(
        "--report", metavar="JSON", help="print the tables of a record and stop"
    )
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, metavar="NAME",
        help="run only these sections: " + ", ".join(SECTIONS),
    )  # fmt: skip
    parser.add_argument("--output", help="results name (default: gpu)")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report))
        return None
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    rows, epochs = (2000, 2) if args.quick else (32000, 6)
    t0 = time.perf_counter()
    record = {
        "command": "python benchmarks/gpu_check.py " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None,
        "torch": torch.__version__,
    }
    # A run of some sections only never overwrites the whole check's record.
    default = "gpu_sections" if args.sections else "gpu"
    name = args.output or ("gpu_quick" if args.quick else default)
    if device != "cuda":
        name += "_cpu"
    wanted = set(args.sections or ())

    def save():
        record["seconds"] = time.perf_counter() - t0
        return write_results(name, record)

    from subsetml.datasets import make_mnist1d

    X, y = make_mnist1d(rows, random_state=0, return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.int64)
    _section(record, "tests", run_tests, device, save=save, wanted=wanted)
    _section(
        record,
        "selection",
        selection_timings,
        device,
        X,
        y,
        save=save,
        wanted=wanted,
        merge=True,
    )
    _section(
        record,
        "adaptive_fit",
        adaptive_fit,
        device,
        X,
        y,
        epochs,
        save=save,
        wanted=wanted,
    )
    _section(
        record, "adaptive_fit_cnn", adaptive_fit, device, X, y, epochs, "cnn",
        save=save, wanted=wanted,
    )  # fmt: skip
    _section(
        record,
        "adaselection_step",
        adaselection_step,
        device,
        X,
        y,
        epochs,
        save=save,
        wanted=wanted,
    )
    rate_epochs = 2 if args.quick else 3
    _section(
        record, "adaselection_rates", adaselection_rates, device, X, y, rate_epochs,
        save=save, wanted=wanted,
    )  # fmt: skip
    # Larger batches: fewer, bigger steps, where a GPU's launch latency
    # weighs less against the back-propagation AdaSelection saves.
    _section(
        record, "adaselection_rates_b1024", adaselection_rates, device, X, y,
        rate_epochs + 2, (32, 128), 1024, save=save, wanted=wanted,
    )  # fmt: skip
    path = save()
    print(f"wrote {path} ({record['seconds']:.0f} s on {device})")
    return record


if __name__ == "__main__":
    main()
