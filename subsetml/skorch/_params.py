"""Nested parameters of the nets' own estimator-valued options.

A net's ``selector`` (a :class:`~subsetml.selection.BaseSelector`) or
``policies`` (a :class:`~subsetml.minibatch.BasePolicy`) is an estimator, so
scikit-learn's ``get_params(deep=True)`` lists its parameters as
``selector__lam``. skorch's ``set_params`` stores any ``a__b`` key as an
attribute of the net for a module, criterion or optimizer to read, and its
next ``initialize`` refuses one it does not know. These keys go to the
nested object instead, as ``BaseEstimator.set_params`` does, so a search can
tune them.
"""

from __future__ import annotations

__all__ = ["set_params_nested"]


def set_params_nested(net, set_params, params, names):
    """Set ``params`` on ``net``: keys ``<name>__<key>`` for ``name`` in
    ``names`` on the object ``getattr(net, name)``, after every other key
    through ``set_params`` (skorch's), so that ``set_params(selector=s,
    selector__lam=0.1)`` sets ``lam`` on the new ``s``.

    Raises a ``ValueError`` for such a key when the object has no
    ``set_params`` (a name such as ``"craig"``, a list of policies).
    """
    nested, rest = {}, {}
    for key, value in params.items():
        name, sep, sub = key.partition("__")
        if sep and name in names:
            nested.setdefault(name, {})[sub] = value
        else:
            rest[key] = value
    set_params(**rest)
    for name, sub_params in nested.items():
        target = getattr(net, name)
        if not hasattr(target, "set_params"):
            keys = ", ".join(f"{name}__{key}" for key in sub_params)
            raise ValueError(
                f"Cannot set {keys}: {name} is {target!r}, which has no "
                f"parameters of its own. Pass an object instead, e.g. "
                f"{name}=<its class>(...), or set {name} itself."
            )
        target.set_params(**sub_params)
    return net
