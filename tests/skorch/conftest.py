"""Fixtures of the skorch tests."""

import pytest


@pytest.fixture(autouse=True)
def _torch_seeded():
    """Each test starts from torch's seed 0. A net's weights and shuffling
    follow torch's global generator (as in skorch; ``random_state`` seeds
    only the selection), so without this a test's nets depended on which
    tests its xdist worker had run before: one test's AdaBoost weights
    stayed at 1 in one order and not in another."""
    import torch

    torch.manual_seed(0)
