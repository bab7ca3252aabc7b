"""Utilities: conformance checks for selectors (:mod:`subsetml.utils.estimator_checks`)."""
