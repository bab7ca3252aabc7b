import subprocess
import sys


def test_import_subsetml_does_not_import_torch():
    code = (
        "import sys, subsetml, subsetml.selection, subsetml.model_selection\n"
        "import subsetml.utils.estimator_checks, subsetml.minibatch\n"
        "import subsetml.sampling\n"
        "names = ('torch', 'skorch', 'optuna', 'skopt')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"imported eagerly: {out.stdout.strip()}"


def test_version_is_exposed():
    import subsetml

    assert isinstance(subsetml.__version__, str) and subsetml.__version__
