"""A numeric scoring path: a fitted PMT pipeline's features from category codes, not strings.

The feature transformer of a PMT pipeline (:mod:`targeting.pmt.features`) turns text categories
into one-hot or ordinal columns with pandas string operations, which is where scoring a large
registry spent its time. Every categorical block of that transformer depends on one column at a
time and takes a handful of values, so it is a *lookup table*: the feature row of category level
``k`` is the same for every household. :func:`compile_pipeline` probes the fitted transformer once
per level to build those tables, and :class:`CompiledPipeline` then builds the feature matrix from
integer level codes (``table[codes]``) and the numeric columns (passed through the fitted numeric
sub-pipelines themselves, on numbers), in the transformer's column order. The final estimator is
the fitted one, unchanged: its ``predict_proba`` / ``proba_interval`` / ``proba_draws`` (for a
linear model: intercept + coefficients, ``ndtr`` or its own link, the increasing recalibration
maps and the exact interval ``x' Σ x``) run on the same matrix as before, so the scores are the
same numbers (a test checks them against :func:`~targeting.pmt.scoring.score_households`, desil
exactly).

Because only the feature step is compiled, any final estimator works, trees and ensembles too;
a pipeline whose transformer has a step the probe cannot prove per-column (a block whose
output depends on two categorical columns at once, a remainder that passes columns through) is
not compiled (:func:`compile_pipeline` returns None) and the caller keeps the pandas path.
"""

from __future__ import annotations

import copy
import threading
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from targeting.data.schema import BOOL_PROXIES, COUNT_PROXIES, NUMERIC_PROXIES
from targeting.pmt.features import to_float
from targeting.pmt.plain import (
    CATEGORY_LEVELS,
    COUNT_DOMAIN,
    FORMAT,
    GridInterp,
    PlainScorer,
    codes_of,
    discrete_domain,
    encode_levels,
    join_chunks,
    row_chunks,
)
from targeting.pmt.scoring import (
    DESIL_ATTRIBUTE,
    assign_desil,
    score_features,
    score_households,
)

__all__ = [
    "CATEGORY_LEVELS",
    "COUNT_DOMAIN",
    "CompiledPipeline",
    "compile_pipeline",
    "discrete_domain",
    "encode_levels",
    "plain_scorer",
]

_NUMERIC_DTYPES: dict[str, Any] = {
    **{name: np.int64 for name in COUNT_PROXIES},
    **{name: np.float64 for name in NUMERIC_PROXIES},
    **{name: np.bool_ for name in BOOL_PROXIES},
}
"""The dtypes registry validation gives the numeric proxies (the compiled path keeps them, so
the fitted numeric sub-pipelines see exactly what they see on the pandas path)."""


