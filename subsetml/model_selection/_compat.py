"""The one module that reaches into scikit-learn's private API.

Everything the search needs from scikit-learn internals is imported here, so a
change in scikit-learn breaks one file, not the package (scikit-optimize broke
for every user when scikit-learn removed a private argument it relied on).

* ``_fit_and_score``: fit one candidate on one split and score it, exactly as
  ``GridSearchCV`` does (error_score, timings, multi-metric scoring).
* ``_insert_error_scores``: fill in error scores once a callable scorer's
  return type is known.
* ``_check_method_params``: make ``fit`` parameters indexable along ``X``.
* :class:`ShownParams`: a candidate's parameters for ``_fit_and_score``'s
  per-fit lines only (they are set on the trial's estimator beforehand).
* scikit-learn 1.9's callbacks (``set_callbacks``): ``CallbackSupportMixin``,
  ``with_callbacks`` and :class:`Tasks`, which do nothing on older releases.

The search also relies on three methods it inherits from ``BaseSearchCV``:
``_get_scorers``, ``_format_results`` and ``_select_best_index``.
"""

import inspect
from contextlib import contextmanager

from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
)
from sklearn.utils.validation import _check_method_params

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - older scikit-learn: no callbacks

    class CallbackSupportMixin:
        """Stands in for scikit-learn 1.9's mixin (no ``set_callbacks``)."""

    def with_callbacks(method):
        return method


__all__ = [
    "CallbackSupportMixin",
    "ShownParams",
    "Tasks",
    "_check_method_params",
    "_fit_and_score",
    "_insert_error_scores",
    "fit_and_score_takes_callbacks",
    "with_callbacks",
]

#: Whether ``_fit_and_score`` takes ``caller`` and ``callback_ctx`` (1.9+).
fit_and_score_takes_callbacks = (
    "callback_ctx" in inspect.signature(_fit_and_score).parameters
)


class ShownParams(dict):
    """A candidate's parameters, shown in ``_fit_and_score``'s per-fit lines
    (``[CV 1/3] END ...C=0.1;``, ``verbose >= 2``) and set on nothing.

    ``_fit_and_score`` sets its ``parameters`` on the estimator it fits, and
    prints them. A trial's estimator already has them, and is often a wrapper
    (a subset trial, a warm rung's fitted model) that does not take them as
    its own: cloned, as ``_fit_and_score`` clones them before
    ``set_params``, these parameters are empty (scikit-learn's
    ``__sklearn_clone__`` protocol), so only the printed line shows them.
    """

    def __sklearn_clone__(self):
        return {}


class Tasks:
    """One task of scikit-learn's callback tree, or nothing.

    scikit-learn 1.9 calls the callbacks set with ``set_callbacks`` at the
    beginning and end of every task of a fit: the fit itself, its search, each
    candidate-and-split evaluation, the refit. A ``Tasks`` wraps such a task's
    context; without callback support (an older scikit-learn) every method
    does nothing, so fit methods call them unconditionally.
    """

    def __init__(self, ctx=None):
        self.ctx = ctx

    @classmethod
    def root(cls, estimator, *, max_subtasks, X=None, y=None, metadata=None):
        """The fit's own task, begun."""
        init = getattr(estimator, "_init_callback_context", None)
        if init is None:
            return cls()
        ctx = init(max_subtasks=max_subtasks)
        ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
        return cls(ctx)

    def sub(self, estimator, name, *, task_id=None, max_subtasks=0, parallel=False):
        """A subtask, begun (``parallel``: its own subtasks need ids)."""
        if self.ctx is None:
            return Tasks()
        ctx = self.ctx.subcontext(
            task_name=name,
            task_id=task_id,
            max_subtasks=max_subtasks,
            sequential_subtasks=not parallel,
        )
        ctx.call_on_fit_task_begin(estimator=estimator)
        return Tasks(ctx)

    def leaf(self, name, task_id):
        """The context of a subtask someone else begins and ends
        (``_fit_and_score``'s ``callback_ctx``), or None."""
        if self.ctx is None:
            return None
        return self.ctx.subcontext(task_name=name, task_id=task_id)

    def end(self, estimator, X=None, y=None, metadata=None):
        if self.ctx is not None:
            self.ctx.call_on_fit_task_end(
                estimator=estimator, X=X, y=y, metadata=metadata
            )

    @contextmanager
    def fitting(self, estimator, name, sub_estimator, X=None, y=None, metadata=None):
        """A subtask that fits ``sub_estimator``, which receives the callbacks
        that propagate (scikit-learn's ``propagate_callback_context``)."""
        if self.ctx is None:
            yield
            return
        ctx = self.ctx.subcontext(task_name=name)
        with ctx.propagate_callback_context(sub_estimator):
            ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
            yield
        ctx.call_on_fit_task_end(estimator=estimator, X=X, y=y, metadata=metadata)
