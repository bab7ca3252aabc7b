"""Shared set-up of the skorch tests."""

import pytest

from subsetml.skorch import _adaselection


@pytest.fixture(autouse=True)
def _no_timed_stale_switch(monkeypatch):
    """``stale_epochs="auto"`` decides from measured step times; pin it off.

    A test that counts scored rows would otherwise depend on how fast this
    machine runs the step. The tests of the switch itself set the threshold.
    """
    monkeypatch.setattr(_adaselection, "_AUTO_STALE_BELOW", 0.0)
