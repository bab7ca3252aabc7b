"""What each training row "pulls" on a model: the last-layer view.

Deep models are linear in their last layer: ``z = W h + b``.  For
cross-entropy the gradient of one row's loss with respect to ``b`` is
``p - onehot(y)`` and with respect to ``W`` it is that vector times ``h``; for
squared error the residual ``y_hat - y`` takes the place of ``p - onehot(y)``.
Both follow in closed form from one forward pass, so selectors never need a
backward pass, torch or scikit-learn: they only see a :class:`LastLayer`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    check_random_state,
    column_or_1d,
)

from subsetml._adapters import adapter_for
from subsetml._gradops import DenseGradients, FactoredGradients, power_of_two_scale
from subsetml._validation import check_label_types, check_number, is_resampler

__all__ = ["LastLayer", "GRADIENT_MODES"]

#: Most distinct whole numbers that ``task="auto"`` reads as classes; more
#: are likely a regression target (counts), and are refused with advice.
MAX_GUESSED_CLASSES = 30

#: Names accepted by :meth:`LastLayer.gradients`.
GRADIENT_MODES = ("bias", "full", "features")

_TASKS = ("classification", "regression")


def _as_float(a, what="features"):
    if sparse.issparse(a):
        # np.asarray wraps a sparse matrix in a 0-d object array, which then
        # read as "not numeric" (a review).
        raise ValueError(
            f"{what} must be a dense array, got a sparse {type(a).__name__}; "
            "densify it (.toarray()), or build the view with "
            "LastLayer.from_inputs, which takes sparse input."
        )
    a = np.asarray(a)
    if a.dtype in (np.float32, np.float64):
        return a
    if a.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {what} are complex; a LastLayer "
            "needs real numbers."
        )
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        sample = a.ravel()[:1].tolist()
        raise ValueError(
            f"{what} must be numeric; they hold values such as {sample} "
            f"(dtype {a.dtype})."
        ) from None


def _check_finite(a, what):
    # A sum is finite only if every entry is (barring overflow, which the
    # exact check then clears): one reduction instead of a boolean array.
    if a.dtype.kind in "fc" and np.isfinite(np.sum(a)):
        return
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(
            f"{what} contain {bad} NaN or infinite value(s); a LastLayer needs "
            "finite numbers."
        )


#: How far from the median, in robust standard deviations, a feature's
#: values and a row's length may go in the one-shot view
#: (:meth:`LastLayer.from_inputs`, Notes).
_TAME = 3.0


def _tame(X):
    """``X`` standardised, with extreme values tamed (:meth:`LastLayer.from_inputs`,
    Notes): each column with a non-zero interquartile range clipped to its
    median plus or minus ``_TAME`` robust standard deviations (IQR / 1.349);
    after standardising, those columns of a row whose length over them
    exceeds the rows' median length by more than ``_TAME`` robust deviations
    (1.4826 x the median absolute deviation, or the standard deviation where
    that is 0) shrunk to the median length. Columns without a spread or with
    two values (binary, one-hot) are only standardised."""
    from sklearn.preprocessing import StandardScaler

    if X.size:
        # Each column brought to a largest magnitude in [1, 2) by a power of
        # two: exact, and standardising does not see it, but finite values
        # near the float limits (1e200) no longer overflow when squared (they
        # were reported as NaN or infinite features, a review).
        top = np.max(np.abs(X), axis=0)
        scale = np.array([power_of_two_scale(float(t)) for t in top])
        X = (X * scale).astype(X.dtype, copy=False)
    q25, median, q75 = np.percentile(X, [25, 50, 75], axis=0)
    spread = (q75 - q25) / 1.349
    # Two-valued columns (binary, one-hot) hold no extreme values; their
    # rare patterns are rows like any other.
    two_valued = np.all((X == X.min(axis=0)) | (X == X.max(axis=0)), axis=0)
    wide = (spread > 0) & ~two_valued
    if wide.any():
        low = np.where(wide, median - _TAME * spread, -np.inf).astype(X.dtype)
        high = np.where(wide, median + _TAME * spread, np.inf).astype(X.dtype)
        X = np.clip(X, low, high)
    # An array whatever scikit-learn's set_output configuration says.
    Z = StandardScaler().set_output(transform="default").fit_transform(X)
    if not wide.any() or Z.shape[0] == 0:
        return Z
    norms = np.linalg.norm(Z[:, wide], axis=1)
    middle = np.median(norms)
    deviation = 1.4826 * np.median(np.abs(norms - middle))
    if deviation == 0:
        # Most rows of one length (copies): the lengths' spread.
        deviation = float(np.std(norms))
    long = norms > middle + _TAME * deviation
    if middle > 0 and long.any():
        shrink = (middle / norms[long]).astype(Z.dtype)
        Z[np.ix_(long, wide)] *= shrink[:, None]
    return Z


class LastLayer:
    """Per-row penultimate features, model outputs and targets.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Input of the model's last linear layer for each row (for a linear
        model: its, possibly scaled, inputs).
    outputs : array-like of shape (n_samples, n_classes) or (n_samples,)
        Classification: predicted class probabilities (rows sum to 1; a 1-D
        array is read as the probability of class 1 of a binary problem).
        Regression: predictions, shape (n_samples,) or (n_samples, n_targets).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Classification: class codes ``0 .. n_classes - 1`` matching the
        columns of ``outputs`` (see ``classes``). Regression: targets.
    task : {"classification", "regression"}, default="classification"
        Loss the gradients belong to: cross-entropy or squared error.
    classes : array-like of shape (n_classes,), default=None
        Original labels of the class codes, kept for reference
        (:meth:`from_estimator` and :meth:`from_proxy` fill it in).
    untrained : bool, default=False
        Whether the view describes a model that has learnt nothing yet, whose
        outputs do not depend on the row (see :meth:`from_inputs`). Then the
        "bias" gradients are equal within a class and carry no information,
        and selectors whose ``gradients="auto"`` read the features instead.
    device : str or None, default=None
        The device the rows were computed on (a skorch net's ``device``,
        such as ``"cuda:0"``). Selectors run their heavy kernels there when
        a kernel backend is registered for it (:mod:`subsetml.skorch`
        registers torch's for CUDA devices) and the ground set has at least
        1,024 rows; ``None`` or ``"cpu"``: numpy on the host.

    Attributes
    ----------
    features : ndarray of shape (n_samples, n_features)
    outputs : ndarray of shape (n_samples, n_outputs)
    y : ndarray of shape (n_samples,) (classification) or (n_samples, n_outputs)
    task : str
    classes : ndarray or None
    untrained : bool
    device : str or None

    Notes
    -----
    Gradient modes (:meth:`gradients`):

    * ``"bias"`` -- gradient w.r.t. the output bias, ``n_outputs`` numbers per
      row: ``p - onehot(y)`` or ``y_hat - y``.
    * ``"full"`` -- gradient w.r.t. weights and bias of the last layer,
      ``n_outputs * (n_features + 1)`` numbers per row: the bias gradient times
      ``[h, 1]``, flattened output-major.
    * ``"features"`` -- the features themselves (classic, label-free facility
      location / herding on the representation).

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> h = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> p = np.array([[0.75, 0.25], [0.5, 0.5]])
    >>> view = LastLayer(h, p, [0, 1])
    >>> view.gradients("bias")
    array([[-0.25,  0.25],
           [ 0.5 , -0.5 ]])
    >>> view.gradients("full").shape
    (2, 6)
    """

    def __init__(
        self,
        features,
        outputs,
        y,
        *,
        task="classification",
        classes=None,
        untrained=False,
        device=None,
    ):
        if task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {task!r}.")
        self.task = task
        features = _as_float(features)
        if features.ndim == 1:
            features = features[:, None]
        if features.ndim != 2:
            raise ValueError(
                f"features must be 2-D (n_samples, n_features), got shape "
                f"{features.shape}."
            )
        _check_finite(features, "features")
        n = features.shape[0]
        if n == 0:
            raise ValueError("A LastLayer needs at least one row, got 0.")
        if features.shape[1] == 0:
            raise ValueError(
                "features have 0 columns; a LastLayer needs at least one feature."
            )

        outputs = _as_float(outputs, "outputs")
        if outputs.ndim == 1:
            outputs = (
                np.column_stack([1.0 - outputs, outputs])
                if task == "classification"
                else outputs[:, None]
            )
        if outputs.ndim != 2 or outputs.shape[0] != n:
            raise ValueError(
                f"outputs must have one row per sample: features have {n} rows, "
                f"outputs have shape {outputs.shape}."
            )
        _check_finite(outputs, "outputs")

        y = np.asarray(y)
        if task == "regression" and y.dtype.kind in "OUS":
            y = _as_float(y, "regression targets y (numeric)")
        if y.dtype.kind in "OUS":
            raise ValueError(
                "y must hold integer class codes 0 .. n_classes - 1 matching the "
                f"columns of outputs, got dtype {y.dtype} (labels such as "
                f"{y.ravel()[:3].tolist()}). Encode labels with "
                "sklearn.preprocessing.LabelEncoder, or build the view with "
                "LastLayer.from_inputs / from_estimator / from_proxy, which do it."
            )
        if y.shape[0] != n:
            raise ValueError(
                f"y has {y.shape[0]} rows but features have {n}; they must match."
            )

        if task == "classification":
            n_classes = outputs.shape[1]
            if n_classes < 2:
                raise ValueError(
                    "Classification outputs need at least 2 columns (class "
                    f"probabilities), got {n_classes}."
                )
            tol = 1e-3 if outputs.dtype == np.float32 else 1e-6
            if outputs.min() < -tol or outputs.max() > 1 + tol:
                raise ValueError(
                    "Classification outputs must be probabilities in [0, 1]; got "
                    f"values in [{outputs.min():.3g}, {outputs.max():.3g}]. Pass "
                    "softmax(logits), not logits."
                )
            sums = outputs.sum(axis=1)
            if np.max(np.abs(sums - 1.0)) > max(tol, 1e-4) * n_classes:
                raise ValueError(
                    "Classification outputs must be probabilities whose rows sum "
                    f"to 1; row sums range over [{sums.min():.4g}, {sums.max():.4g}]."
                )
            if y.ndim != 1:
                raise ValueError(f"Classification y must be 1-D, got shape {y.shape}.")
            if not np.issubdtype(y.dtype, np.integer):
                yf = y.astype(np.float64)
                if not np.all(np.isfinite(yf)) or np.any(yf != np.round(yf)):
                    raise ValueError(
                        "Classification y must hold integer class codes, got "
                        f"non-integer values of dtype {y.dtype}."
                    )
            y = y.astype(np.int64)
            if y.min() < 0 or y.max() >= n_classes:
                raise ValueError(
                    f"Class codes in y must lie in [0, {n_classes - 1}] (one per "
                    f"column of outputs), got values in [{y.min()}, {y.max()}]."
                )
        else:
            y = _as_float(y, "regression targets y (numeric)")
            _check_finite(y, "regression targets y")
            y2 = y[:, None] if y.ndim == 1 else y
            if y2.ndim != 2 or y2.shape[1] != outputs.shape[1]:
                raise ValueError(
                    f"Regression y has shape {y.shape}, outputs have shape "
                    f"{outputs.shape}; they need the same number of targets."
                )
            y = y2

        self.features = features
        self.outputs = outputs
        self.y = y
        self.classes = None if classes is None else np.asarray(classes)
        self.untrained = bool(untrained)
        self.device = None if device is None else str(device)
        if self.classes is not None and self.classes.shape[0] != outputs.shape[1]:
            raise ValueError(
                f"classes has {self.classes.shape[0]} entries but outputs have "
                f"{outputs.shape[1]} columns."
            )

    # ------------------------------------------------------------------ shape
    @property
    def n_samples(self):
        """Number of rows."""
        return self.features.shape[0]

    @property
    def n_features(self):
        """Width of the penultimate features."""
        return self.features.shape[1]

    @property
    def n_outputs(self):
        """Number of classes (classification) or targets (regression)."""
        return self.outputs.shape[1]

    @property
    def labels(self):
        """Class code of each row (classification), or None for regression."""
        return self.y if self.task == "classification" else None

    def __len__(self):
        return self.n_samples

    def __repr__(self):
        extra = ", untrained=True" if self.untrained else ""
        return (
            f"LastLayer(task={self.task!r}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, n_outputs={self.n_outputs}{extra})"
        )

    def resolve_gradients(self, gradients, *, untrained="features"):
        """The gradient mode a selector's ``gradients="auto"`` means for this view.

        Parameters
        ----------
        gradients : {"auto", "bias", "full", "features"}
        untrained : {"features", "full"}, default="features"
            What "auto" means on an untrained view (:meth:`from_inputs`);
            on any other view it means "bias".

        Returns
        -------
        mode : {"bias", "full", "features"}
        """
        if gradients != "auto":
            _check_mode(gradients)
            return gradients
        return untrained if self.untrained else "bias"

    # --------------------------------------------------------------- algebra
    def _target_spread(self):
        """Each regression target's standard deviation over the rows (1 for
        a constant target): the unit targets are compared in."""
        spread = np.asarray(self.y, dtype=np.float64).std(axis=0)
        return np.where(spread > 0, spread, 1.0)

    def residuals(self, rows=None):
        """Bias gradient of each row: ``p - onehot(y)`` or ``y_hat - y``.

        Parameters
        ----------
        rows : array-like of int, default=None
            Rows to compute; all when None.

        Returns
        -------
        residuals : ndarray of shape (n_rows, n_outputs)
        """
        out = self.outputs if rows is None else self.outputs[rows]
        y = self.y if rows is None else self.y[rows]
        if self.task == "classification":
            res = out.copy()
            res[np.arange(res.shape[0]), y] -= 1.0
            return res
        return out - y

    def losses(self, rows=None):
        """Per-row loss: cross-entropy or half squared error (summed over targets).

        Returns
        -------
        losses : ndarray of shape (n_rows,)
        """
        out = self.outputs if rows is None else self.outputs[rows]
        y = self.y if rows is None else self.y[rows]
        if self.task == "classification":
            p = out[np.arange(out.shape[0]), y]
            return -np.log(np.clip(p, 1e-12, None))
        return 0.5 * np.sum((out - y) ** 2, axis=1)

    def augmented_features(self, rows=None):
        """Features with a trailing column of ones (the bias input)."""
        idx = None
        if rows is not None and not isinstance(rows, slice):
            idx = np.asarray(rows)
        if idx is not None and idx.dtype.kind in "iu":
            # Integer rows: one copy, the gather writing straight into the
            # wider array.
            out = np.empty((idx.shape[0], self.n_features + 1), self.features.dtype)
            np.take(self.features, idx, axis=0, out=out[:, :-1])
        else:
            # All rows, a mask or a slice (np.take reads integers only).
            h = self.features if rows is None else self.features[rows]
            out = np.empty((h.shape[0], self.n_features + 1), self.features.dtype)
            out[:, :-1] = h
        out[:, -1] = 1.0
        return out

    def gradient_dim(self, mode="bias"):
        """Width of one row's vector in the given gradient mode."""
        _check_mode(mode)
        if mode == "bias":
            return self.n_outputs
        if mode == "features":
            untrained_reg = self.untrained and self.task == "regression"
            return self.n_features + (self.n_outputs if untrained_reg else 0)
        return self.n_outputs * (self.n_features + 1)

    def gradients(self, mode="bias", rows=None, *, block_size=4096):
        """Per-row last-layer gradients in closed form.

        Parameters
        ----------
        mode : {"bias", "full", "features"}, default="bias"
            See the class Notes.
        rows : array-like of int, default=None
            Rows to compute; all rows when None.  Ask for a subset of rows
            (one class, one batch) to keep "full" gradients small.
        block_size : int, default=4096
            "full" mode is assembled this many rows at a time.

        Returns
        -------
        gradients : ndarray of shape (n_rows, gradient_dim(mode))
        """
        check_number(
            block_size,
            "block_size",
            integer=True,
            low=1,
            description="a positive int (rows assembled at a time)",
        )
        op = self._operator(mode, rows)
        if isinstance(op, DenseGradients):
            # Rows by position copy; all rows or a slice are views of the
            # stored arrays (a review found a write through a slice's).
            fancy = rows is not None and not isinstance(rows, slice)
            return op.dense() if fancy else op.dense().copy()
        out = np.empty((op.n, op.dim), dtype=op.dtype)
        for start in range(0, op.n, block_size):
            stop = min(start + block_size, op.n)
            out[start:stop] = op.take(slice(start, stop)).dense()
        return out

    def _operator(self, mode="bias", rows=None):
        """The gradient rows as an operator (see :mod:`subsetml._gradops`)."""
        _check_mode(mode)
        if mode == "bias":
            return DenseGradients(self.residuals(rows), self.device)
        if mode == "features":
            h = self.features if rows is None else self.features[rows]
            if self.untrained and self.task == "regression":
                # No classes to stratify by: the targets join the features
                # (see from_inputs), together weighing as much as all of them.
                y = self.y
                z = (y - y.mean(axis=0)) / self._target_spread()
                z = z if rows is None else z[rows]
                scale = math.sqrt(h.shape[1] / y.shape[1])
                h = np.column_stack([h, z * scale])
            return DenseGradients(h, self.device)
        return FactoredGradients(
            self.residuals(rows), self.augmented_features(rows), self.device
        )

    def take(self, rows):
        """A LastLayer holding only ``rows`` (e.g. a held-out validation part)."""
        rows = np.asarray(rows)
        y = self.y[rows]
        return LastLayer(
            self.features[rows],
            self.outputs[rows],
            y[:, 0] if self.task == "regression" and self.y.shape[1] == 1 else y,
            task=self.task,
            classes=self.classes,
            untrained=self.untrained,
            device=self.device,
        )

    # -------------------------------------------------------------- builders
    @classmethod
    def from_estimator(cls, estimator, X, y):
        """View of a fitted scikit-learn estimator on ``(X, y)``.

        Outputs come from ``predict_proba`` (classifiers) or ``predict``
        (regressors).  Features are the inputs -- after every transformer step
        when ``estimator`` is a :class:`~sklearn.pipeline.Pipeline` -- or, for
        :class:`~sklearn.neural_network.MLPClassifier` /
        :class:`~sklearn.neural_network.MLPRegressor`, the activations of the
        last hidden layer. A skorch net is read by
        :func:`subsetml.skorch.lastlayer_from_net` (the input and output of its
        final Linear layer).

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels as the estimator knows them (``estimator.classes_``) or
            regression targets.

        Returns
        -------
        view : LastLayer

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from subsetml import LastLayer
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LogisticRegression(max_iter=500).fit(X, y)
        >>> LastLayer.from_estimator(clf, X, y)
        LastLayer(task='classification', n_samples=150, n_features=4, n_outputs=3)
        """
        from sklearn.pipeline import Pipeline

        # Nets are read by the layer that knows them (subsetml.skorch
        # registers an adapter); core never imports it.
        adapter = adapter_for(estimator)
        if adapter is not None:
            return adapter.lastlayer(estimator, X, y)
        check_is_fitted(estimator)
        best = getattr(estimator, "best_estimator_", None)
        if best is not None:
            # A fitted search (GridSearchCV, ...): its refitted model, so that
            # a Pipeline inside is read step by step as below.
            estimator = best
        final = estimator
        Xt = X
        if isinstance(estimator, Pipeline):
            final = estimator.steps[-1][1]
            for _, step in estimator.steps[:-1]:
                # A resampler (imbalanced-learn's) acts only while the model
                # fits: predictions see every row through the other steps.
                if step is None or step == "passthrough" or is_resampler(step):
                    continue
                Xt = step.transform(Xt)
        # The model predicts on its input as it is (a DataFrame keeps its
        # column names); the features are that input as numbers.
        try:
            Xa = check_array(Xt, accept_sparse=True, ensure_all_finite=True)
        except ValueError as exc:
            raise ValueError(
                f"{type(final).__name__}'s input is not all numbers ({exc}); its "
                "features cannot be read. Pass a Pipeline whose earlier steps "
                "encode the input, or use LastLayer.from_inputs."
            ) from exc
        # y=None failed inside numpy ("tuple index out of range", a review).
        y = _targets_per_row(y, Xa.shape[0])

        if is_classifier(final) or hasattr(final, "classes_"):
            if not hasattr(final, "predict_proba"):
                raise ValueError(
                    f"{type(final).__name__} has no predict_proba, so its "
                    "last-layer gradients are unknown. To choose rows to fit it "
                    "on from scratch use LastLayer.from_inputs; for a fitted "
                    "logistic-regression stand-in, LastLayer.from_proxy."
                )
            outputs = final.predict_proba(Xt)
            classes = np.asarray(final.classes_)
            try:
                codes = np.searchsorted(classes, y)
            except TypeError:
                raise ValueError(
                    f"y's labels ({y.dtype}) do not compare with the estimator's "
                    f"classes_ ({classes.dtype}, {classes[:5].tolist()}): pass the "
                    "labels it was fitted on."
                ) from None
            codes = np.clip(codes, 0, len(classes) - 1)
            unknown = classes[codes] != y
            if np.any(unknown):
                raise ValueError(
                    f"y holds labels the estimator was not fitted on: "
                    f"{np.unique(y[unknown])[:5].tolist()}."
                )
            task = "classification"
        else:
            outputs = final.predict(Xt)
            codes, classes, task = y, None, "regression"
        features = _mlp_hidden(final, Xa)
        if features is None:
            features = Xa.toarray() if sparse.issparse(Xa) else Xa
        return cls(features, outputs, codes, task=task, classes=classes)

    @classmethod
    def from_inputs(cls, X, y, *, task="auto", max_components=100, random_state=None):
        """View of a model that has learnt nothing yet: the default for one fit.

        A model trained from scratch on the subset starts with a last layer
        that ignores the row: every row of a class has the same output (the
        class frequencies; the mean target for regression), so its
        last-layer gradient differs between rows only through the features.
        This view holds exactly that -- standardised inputs as features, the
        prior as outputs -- and is marked ``untrained``, so the selectors'
        ``gradients="auto"`` cover the features (CRAIG) or use the full
        gradient (GLISTER) for classification, and the bias gradients (the
        targets' deviations from their mean) for regression; several
        regression targets are each held in units of their standard
        deviation, so that no target's units decide the picks.
        GRAD-MATCH's default is the full gradient.

        Regression has no classes to stratify by, so in "features" mode the
        standardised target joins the features as one more column, scaled to
        weigh as much as all the inputs together: rows are then close only
        when both their inputs and their targets are.

        Dense input is standardised (as a model on mixed units would need),
        with extreme values tamed first (see Notes); when it has more than
        ``max_components`` columns, each row is then scaled to unit length.
        Sparse input (counts, TF-IDF) is not -- a word seen in one document
        would dominate every distance -- and is densified when it has at most
        ``max_components`` columns. Wider sparse input is reduced by a
        truncated SVD to ``max_components`` dimensions after the first, and
        each row scaled to unit length (see Notes).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (any type), or one or more regression targets.
        task : {"auto", "classification", "regression"}, default="auto"
            ``"auto"`` reads whole-number labels as classes, as scikit-learn
            does, but refuses more than 30 distinct whole numbers (counts are
            likely a regression target): pass the task then.
        max_components : int, default=100
            Dimensions kept from sparse input; dense input with more columns
            has its rows scaled to unit length.
        random_state : int, RandomState instance or None, default=None
            Seeds the truncated SVD of sparse input.

        Returns
        -------
        view : LastLayer

        Notes
        -----
        Why not the gradients of a fitted proxy (:meth:`from_proxy`)? At a
        converged model they are large exactly on the rows it gets wrong.
        GRAD-MATCH then matches a gradient sum made of misclassified rows and
        chooses them, and a model trained from scratch on that subset learns
        the boundary upside down (0.25 accuracy on a balanced binary
        problem). Those gradients describe what is left to learn for a model
        that has already seen the data -- the setting of adaptive training,
        where the model is warm and re-selects as it learns -- not the start
        of one fit.

        Why tame extreme values? Coverage and gradients grow with a row's
        distance from the others, so rows far out -- a heavy tail, a few
        rows in other units -- were picked almost all: with 1 % of the rows
        multiplied by 100, every selector took nearly every one of them, and
        a scaled SVC trained on its subsets fell to chance, 18-22 points
        below random ones; on Student-t(1.5) features CRAIG was 14 points
        below (``quality_tails_before.json``; ``quality_tails.json`` after,
        in ``benchmarks/results``). So each feature with a spread (a non-zero
        interquartile range) is first clipped to its median plus or minus 3
        robust standard deviations (the interquartile range over 1.349),
        and after standardising, a row whose length over those features
        exceeds the rows' median length by more than 3 robust deviations of
        the lengths is shrunk to the median length there: it keeps its
        direction and loses its extremity. Shrunk only to the edge of the
        others, such rows were still picked nearly all into 10-20 % subsets,
        each alone at the edge. Gaussian features are nearly untouched: 0.3 %
        of values clipped, and 0.1-0.5 % of rows shrunk in 2 to 100
        dimensions (1.5 % in one). Binary and one-hot columns are only
        standardised: shrinking the rows of a rare pattern of binary
        features skewed GRAD-MATCH's picks on duplicate rows
        (``one_shot_cost_session19.json``). The subset itself keeps the rows
        as they are.

        Why unit rows for wide dense input? In many dimensions the rows
        nearest the centre are near everything ("hubs"): CRAIG's picks sat
        at the 30th percentile of the rows' lengths (in a review's
        reproducer), and a scaled SVC trained on its subsets of 500
        generated features scored 2.9-3.7 points below random ones. With
        unit rows (cosine geometry) it scored 2.2-2.9 above
        (``quality_wide_before.json`` and ``quality_wide.json`` in
        ``benchmarks/results``; GRAD-MATCH's mean gain there went from 3.3
        to 2.4, GLISTER's from 2.3 to 2.8).

        Why drop the first singular direction of wide sparse input? Counts
        and TF-IDF are non-negative, so their leading singular vector is the
        direction every row shares (the average document). It dominates the
        distances: a few rows near it end up closest to everything, and in
        the remaining directions most rows are about equally far from each
        other. CRAIG then weighted a handful of "hub" documents by most of
        the corpus and spent the rest of the budget on rows that cover only
        themselves; naive Bayes on those subsets scored 3.5-7.1 points below
        random ones. Without that direction, and with rows of unit length
        (cosine geometry, the usual one for text), the same selector was
        above random for every text model of the quality panel
        (``benchmarks/bench_quality.py``).

        Examples
        --------
        >>> from sklearn.datasets import load_wine
        >>> from subsetml import LastLayer
        >>> X, y = load_wine(return_X_y=True)
        >>> LastLayer.from_inputs(X, y)
        LastLayer(task='classification', n_samples=178, n_features=13, \
n_outputs=3, untrained=True)
        """
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        check_number(
            max_components,
            "max_components",
            integer=True,
            low=1,
            description="an integer >= 1",
        )
        if sparse.issparse(X):
            X = check_array(X, accept_sparse="csr", ensure_all_finite=True)
            # One more component than kept: the first is dropped (Notes).
            n_comp = min(int(max_components) + 1, X.shape[1] - 1, X.shape[0] - 1)
            if X.shape[1] <= max_components or n_comp < 2:
                Xs = X.toarray()
            else:
                # Arrays whatever set_config(transform_output=...) says.
                svd = TruncatedSVD(n_comp, random_state=random_state).set_output(
                    transform="default"
                )
                Xs = normalize(svd.fit_transform(X)[:, 1:])
        else:
            if hasattr(X, "columns") and hasattr(X, "dtypes"):
                # A frame with text or categories failed deep inside pandas
                # ("could not convert string to float", a review).
                bad = [
                    str(c)
                    for c, dt in zip(X.columns, X.dtypes)
                    if getattr(dt, "kind", "O") not in "biuf"
                ]
                if bad:
                    raise ValueError(
                        "LastLayer.from_inputs reads numeric features; X has "
                        f"non-numeric columns {bad[:5]}"
                        + (" and more" if len(bad) > 5 else "")
                        + ". Encode them first (OneHotEncoder, in a "
                        "ColumnTransformer), or select with SubsetSampler or "
                        "select_subset, which encode them for you."
                    )
            # C order: sums over a Fortran array (a DataFrame's values) round
            # otherwise, and GRAD-MATCH's weights moved with the layout.
            X = check_array(
                X, ensure_all_finite=True, dtype=(np.float64, np.float32), order="C"
            )
            Xs = _tame(X)
            if Xs.shape[1] > max_components:
                # Wide dense input: rows of unit length, as for text (Notes).
                Xs = normalize(Xs)
        y, task = _check_targets(X, y, task)
        n = Xs.shape[0]
        if task == "classification":
            classes, codes = _class_codes(y)
            prior = np.bincount(codes) / n
            outputs = np.broadcast_to(prior, (n, prior.shape[0]))
            return cls(Xs, outputs, codes, classes=classes, untrained=True)
        y = _as_float(y)
        _check_finite(y, "regression targets y")
        if y.ndim > 2:
            raise ValueError(
                "LastLayer.from_inputs takes regression targets of shape "
                f"(n_samples,) or (n_samples, n_outputs), got {y.shape}."
            )
        if y.ndim == 2 and y.shape[1] > 1:
            # Several targets, each in units of its spread: in their own
            # units the largest decided the picks of GRAD-MATCH and GLISTER
            # (a review: k-NN R^2 0.596 to 0.566 for a target in other
            # units; CRAIG already compared targets so).
            spread = y.std(axis=0)
            y = y / np.where(spread > 0, spread, 1.0)
        # The untrained layer predicts every target's mean.
        outputs = np.broadcast_to(y.mean(axis=0), y.shape).copy()
        return cls(Xs, outputs, y, task="regression", untrained=True)

    @classmethod
    def from_proxy(
        cls, X, y, *, task="auto", regularization=1.0, max_iter=100, random_state=None
    ):
        """View from a cheap linear stand-in fitted on ``(X, y)``.

        Standardises ``X``, fits a multinomial logistic regression
        (classification) or a ridge regression (regression) and returns its
        last layer -- features are the standardised inputs.

        Not for choosing the rows of one fit from scratch, whatever the model
        (trees, kernel SVMs, ...): a fitted model's gradients are large on
        the rows it gets wrong, and subsets built on them trained models
        below random subsets, GRAD-MATCH below chance on a binary problem
        (see the "Choosing a selector" guide). Use :meth:`from_inputs` for
        that; this view is for experiments and for adaptive selection
        during training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (any type), or one or more regression targets.
        task : {"auto", "classification", "regression"}, default="auto"
            ``"auto"`` reads whole-number labels as classes, as scikit-learn
            does, but refuses more than 30 distinct whole numbers (counts are
            likely a regression target): pass the task then.
            "auto" reads it off ``y`` with
            :func:`~sklearn.utils.multiclass.type_of_target`.
        regularization : float, default=1.0
            Inverse strength ``C`` of the logistic regression, or ``alpha`` of
            the ridge.
        max_iter : int, default=100
            Iterations of the logistic-regression solver (a rough fit is enough).
        random_state : int, RandomState instance or None, default=None
            Unused by the deterministic solvers; accepted for symmetry.

        Returns
        -------
        view : LastLayer

        Examples
        --------
        >>> from sklearn.datasets import load_wine
        >>> from subsetml import LastLayer
        >>> X, y = load_wine(return_X_y=True)
        >>> LastLayer.from_proxy(X, y).n_outputs
        3
        """
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.preprocessing import StandardScaler

        check_random_state(random_state)
        X = check_array(X, accept_sparse=False, ensure_all_finite=True)
        y, task = _check_targets(X, y, task)
        check_number(
            regularization,
            "regularization",
            low=0,
            include_low=False,
            description="a number > 0",
        )
        Xs = StandardScaler().set_output(transform="default").fit_transform(X)
        if task == "classification":
            classes, codes = _class_codes(y)
            model = LogisticRegression(C=regularization, max_iter=max_iter)
            with warnings.catch_warnings(), _blas_threads_for(Xs):
                # A rough proxy is all selection needs; do not nag about it.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(Xs, codes)
            return cls(Xs, model.predict_proba(Xs), codes, classes=classes)
        y = _as_float(y)
        _check_finite(y, "regression targets y")
        with _blas_threads_for(Xs):
            model = Ridge(alpha=regularization).fit(Xs, y)
        return cls(Xs, model.predict(Xs), y, task="regression")


