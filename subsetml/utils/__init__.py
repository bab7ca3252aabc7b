"""Utilities: conformance checks for selectors (:mod:`.estimator_checks`)."""