class CompiledPipeline:
    """A fitted PMT pipeline whose discrete features are looked up from integer codes.

    Built by :func:`compile_pipeline`; not fitted itself.

    Attributes
    ----------
    model : sklearn.pipeline.Pipeline
        The pipeline compiled (its final estimator scores).
    coded : list of str
        Proxies given as codes (:func:`discrete_domain`: level index, count value, 0/1).
    numeric : list of str
        Proxies given as numbers (their block is computed by the fitted sub-pipeline).
    width : int
        Number of features.
    """

    def __init__(self, model: Pipeline, blocks: list[tuple[str, Any]], width: int):
        self.model = model
        self.final = model.steps[-1][1]
        self._blocks = blocks
        self.width = width
        self.feature_names = [str(c) for c in model[:-1].get_feature_names_out()]
        self.coded = sorted(
            {name for kind, spec in blocks if kind == "lookup" for name, _, _ in spec}
        )
        self.numeric = sorted(
            {name for kind, spec in blocks if kind == "numeric" for name in spec[1]}
        )
        self.cuts = getattr(model, DESIL_ATTRIBUTE, None)
        self.linear: LinearFinal | None = None

    def features(
        self,
        codes: dict[str, np.ndarray],
        numbers: dict[str, np.ndarray],
        numeric_blocks: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """The feature matrix the fitted transformer would give, from codes and numbers.

        Parameters
        ----------
        codes : dict of str to numpy.ndarray of int
            Code of every proxy in :attr:`coded`, all within its domain.
        numbers : dict of str to numpy.ndarray
            Every proxy in :attr:`numeric` (counts as int64, floor area as float, as
            validation gives them).
        numeric_blocks : list of numpy.ndarray, optional
            The numeric blocks already computed for these rows (:meth:`numeric_blocks`).

        Returns
        -------
        numpy.ndarray of float64, shape (n, width), Fortran order
            Column-major, as a pandas frame of features converts to (the final estimator's
            products then round exactly as on the pandas path).
        """
        first = next(iter(codes.values())) if codes else next(iter(numbers.values()))
        X = np.empty((len(first), self.width), dtype=np.float64, order="F")
        if numeric_blocks is None:
            numeric_blocks = self.numeric_blocks(numbers)
        done = iter(numeric_blocks)
        for kind, spec in self._blocks:
            if kind == "lookup":
                for name, columns, table in spec:
                    code = codes[name]
                    for k, column in enumerate(columns):
                        # codes are in the domain: "clip" changes nothing but, unlike
                        # "raise", writes straight into the matrix (no buffered copy)
                        np.take(table[:, k], code, out=X[:, column], mode="clip")
            else:
                X[:, spec[2]] = next(done)
        return X

    def numeric_blocks(self, numbers: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The numeric blocks of these rows, through the fitted sub-pipelines (element-wise
        arithmetic: computing them for a whole batch or per chunk gives the same numbers)."""
        out = []
        for kind, spec in self._blocks:
            if kind == "numeric":
                transformer, names, _ = spec
                frame = pd.DataFrame({name: numbers[name] for name in names})
                out.append(_transform_quietly(transformer, frame))
        return out

    def score(
        self,
        codes: dict[str, np.ndarray],
        numbers: dict[str, np.ndarray],
        alpha: float = 0.2,
        n_boot: int = 200,
        seed: int = 0,
        chunk_size: int = 50_000,
    ) -> dict[str, np.ndarray]:
        """``p_extreme``, ``p_low``, ``p_high`` and ``desil`` of the coded households.

        The same numbers :func:`~targeting.pmt.scoring.score_households` gives on the text
        frame (same chunking, same seeds, the model's fixed desil cut-points).
        """
        parts: list[dict[str, np.ndarray]] = []
        # the scikit-learn sub-pipelines cost per call: once for all the rows, not per chunk
        blocks = self.numeric_blocks(numbers)
        for chunk in row_chunks(codes, numbers, blocks, chunk_size):
            X = self.features(*chunk)
            if self.linear is not None and n_boot > 0:
                part = self.linear.scores(X, alpha)
                part["desil"] = assign_desil(part["p_extreme"], self.cuts)
                parts.append(part)
                continue
            # named columns, as the fitted estimator saw them (no copy of the matrix)
            Xt = pd.DataFrame(X, columns=self.feature_names, copy=False)
            parts.append(score_features(self.model, Xt, alpha=alpha, n_boot=n_boot, seed=seed))
        if len(parts) == 1:
            return parts[0]
        scores = join_chunks(parts)
        # without stored cut-points desils rank the households among all of them, not per chunk
        cuts = getattr(self.model, DESIL_ATTRIBUTE, None)
        scores["desil"] = assign_desil(scores["p_extreme"], cuts)
        return scores

    def codes_of(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Codes of a frame of proxies as validation gives them, and which rows have them all.

        Returns
        -------
        (codes, ok) : dict of str to numpy.ndarray, numpy.ndarray of bool
            A row without a code (a category that is not a level, a missing value, a count
            above 110) is False in ``ok``; its codes are 0 (to be scored another way).
        """
        return codes_of(frame, self.coded, self.numeric)

    def score_frame(
        self, frame: pd.DataFrame, alpha: float = 0.2, n_boot: int = 200, seed: int = 0
    ) -> pd.DataFrame:
        """Score a frame of proxies: coded rows here, the others by the pandas path.

        Returns
        -------
        pandas.DataFrame
            ``p_extreme, p_low, p_high, desil``, index aligned to ``frame``.
        """
        codes, ok = self.codes_of(frame)
        numbers = {n: frame[n].to_numpy() for n in self.numeric} if ok.any() else {}
        out = {
            "p_extreme": np.empty(len(frame)),
            "p_low": np.empty(len(frame)),
            "p_high": np.empty(len(frame)),
            "desil": np.empty(len(frame), dtype=np.int64),
        }
        if ok.any():
            keep = np.flatnonzero(ok)
            part = self.score(
                {k: v[keep] for k, v in codes.items()},
                {k: np.asarray(v)[keep] for k, v in numbers.items()},
                alpha=alpha,
                n_boot=n_boot,
                seed=seed,
            )
            for key, values in part.items():
                out[key][keep] = values
        if not ok.all():
            rest = np.flatnonzero(~ok)
            part_frame = score_households(
                self.model, frame.iloc[rest], alpha=alpha, n_boot=n_boot, seed=seed
            )
            for key in out:
                out[key][rest] = part_frame[key].to_numpy()
        return pd.DataFrame(out, index=frame.index)


class LinearFinal:
    """The final estimator's scores as direct numpy on the feature matrix (linear models).

    For a consumption model linear in its features (OLS, poverty-weighted, quantile; bare or
    inside :class:`~targeting.pmt.selection.SelectionAwarePMT` fitted on the unreached, with
    its increasing recalibration map), P(extreme), the exact interval and the map are the same
    expressions the estimator evaluates, without scikit-learn's input validation per call and
    with the linear predictor computed once for P and for its interval. :meth:`build` accepts
    a model only when these give its own numbers bit for bit on a probe.

    It reads the estimator's fitted covariance factor (``_cov_factor_``) and its link
    (``_p_below``), which :mod:`targeting.pmt.linear` keeps private: a change there makes the
    probe differ and the model is then scored by the estimator itself (slower, same numbers).
    """

    def __init__(self, inner: Any, calibrator: Any):
        self.inner = inner
        self.coef = np.asarray(inner.coef_, dtype=np.float64)
        self.intercept = inner.intercept_
        self.factor = np.asarray(inner._cov_factor_, dtype=np.float64)
        self.log_line = np.log(inner.line)
        self.p_below = inner._p_below
        self.calibrator = calibrator

    @classmethod
    def build(cls, final: Any) -> LinearFinal | None:
        """A linear scorer of ``final``, or None when it is not of a known linear shape."""
        inner, calibrator = final, None
        if hasattr(final, "estimator_") and hasattr(final, "calibrator_"):
            # the selection wrapper: identity on X unless receipt is an input or a ratio applies
            if getattr(final, "method", None) == "input":
                return None
            if getattr(final, "reach_all_", None) is not None:
                return None
            inner, calibrator = final.estimator_, final.calibrator_
        needed = ("coef_", "intercept_", "_cov_factor_", "line", "_p_below", "proba_interval")
        if not all(hasattr(inner, name) for name in needed):
            return None
        if getattr(inner, "target_kind", None) != "consumption":
            return None
        return cls(inner, calibrator)

    def scores(self, X: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
        """``p_extreme``, ``p_low``, ``p_high`` of the households of ``X`` (features)."""
        linear = X @ self.coef + self.intercept
        p = self.p_below(self.log_line - linear)
        rows = X @ self.factor[1:] + self.factor[0]
        se = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        z = float(ndtri(1.0 - alpha / 2.0))
        low = self.p_below(self.log_line - (linear + z * se))
        high = self.p_below(self.log_line - (linear - z * se))
        if self.calibrator is not None:
            p = self.calibrator.transform(p)
            low, high = self.calibrator.transform(low), self.calibrator.transform(high)
        low, high = np.minimum(low, high), np.maximum(low, high)
        return {"p_extreme": p, "p_low": np.minimum(low, p), "p_high": np.maximum(high, p)}


_QUIET = threading.Lock()
"""``warnings.catch_warnings`` changes process-wide state: one block at a time (the streaming
scorer transforms batches on two threads)."""


def _transform_quietly(transformer: Any, frame: pd.DataFrame) -> np.ndarray:
    with _QUIET, warnings.catch_warnings():
        # the array-returning copy hands arrays between its steps (no names to check)
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return np.asarray(transformer.transform(frame), dtype=np.float64)


def _probe_frame(names: list[str], rows: int, shift: dict[str, int]) -> pd.DataFrame:
    """Each column cycles through its domain (offset by ``shift``), with validation's dtypes."""
    data = {}
    for name in names:
        domain = discrete_domain(name)
        assert domain is not None
        idx = (np.arange(rows) + shift.get(name, 0)) % len(domain)
        data[name] = domain[idx]
    return pd.DataFrame(data)


def _probe_codes(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in CATEGORY_LEVELS:
        return encode_levels(frame[name], CATEGORY_LEVELS[name])
    return frame[name].to_numpy().astype(np.int64)


def _lookup_block(transformer: Any, names: list[str]) -> tuple[list[Any], int] | None:
    """Per-column lookup tables of a discrete block, or None when it is not per-column.

    Column ``j``'s output columns are those that change when only column ``j`` changes; each
    output column must belong to exactly one input column, and the tables must reproduce the
    transformer on a probe of mixed values exactly. Two calls of the transformer in all (its
    overhead is per call, not per row).
    """
    domains = {n: discrete_domain(n) for n in names}
    firsts = {n: d[:1] for n, d in domains.items() if d is not None}
    # segment j: column j through its whole domain, every other column at its first value
    segments = []
    for name in names:
        size = len(domains[name])  # type: ignore[arg-type]
        segments.append(
            pd.DataFrame(
                {
                    other: domains[other] if other == name else np.repeat(firsts[other], size)
                    for other in names
                }
            )
        )
    bounds = np.cumsum([0] + [len(f) for f in segments])
    out = np.asarray(transformer.transform(pd.concat(segments, ignore_index=True)), np.float64)
    width = out.shape[1]
    owner = np.full(width, -1)
    for j in range(len(names)):
        seg = out[bounds[j] : bounds[j + 1]]
        moved = np.flatnonzero((seg != seg[:1]).any(axis=0))
        if (owner[moved] >= 0).any():
            return None
        owner[moved] = j
    # an output column that no input moves is a constant: give it to the first column's table
    owner[owner < 0] = 0
    result = []
    for j, name in enumerate(names):
        columns = np.flatnonzero(owner == j)
        result.append((name, columns, out[bounds[j] : bounds[j + 1]][:, columns]))
    # check: probes where every column is shifted differently are reproduced exactly
    rows = max(len(d) for d in domains.values() if d is not None)
    probe = pd.concat(
        [
            _probe_frame(names, 3 * rows, {n: shift * (k + 1) for k, n in enumerate(names)})
            for shift in range(1, 4)
        ],
        ignore_index=True,
    )
    expect = np.asarray(transformer.transform(probe), dtype=np.float64)
    got = np.empty_like(expect)
    for name, columns, table in result:
        got[:, columns] = table[_probe_codes(probe, name)]
    if not np.array_equal(got, expect):
        return None
    return result, width


def compile_pipeline(model: Any) -> CompiledPipeline | None:
    """Compile a fitted PMT pipeline's feature step to lookups, or None when it cannot be.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        ``features`` (a fitted ColumnTransformer) + a final estimator with ``predict_proba``.

    Returns
    -------
    CompiledPipeline or None
        None for a bare estimator, a transformer with a pass-through remainder, a block that
        mixes categorical and numeric columns or is not per-column, or any pipeline whose
        compiled features differ from its own on a probe of households: the caller then
        scores the pandas way (the same numbers, more slowly).
    """
    try:
        return _compile(model)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        # a transformer the probe cannot feed (another feature set, a column it requires that
        # the probe lacks) is not compiled: scoring falls back to the pipeline itself
        return None


def _compile(model: Any) -> CompiledPipeline | None:
    """:func:`compile_pipeline`, letting a transformer's own errors through."""
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    features = model.steps[0][1]
    if not isinstance(features, ColumnTransformer) or not hasattr(features, "transformers_"):
        return None
    blocks: list[tuple[str, Any]] = []
    offset = 0
    for _name, transformer, columns in features.transformers_:
        if transformer == "drop":
            continue
        if isinstance(transformer, str) or not isinstance(columns, list | tuple | np.ndarray):
            return None
        names = [str(c) for c in columns]
        if not names:
            continue
        if all(discrete_domain(n) is not None for n in names):
            found = _lookup_block(transformer, names)
            if found is None:
                return None
            spec, width = found
            blocks.append(("lookup", [(n, c + offset, t) for n, c, t in spec]))
        elif all(n in _NUMERIC_DTYPES for n in names):
            # a copy that returns arrays: the same arithmetic without a pandas frame per step
            plain = copy.deepcopy(transformer)
            if hasattr(plain, "set_output"):
                plain.set_output(transform="default")
            probe = pd.DataFrame(
                {n: np.ones(1, dtype=_NUMERIC_DTYPES[n]) for n in names}  # type: ignore[call-overload]
            )
            width = _transform_quietly(plain, probe).shape[1]
            blocks.append(("numeric", (plain, names, np.arange(offset, offset + width))))
        else:
            return None
        offset += width
    compiled = CompiledPipeline(model, blocks, offset)
    # the proof: on mixed households the compiled features are the transformer's, bit for bit
    probe = _household_probe(compiled)
    codes, ok = compiled.codes_of(probe)
    expect = np.asarray(features.transform(probe), dtype=np.float64)
    if not ok.all() or expect.shape[1] != offset:
        return None
    got = compiled.features(codes, {n: probe[n].to_numpy() for n in compiled.numeric})
    if not np.array_equal(got, expect):
        return None
    if compiled.cuts is not None:
        linear = LinearFinal.build(compiled.final)
        if linear is not None:
            Xt = pd.DataFrame(got, columns=compiled.feature_names, copy=False)
            reference = score_features(model, Xt, alpha=0.2, n_boot=200, seed=0)
            fast = linear.scores(got, 0.2)
            if all(np.array_equal(fast[k], reference[k]) for k in fast):
                compiled.linear = linear
    return compiled


def _household_probe(compiled: CompiledPipeline, rows: int = 997) -> pd.DataFrame:
    """Households mixing every coded value with floor areas from tiny to large (seeded)."""
    rng = np.random.default_rng(0)
    data: dict[str, Any] = {}
    for name in sorted(set(compiled.coded) | set(compiled.numeric)):
        domain = discrete_domain(name)
        if name == "hh_size":
            data[name] = rng.integers(1, 31, rows).astype(np.int64)
        elif domain is not None:
            data[name] = domain[rng.integers(0, len(domain), rows)]
        else:
            data[name] = np.exp(rng.uniform(-1.0, 8.0, rows))
    return pd.DataFrame(data)


def plain_scorer(model: Any) -> PlainScorer | None:
    """The model as a :class:`~targeting.pmt.plain.PlainScorer`, or None when it has no plain
    form or the plain form does not score a probe of households bit for bit as the model.

    A plain form exists for a compiled pipeline (:func:`compile_pipeline`) whose final
    estimator is scored as direct numpy (:class:`LinearFinal`), whose numeric blocks are the
    feature set's own steps (``to_float``, imputation, logarithm of the floor area or of the
    floor area per person, standardisation), whose link is the normal CDF or the quantile
    model's residual quantiles, and whose recalibration map is none, beta or residual.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline

    Returns
    -------
    PlainScorer or None
    """
    try:
        compiled = compile_pipeline(model)
        if compiled is None or compiled.linear is None or compiled.cuts is None:
            return None
        found = _plain_parts(compiled)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    if found is None:
        return None
    scorer = PlainScorer(*found)
    return scorer if plain_matches(scorer, model) else None


def plain_matches(scorer: PlainScorer, model: Any) -> bool:
    """Whether ``scorer`` gives ``model``'s features and scores bit for bit on a probe of
    4,001 mixed households, scored in chunks of 1,000 (the checks of a plain form, when it is
    built and again once it is read back from its files)."""
    compiled = compile_pipeline(model)
    if compiled is None or compiled.linear is None:
        return False
    if scorer.coded != compiled.coded or scorer.numeric != compiled.numeric:
        return False
    probe = _household_probe(compiled, rows=4_001)
    codes, ok = compiled.codes_of(probe)
    if not ok.all():
        return False
    numbers = {n: probe[n].to_numpy() for n in compiled.numeric}
    if not np.array_equal(scorer.features(codes, numbers), compiled.features(codes, numbers)):
        return False
    got = scorer.score(codes, numbers, alpha=scorer.alpha, chunk_size=1_000)
    expect = compiled.score(codes, numbers, alpha=scorer.alpha, chunk_size=1_000)
    Xt = pd.DataFrame(compiled.features(codes, numbers), columns=compiled.feature_names, copy=False)
    reference = score_features(model, Xt, alpha=scorer.alpha)
    return all(
        np.array_equal(got[key], expect[key]) and np.array_equal(got[key], reference[key])
        for key in ("p_extreme", "p_low", "p_high", "desil")
    )


_PLAIN_ALPHA = 0.2
"""The interval level ``targeting score`` uses (an 80 % interval); stored with its quantile."""


def _plain_parts(
    compiled: CompiledPipeline,
) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """The structure (JSON-ready) and arrays of a compiled linear pipeline, or None."""
    from targeting.pmt.linear import LogConsumptionBase, QuantilePMT
    from targeting.pmt.selection import BetaCalibrator, ResidualCalibrator

    linear = compiled.linear
    assert linear is not None
    arrays: dict[str, np.ndarray] = {}
    lookups: list[dict[str, Any]] = []
    numeric_blocks: list[dict[str, Any]] = []
    for kind, spec in compiled._blocks:
        if kind == "lookup":
            for name, columns, table in spec:
                k = len(lookups)
                arrays[f"lookup{k}_columns"] = np.asarray(columns, dtype=np.int64)
                arrays[f"lookup{k}_table"] = np.asarray(table, dtype=np.float64)
                lookups.append({"name": name})
            continue
        transformer, names, columns = spec
        key = f"numeric{len(numeric_blocks)}"
        steps = _plain_numeric_steps(transformer, names, key, arrays)
        if steps is None:
            return None
        numeric_blocks.append(
            {
                "key": key,
                "inputs": list(names),
                "columns": [int(c) for c in columns],
                "steps": steps,
            }
        )
    inner = linear.inner
    if type(inner)._p_below is LogConsumptionBase._p_below:
        link = "normal"
        arrays["sigma"] = np.array([inner.sigma_], dtype=np.float64)
    elif type(inner)._p_below is QuantilePMT._p_below:
        # the quantile model's link: its residual quantiles at probabilities 0, 0.005, ..., 1
        link = "interp"
        arrays["link_x"] = np.asarray(inner.residual_quantiles_, dtype=np.float64)
        arrays["link_p"] = np.linspace(0.0, 1.0, 201)
    else:
        return None
    calibrator = linear.calibrator
    residual_interp = "numpy"
    if calibrator is None:
        calibrator_kind = "none"
    elif type(calibrator) is BetaCalibrator:
        calibrator_kind = "beta"
        arrays["beta_coef"] = np.asarray(calibrator.coef_, dtype=np.float64)
        arrays["beta_eps"] = np.array([1e-4])  # BetaCalibrator's clip (the probe proves it)
    elif type(calibrator) is ResidualCalibrator:
        calibrator_kind = "residual"
        arrays["residual_grid"] = np.linspace(-40.0, 10.0, 2001)  # its grid (probe-proven)
        arrays["residual_cdf"] = np.asarray(calibrator.cdf_, dtype=np.float64)
        fast = GridInterp(arrays["residual_grid"], arrays["residual_cdf"]).matches()
        residual_interp = "grid" if fast else "numpy"
    else:
        return None
    arrays["coef"] = np.asarray(linear.coef, dtype=np.float64)
    arrays["intercept"] = np.array([linear.intercept], dtype=np.float64)
    arrays["factor"] = np.ascontiguousarray(linear.factor, dtype=np.float64)
    arrays["log_line"] = np.array([linear.log_line], dtype=np.float64)
    arrays["z"] = np.array([float(ndtri(1.0 - _PLAIN_ALPHA / 2.0))])
    arrays["cuts"] = np.asarray(compiled.cuts, dtype=np.float64)
    meta = {
        "format": FORMAT,
        "inputs": [str(c) for c in compiled.model.feature_names_in_],
        "width": int(compiled.width),
        "lookups": lookups,
        "numeric_blocks": numeric_blocks,
        "link": link,
        "calibrator": calibrator_kind,
        "residual_interp": residual_interp,
        "alpha": _PLAIN_ALPHA,
    }
    return meta, arrays


def _plain_numeric_steps(
    transformer: Any, names: list[str], key: str, arrays: dict[str, np.ndarray]
) -> list[dict[str, Any]] | None:
    """The steps of a numeric feature block as plain arithmetic, or None for another block."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if not isinstance(transformer, Pipeline) or not transformer.steps:
        return None
    if not all(n in COUNT_PROXIES or n in NUMERIC_PROXIES for n in names):
        return None  # booleans take another parser in to_float
    first = transformer.steps[0][1]
    if not (isinstance(first, FunctionTransformer) and first.func is to_float):
        return None
    logs = {"_log_area": "log_area", "_log_area_pc": "log_area_pc"}
    steps: list[dict[str, Any]] = []
    for k, (_, step) in enumerate(transformer.steps[1:]):
        prefix = f"{key}_step{k}"
        if isinstance(step, SimpleImputer):
            missing = step.missing_values
            if step.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
                return None
            arrays[f"{prefix}_statistics"] = np.asarray(step.statistics_, dtype=np.float64)
            steps.append({"kind": "impute"})
        elif isinstance(step, FunctionTransformer):
            func = step.func
            if getattr(func, "__module__", None) != "targeting.pmt.features" or step.kw_args:
                return None
            if getattr(func, "__name__", None) not in logs:
                return None
            steps.append({"kind": logs[func.__name__]})
        elif isinstance(step, StandardScaler):
            mean = step.mean_ if step.with_mean else None
            scale = step.scale_ if step.with_std else None
            if mean is not None:
                arrays[f"{prefix}_mean"] = np.asarray(mean, dtype=np.float64)
            if scale is not None:
                arrays[f"{prefix}_scale"] = np.asarray(scale, dtype=np.float64)
            steps.append({"kind": "scale", "mean": mean is not None, "scale": scale is not None})
        else:
            return None
    return steps