def _check_targets(X, y, task):
    """``(y, task)`` checked against the rows of ``X``, ``"auto"`` resolved."""
    y = _targets_per_row(y, X.shape[0])
    if task == "auto":
        task = infer_task(y)
        if task == "classification" and y.dtype.kind in "fiu":
            n_values = np.unique(y).shape[0]
            if n_values > MAX_GUESSED_CLASSES:
                # Counts read as classes, silently: 52 Poisson counts gave
                # a 52-class view (a review). SubsetSampler refuses them too.
                raise ValueError(
                    f"y holds {n_values} distinct whole numbers, which "
                    "task='auto' would read as as many classes. Pass "
                    "task='regression' for a numeric target, or "
                    "task='classification' to keep them as classes."
                )
    if task not in _TASKS:
        raise ValueError(f"task must be 'auto' or one of {_TASKS}, got {task!r}.")
    if task == "classification":
        if y.ndim == 2 and y.shape[1] == 1:
            # A column of labels (df[["label"]]) as scikit-learn takes it: it
            # failed inside np.bincount, "object too deep" (a review).
            y = column_or_1d(y, warn=True)
        elif y.ndim != 1:
            raise ValueError(
                "Classification y must hold one class label per row, got shape "
                f"{y.shape} (multilabel or multi-output labels are not supported)."
            )
        check_label_types(y)
        check_classification_targets(y)
    else:
        y = _as_float(y, "regression targets y (numeric)")
    return y, task


