"""Energy and CO2 of a search, measured by codecarbon (optional).

``SubsetSearchCV(carbon=...)`` starts a codecarbon tracker when ``fit``
begins and stops it after the refit; the compute report then holds the
energy the machine used (kWh), its CO2 equivalent (kg) and the same scaled to
the full-data search the report estimates. codecarbon is an optional
dependency (``pip install "subsetml[energy]"``); an offline tracker needs no
network, only the country whose electricity mix converts kWh to CO2.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import warnings
from contextlib import contextmanager

from subsetml._validation import external_stacklevel

__all__ = ["check_carbon", "tracking"]


def check_carbon(carbon):
    """Refuse a ``carbon`` parameter that is no country code, dict or callable,
    and a country code codecarbon does not know (when it is installed; it
    would otherwise fall back to the world's average mix, silently)."""
    if carbon is None or callable(carbon):
        return
    if isinstance(carbon, dict):
        code = carbon.get("country_iso_code")
        if isinstance(code, str):
            _check_country(code)
        return
    if isinstance(carbon, str) and re.fullmatch(r"[A-Za-z]{3}", carbon):
        _check_country(carbon)
        return
    raise ValueError(
        "carbon must be None, a three-letter ISO country code (such as 'FRA' "
        "or 'USA'), a dict of codecarbon OfflineEmissionsTracker arguments, or "
        f"a callable returning a tracker; got {carbon!r}."
    )


def _check_country(code):
    try:
        from codecarbon.input import DataSource

        known = DataSource().get_global_energy_mix_data()
    except Exception:  # not installed, or another layout: fit will tell
        return
    if code.upper() not in known:
        raise ValueError(
            f"codecarbon has no electricity mix for the country code "
            f"{code!r}; it would use the world's average. Give a three-letter "
            "ISO code it knows, such as 'FRA', 'DEU' or 'USA'."
        )


def _make_tracker(carbon):
    if callable(carbon):
        return carbon()
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        raise ImportError(
            "carbon= measures energy with codecarbon, which is not installed: "
            "pip install 'subsetml[energy]' (or pip install codecarbon)."
        ) from None
    options = (
        {"country_iso_code": carbon.upper()}
        if isinstance(carbon, str)
        else dict(carbon)
    )
    # Write nothing (codecarbon's default is an emissions.csv in the current
    # folder): codecarbon 3 names outputs output_methods, 2 save_to_file.
    from codecarbon.emissions_tracker import BaseEmissionsTracker

    if "output_methods" in inspect.signature(BaseEmissionsTracker).parameters:
        options.setdefault("output_methods", [])
    else:
        options.setdefault("save_to_file", False)
    options.setdefault("log_level", "error")
    options.setdefault("tracking_mode", "process")
    # codecarbon logs its first lines before it applies log_level: quiet its
    # logger to that level first (it sets the same level itself right after).
    level = options["log_level"]
    if isinstance(level, str):
        logging.getLogger("codecarbon").setLevel(level.upper())
    return OfflineEmissionsTracker(**options)


@contextmanager
def tracking(carbon):
    """Measure the block; yields a dict filled with ``energy_kwh`` and
    ``co2_kg`` when it ends (empty when ``carbon`` is None)."""
    result = {}
    if carbon is None:
        yield result
        return
    tracker = _make_tracker(carbon)
    tracker.start()
    try:
        yield result
    finally:
        # A tracker that fails to stop costs the figures, never the fit (nor
        # hides the fit's own error).
        try:
            co2 = tracker.stop()
        except Exception as exc:
            warnings.warn(
                f"codecarbon's tracker failed to stop ({exc!r}): the compute "
                "report has no energy or CO2 figures.",
                RuntimeWarning,
                stacklevel=external_stacklevel(),
            )
            co2 = None
        data = getattr(tracker, "final_emissions_data", None)
        energy = getattr(data, "energy_consumed", None)
        result["co2_kg"] = _number(co2)
        result["energy_kwh"] = _number(energy)


def _number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def energy_report(measured, report):
    """The compute report's energy entries, from ``tracking``'s result.

    The full-data search's energy is scaled from this search's by the
    report's time estimate (power taken as equal): a rough figure, labelled
    as such.
    """
    if not measured:
        return {}
    out = {
        "energy_kwh": measured.get("energy_kwh"),
        "co2_kg": measured.get("co2_kg"),
        "full_search_energy_estimate_kwh": None,
        "full_search_co2_estimate_kg": None,
    }
    est = report.get("full_search_estimate_s")
    spent = report.get("search_s", 0.0) + (report.get("refit_s") or 0.0)
    if est is not None and spent > 0:
        # The full-data search would also refit: add the refit to both.
        scale = (est + (report.get("refit_s") or 0.0)) / spent
        if out["energy_kwh"] is not None:
            out["full_search_energy_estimate_kwh"] = out["energy_kwh"] * scale
        if out["co2_kg"] is not None:
            out["full_search_co2_estimate_kg"] = out["co2_kg"] * scale
    out["energy_basis"] = (
        "codecarbon, measured from the start of fit to the end of the refit; "
        "the full-search figures scale it by the time estimate (same power)"
    )
    return out