def _targets_per_row(y, n):
    """``y`` as an array of one target per row of the ``n`` rows of ``X``."""
    if y is None:
        raise ValueError("y is None; a LastLayer needs the targets of every row.")
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError(f"y must hold one target per row, got the scalar {y!r}.")
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows and y has {y.shape[0]}; they must match.")
    return y


def _class_codes(y):
    """``(classes, codes)`` of labels ``y``; at least two classes."""
    classes, codes = np.unique(y, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(
            f"Classification needs at least 2 classes, y has only {classes.tolist()}."
        )
    return classes, codes


def _blas_threads_for(X):
    """Single-threaded BLAS for a proxy fit on a small matrix.

    The solver's many small products gain nothing from threads, and on a
    loaded machine OpenBLAS threads wait on each other: fitting the proxy on
    900 x 64 digits took 0.5 s with 2 threads and 0.03 s with one on the
    2-core development machine under load (10,000 x 40: 0.8 s vs 0.12 s).
    Larger matrices keep the user's thread settings.
    """
    import threading
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    if threading.current_thread() is not threading.main_thread():
        # The limit is the whole process's: threads (joblib's threading
        # backend) entering and leaving it at once restored each other's
        # saved value and left BLAS at one thread for good (a review).
        return nullcontext()
    limit = 1 if X.shape[0] * X.shape[1] <= 1_000_000 else None
    return threadpool_limits(limits=limit, user_api="blas")


def infer_task(y):
    """ "classification" or "regression" from the type of ``y``."""
    y = np.asarray(y)
    check_label_types(y)
    kind = type_of_target(y, input_name="y")
    if kind in ("binary", "multiclass"):
        return "classification"
    if kind in ("continuous", "continuous-multioutput"):
        return "regression"
    if kind == "unknown":
        raise ValueError(f"Cannot tell the task from y of dtype {y.dtype}.")
    raise ValueError(f"Unsupported target type {kind!r}.")


def _check_mode(mode):
    if mode not in GRADIENT_MODES:
        raise ValueError(
            f"Unknown gradient mode {mode!r}; choose one of {GRADIENT_MODES}."
        )


_ACTIVATIONS = {
    "identity": lambda a: a,
    "logistic": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
}


def _mlp_hidden(estimator, X):
    """Last hidden activations of a fitted sklearn MLP, or None for other models."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return None
    act = _ACTIVATIONS[estimator.activation]
    h = X
    for W, b in zip(estimator.coefs_[:-1], estimator.intercepts_[:-1]):
        h = h @ W + b
        h = act(h)
    return np.asarray(h)
