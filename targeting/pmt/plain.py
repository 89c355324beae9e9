"""A linear PMT champion as plain arrays: scoring without scikit-learn, statsmodels or MLflow.

``targeting score`` on a million households spent more time starting than scoring: importing
scikit-learn, SciPy's statistics and statsmodels, and unpickling the fitted pipeline. Once the
pipeline is compiled (:mod:`targeting.pmt.compiled`), a linear champion is nothing but arrays:
per-category lookup tables of its features, the few arithmetic steps of its numeric features
(imputation, logarithm, standardisation), the coefficients, the covariance factor of the exact
interval, the link and the increasing recalibration map, and the desil cut-points.
:class:`PlainScorer` holds those arrays and evaluates the same floating-point operations, in the
same order and on matrices of the same layout, as the compiled pipeline, so its scores are the
pipeline's bit for bit.

The arrays are written beside the model cache (:meth:`PlainScorer.save`: an ``.npz`` of the
arrays and a JSON of their structure, bound by one SHA-256) only after a probe of mixed
households was scored alike by both, bit for bit (:func:`targeting.pmt.compiled.plain_scorer`);
:meth:`PlainScorer.load` returns None when the files are missing, of another format, or do not
match their hash, and the caller then loads the full pipeline. A model of another shape
(trees, a recalibration with area offsets, a selection wrapper that takes receipt as an input)
has no plain form and is always scored by its pipeline.

This module imports numpy, pandas (through the registry contract) and, on first use, SciPy's
special functions (the normal CDF and its inverse, the logistic function): the exact same
routines the pipeline's estimator calls. It never imports scikit-learn or statsmodels.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from targeting.data.schema import (
    BOOL_PROXIES,
    CATEGORICAL_PROXIES,
    COUNT_PROXIES,
    KECAMATAN_KELURAHAN_COUNTS,
    ORDERED_PROXIES,
)

__all__ = [
    "CATEGORY_LEVELS",
    "COUNT_DOMAIN",
    "FORMAT",
    "GridInterp",
    "PlainScorer",
    "desil_from_cuts",
    "discrete_domain",
    "encode_levels",
    "join_chunks",
    "row_chunks",
]

FORMAT = "targeting-plain-linear/1"
"""The artifact's format; a file of another format is not read (the pipeline scores)."""

CATEGORY_LEVELS: dict[str, list[str]] = {
    **ORDERED_PROXIES,
    **CATEGORICAL_PROXIES,
    # validation leaves a kecamatan in the city profile's spelling ("Cipocok Jaya"), not lower case
    "kecamatan": list(KECAMATAN_KELURAHAN_COUNTS),
}
"""Each categorical input's levels: a household's code is the index of its level here."""

COUNT_DOMAIN = 111
"""Count proxies are looked up by value, 0 to 110 (validation bounds every count by hh_size
<= 30 or, for the head's age, by 110); a larger value has no code and is scored the pandas way."""


def discrete_domain(name: str) -> np.ndarray | None:
    """The values a proxy's code indexes (levels, counts 0..110, False/True), or None (a
    continuous proxy such as the floor area)."""
    if name in CATEGORY_LEVELS:
        return np.asarray(CATEGORY_LEVELS[name], dtype=object)
    if name in COUNT_PROXIES:
        return np.arange(COUNT_DOMAIN, dtype=np.int64)
    if name in BOOL_PROXIES:
        return np.array([False, True])
    return None


def encode_levels(values: Any, levels: list[str]) -> np.ndarray:
    """Level codes of category values: the index in ``levels``, -1 for anything else.

    Parameters
    ----------
    values : array-like of str
        Category values as validation leaves them (lower case, stripped).
    levels : list of str

    Returns
    -------
    numpy.ndarray of int64
    """
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    # a hash lookup against the levels (Arrow-backed text without a Python string per row)
    return np.asarray(pd.Index(levels, dtype=object).get_indexer(values), dtype=np.int64)


class GridInterp:
    """``np.interp(x, grid, values)`` on an evenly spaced grid, without a binary search.

    Each point's interval is guessed from the spacing and corrected by one step either way
    against the grid itself, then the same expression as NumPy's (the slope of the interval,
    as NumPy precomputes it, times the distance from its left end, plus its left value; a grid
    point gives its value; beyond the ends, the end values). Four times faster than NumPy's
    search on the 2,001-point grid of the residual recalibration map. Use it only where
    :meth:`matches` holds (checked when a plain form is built).
    """

    def __init__(self, grid: np.ndarray, values: np.ndarray):
        self.grid = np.asarray(grid, dtype=np.float64)
        self.values = np.asarray(values, dtype=np.float64)
        self.slopes = (self.values[1:] - self.values[:-1]) / (self.grid[1:] - self.grid[:-1])
        self.start = float(self.grid[0])
        self.step = (float(self.grid[-1]) - self.start) / (len(self.grid) - 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        grid, values, last = self.grid, self.values, len(self.grid) - 2
        guess = np.floor((x - self.start) / self.step)
        np.clip(guess, 0, last, out=guess)
        missing = np.isnan(x)
        guess[missing] = 0
        j = guess.astype(np.intp)
        j -= grid[j] > x
        np.clip(j, 0, last, out=j)
        j += grid[j + 1] <= x
        np.clip(j, 0, last, out=j)
        with np.errstate(invalid="ignore"):  # an infinite x: replaced by an end value below
            out = self.slopes[j] * (x - grid[j]) + values[j]
        out = np.where(grid[j] == x, values[j], out)
        out = np.where(x < grid[0], values[0], out)
        out = np.where(x >= grid[-1], values[-1], out)
        return np.where(missing, x, out)  # NumPy gives a missing x back

    def matches(self) -> bool:
        """Whether it gives ``np.interp``'s numbers bit for bit on this grid: every grid point,
        its two neighbours, points beyond both ends and a million seeded points across it."""
        rng = np.random.default_rng(0)
        width = float(self.grid[-1] - self.grid[0])
        x = np.concatenate(
            [
                self.grid,
                np.nextafter(self.grid, -np.inf),
                np.nextafter(self.grid, np.inf),
                rng.uniform(self.start - 0.1 * width, self.start + 1.1 * width, 1_000_000),
                [np.nan, -np.inf, np.inf],
            ]
        )
        expect = np.interp(x, self.grid, self.values)
        got = self(x)
        return bool(np.array_equal(np.isnan(got), np.isnan(expect))) and bool(
            np.array_equal(got[~np.isnan(got)], expect[~np.isnan(expect)])
        )


def desil_from_cuts(p_extreme: Any, cutpoints: Any) -> np.ndarray:
    """Desil 1-10 from a model's fixed cut-points (non-increasing; ``p >= cut[k-1]`` is desil k
    or poorer): a binary search in the ascending cuts, the count of cuts a household is below."""
    p = np.asarray(p_extreme, dtype=float)
    cuts = np.asarray(cutpoints, dtype=float)
    return 1 + len(cuts) - np.searchsorted(cuts[::-1], p, side="right").astype(int)


_SPECIAL: Any = None
_SPECIAL_LOCK = threading.Lock()


def row_chunks(
    codes: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    blocks: list[np.ndarray],
    chunk_size: int,
) -> Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[np.ndarray]]]:
    """Consecutive chunks of ``chunk_size`` rows of coded inputs and numeric blocks.

    The chunking of :func:`targeting.pmt.scoring.score_households`, which a compiled or plain
    scorer must follow to give the same numbers; at least one (possibly empty) chunk.
    """
    first = next(iter(codes.values())) if codes else next(iter(numbers.values()))
    n = len(first)
    for start in range(0, max(n, 1), chunk_size):
        stop = min(start + chunk_size, n)
        yield (
            {k: v[start:stop] for k, v in codes.items()},
            {k: v[start:stop] for k, v in numbers.items()},
            [b[start:stop] for b in blocks],
        )


def join_chunks(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The per-chunk score arrays of :func:`row_chunks`, end to end."""
    if len(parts) == 1:
        return parts[0]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _special() -> Any:
    """SciPy's special-function ufuncs (``ndtr``, ``ndtri``, ``expit``): the very routines the
    estimator calls, so that the plain scores round alike.

    ``import scipy.special`` costs about 0.3 s of CPU, nearly all of it its array-API layer
    (``array_api_compat`` importing ``numpy.f2py`` and ``numpy.testing``), a tenth of
    ``targeting score`` at a million households. The compiled ufuncs live in
    ``scipy.special._ufuncs`` (25 ms): it is loaded under a placeholder of its package, which is
    then removed, so a later ``import scipy.special`` builds the real package around the same
    module (the same ufunc objects). Anything unexpected (another SciPy layout, a module
    without these ufuncs) imports ``scipy.special`` itself.
    """
    global _SPECIAL
    with _SPECIAL_LOCK:
        if _SPECIAL is None:
            _SPECIAL = _load_special()
        return _SPECIAL


def _load_special() -> Any:
    import importlib
    import importlib.util
    import sys

    names = ("ndtr", "ndtri", "expit")
    if "scipy.special" not in sys.modules:
        try:
            import scipy

            spec = importlib.util.find_spec("scipy.special", scipy.__path__)
            if spec is None:
                raise ImportError("scipy.special")
            placeholder = importlib.util.module_from_spec(spec)
            sys.modules["scipy.special"] = placeholder
            try:
                ufuncs = importlib.import_module("scipy.special._ufuncs")
            finally:
                if sys.modules.get("scipy.special") is placeholder:
                    del sys.modules["scipy.special"]
            if all(isinstance(getattr(ufuncs, n, None), np.ufunc) for n in names):
                return ufuncs
        except Exception:  # another SciPy: the public module below
            pass
    import scipy.special

    return scipy.special


class PlainScorer:
    """A verified linear PMT pipeline as arrays (see the module docstring).

    Built by :func:`targeting.pmt.compiled.plain_scorer`, read by :meth:`load`. It offers what the
    streaming scorer needs of a compiled pipeline: :attr:`coded`, :attr:`numeric`,
    :meth:`score`, :meth:`codes_of` and, for the rare batch the lookups cannot code,
    :attr:`model` (the full pipeline, loaded on first use).

    Attributes
    ----------
    feature_names_in_ : list of str
        The registry columns the model takes.
    coded : list of str
        Inputs given as codes (:func:`discrete_domain`).
    numeric : list of str
        Inputs given as numbers (counts as int64, floor area as float64).
    width : int
        Number of features.
    alpha : float
        The interval's level (``1 − alpha`` central interval) the stored quantile is for.
    """

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]):
        self.meta = meta
        self.arrays = arrays
        self.feature_names_in_ = [str(c) for c in meta["inputs"]]
        self.width = int(meta["width"])
        self.lookups = [
            (str(item["name"]), arrays[f"lookup{k}_columns"], arrays[f"lookup{k}_table"])
            for k, item in enumerate(meta["lookups"])
        ]
        self.numeric_specs = meta["numeric_blocks"]
        self.coded = sorted({name for name, _, _ in self.lookups})
        self.numeric = sorted({str(n) for spec in self.numeric_specs for n in spec["inputs"]})
        self.coef = arrays["coef"]
        self.intercept = arrays["intercept"][0]
        self.factor = arrays["factor"]
        self.log_line = arrays["log_line"][0]
        self.alpha = float(meta["alpha"])
        self.z = float(arrays["z"][0])
        self.cuts = arrays["cuts"]
        self.link = str(meta["link"])
        self.calibrator = meta["calibrator"]
        # the residual map's grid, searched arithmetically when that was proven alike
        self.grid_interp = (
            GridInterp(arrays["residual_grid"], arrays["residual_cdf"])
            if self.calibrator == "residual" and meta.get("residual_interp") == "grid"
            else None
        )
        self._loader: Callable[[], Any] | None = None
        self._model: Any = None
        self._lock = threading.Lock()
        # per-thread work matrices, reused from chunk to chunk (a fresh 26 MB matrix per chunk
        # had its pages faulted in and zeroed by the kernel every time)
        self._work = threading.local()

    # --- the full pipeline, for what the arrays do not cover ---------------------------------

    def attach_loader(self, loader: Callable[[], Any]) -> PlainScorer:
        """Set how the full pipeline is loaded when needed (:attr:`model`); returns self."""
        self._loader = loader
        return self

    @property
    def model(self) -> Any:
        """The full fitted pipeline (loaded once, on first use, by the attached loader)."""
        with self._lock:
            if self._model is None:
                if self._loader is None:
                    raise ValueError(
                        "this plain scorer has no full model attached; load the model with "
                        "targeting.tracking.load_model to score rows the lookups cannot code"
                    )
                self._model = self._loader()
            return self._model

    # --- features ----------------------------------------------------------------------------

    def numeric_blocks(self, numbers: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The numeric feature blocks of these rows: the fitted steps' arithmetic, element-wise
        (so a whole batch and its chunks give the same numbers)."""
        return [self._numeric_block(spec, numbers) for spec in self.numeric_specs]

    def _numeric_block(self, spec: dict[str, Any], numbers: dict[str, np.ndarray]) -> np.ndarray:
        names = [str(n) for n in spec["inputs"]]
        first = numbers[names[0]]
        # to_float: a float frame of the inputs, column by column (C order, as it builds it)
        X = np.empty((len(first), len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            X[:, j] = np.asarray(numbers[name], dtype=np.float64)
        for k, step in enumerate(spec["steps"]):
            kind = step["kind"]
            key = f"{spec['key']}_step{k}"
            if kind == "impute":
                missing = np.isnan(X)
                if missing.any():
                    X = X.copy()
                    X[missing] = np.take(self.arrays[f"{key}_statistics"], np.nonzero(missing)[1])
            elif kind == "log_area":
                X = np.log(np.clip(X, 1.0, None))
            elif kind == "log_area_pc":
                area, size = X[:, 0], np.clip(X[:, 1], 1.0, None)
                X = np.log(np.clip(area / size, 0.5, None))[:, None]
            elif kind == "scale":
                X = np.array(X, dtype=np.float64, copy=True)
                if step["mean"]:
                    X -= self.arrays[f"{key}_mean"]
                if step["scale"]:
                    X /= self.arrays[f"{key}_scale"]
            else:  # a format this code does not know (load() refuses such files)
                raise ValueError(f"numeric step {kind!r} is not known to this version")
        return np.asarray(X, dtype=np.float64)

    def features(
        self,
        codes: dict[str, np.ndarray],
        numbers: dict[str, np.ndarray],
        numeric_blocks: list[np.ndarray] | None = None,
        reuse: bool = False,
    ) -> np.ndarray:
        """The feature matrix (float64, Fortran order, as the compiled pipeline builds it).

        With ``reuse``, the matrix is this thread's work matrix, overwritten by its next call
        (what :meth:`score` uses); otherwise a new array.
        """
        first = next(iter(codes.values())) if codes else next(iter(numbers.values()))
        if reuse:
            X = self._matrix("features", len(first), self.width, "F")
        else:
            X = np.empty((len(first), self.width), dtype=np.float64, order="F")
        for name, columns, table in self.lookups:
            code = codes[name]
            for k, column in enumerate(columns.tolist()):
                # codes are in the domain: "clip" changes nothing but, unlike "raise", writes
                # straight into the matrix (no buffered copy)
                np.take(table[:, k], code, out=X[:, column], mode="clip")
        if numeric_blocks is None:
            numeric_blocks = self.numeric_blocks(numbers)
        for spec, block in zip(self.numeric_specs, numeric_blocks, strict=True):
            X[:, spec["columns"]] = block
        return X

    # --- scores ------------------------------------------------------------------------------

    def _p_below(self, gap: np.ndarray) -> np.ndarray:
        if self.link == "normal":
            return _special().ndtr(gap / self.arrays["sigma"][0])
        return np.interp(gap, self.arrays["link_x"], self.arrays["link_p"], left=0.0, right=1.0)

    def _calibrate(self, p: np.ndarray) -> np.ndarray:
        kind = self.calibrator
        if kind == "none":
            return p
        if kind == "beta":
            eps = float(self.arrays["beta_eps"][0])
            q = np.clip(np.asarray(p, dtype=float).ravel(), eps, 1 - eps)
            design = np.column_stack([np.ones_like(q), np.log(q), -np.log1p(-q)])
            return _special().expit(design @ self.arrays["beta_coef"]).reshape(np.shape(p))
        # residual: F(Φ⁻¹(p)) on the stored grid
        t = _special().ndtri(np.clip(np.asarray(p, dtype=float).ravel(), 1e-300, 1.0 - 1e-16))
        if self.grid_interp is not None:
            return self.grid_interp(t).reshape(np.shape(p))
        grid, cdf = self.arrays["residual_grid"], self.arrays["residual_cdf"]
        return np.interp(t, grid, cdf).reshape(np.shape(p))

    def _matrix(self, name: str, rows: int, columns: int, order: str) -> np.ndarray:
        """This thread's work matrix ``name`` of shape (rows, columns), contiguous in ``order``
        (a view of a buffer kept for the next chunk; grown when a chunk is larger)."""
        size = rows * columns
        buffer = getattr(self._work, name, None)
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, dtype=np.float64)
            setattr(self._work, name, buffer)
        return buffer[:size].reshape((rows, columns), order=order)  # type: ignore[call-overload]

    def linear_scores(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """``p_extreme``, ``p_low``, ``p_high`` from the feature matrix (the estimator's own
        expressions: linear predictor, link, exact interval ``x' Σ x``, recalibration map)."""
        linear = X @ self.coef + self.intercept
        p = self._p_below(self.log_line - linear)
        # X @ F[1:] + F[0], the same product and sum, into this thread's reused matrix
        rows = self._matrix("rows", X.shape[0], self.factor.shape[1], "C")
        np.matmul(X, self.factor[1:], out=rows)
        rows += self.factor[0]
        se = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        low = self._p_below(self.log_line - (linear + self.z * se))
        high = self._p_below(self.log_line - (linear - self.z * se))
        p = self._calibrate(p)
        low, high = self._calibrate(low), self._calibrate(high)
        low, high = np.minimum(low, high), np.maximum(low, high)
        return {"p_extreme": p, "p_low": np.minimum(low, p), "p_high": np.maximum(high, p)}

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

        The numbers :meth:`targeting.pmt.compiled.CompiledPipeline.score` gives (same chunks,
        same operations). ``n_boot`` and ``seed`` are accepted for the same call: the interval
        is exact, without draws; an ``alpha`` other than the stored one, or ``n_boot`` 0 (a
        zero-width interval), is scored by the full pipeline.
        """
        if alpha != self.alpha or n_boot <= 0:
            from targeting.pmt.compiled import compile_pipeline  # imports scikit-learn

            compiled = compile_pipeline(self.model)
            if compiled is None:  # pragma: no cover - a plain scorer's model always compiles
                raise ValueError("the full model of this plain scorer no longer compiles")
            return compiled.score(codes, numbers, alpha=alpha, n_boot=n_boot, seed=seed)
        parts = [
            self.linear_scores(self.features(*chunk, reuse=True))
            for chunk in row_chunks(codes, numbers, self.numeric_blocks(numbers), chunk_size)
        ]
        scores = join_chunks(parts)
        scores["desil"] = desil_from_cuts(scores["p_extreme"], self.cuts)
        return scores

    def codes_of(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Codes of a frame of proxies as validation gives them, and which rows have them all
        (as :meth:`targeting.pmt.compiled.CompiledPipeline.codes_of`)."""
        return codes_of(frame, self.coded, self.numeric)

    # --- files -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the arrays to ``<path>.npz`` and their structure to ``<path>.json``.

        The JSON carries the SHA-256 of the ``.npz`` bytes and of itself (without that field):
        :meth:`load` reads the pair only when both match. Both files are written beside their
        final names and renamed, the JSON last (a reader never sees a half-written pair).

        Returns
        -------
        pathlib.Path
            The JSON file.
        """
        base = Path(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        npz_path, json_path = _paths(base)
        with tempfile.NamedTemporaryFile(dir=base.parent, suffix=".tmp", delete=False) as handle:
            np.savez(handle, **self.arrays)  # type: ignore[arg-type]
            arrays_tmp = handle.name
        os.replace(arrays_tmp, npz_path)
        meta = {key: value for key, value in self.meta.items() if key != "sha256"}
        meta["sha256"] = _digest(npz_path.read_bytes(), meta)
        with tempfile.NamedTemporaryFile(
            "w", dir=base.parent, suffix=".tmp", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(meta, handle, sort_keys=True, indent=1)
            meta_tmp = handle.name
        os.replace(meta_tmp, json_path)
        return json_path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PlainScorer | None:
        """The scorer saved at ``path`` (:meth:`save`), or None when it is missing, of another
        format, or does not match its SHA-256 (the caller then loads the full pipeline)."""
        npz_path, json_path = _paths(Path(path))
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            content = npz_path.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            return None
        stated = meta.pop("sha256", None)
        if stated != _digest(content, meta):
            return None
        try:
            import io

            with np.load(io.BytesIO(content), allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
            scorer = cls(meta, arrays)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None
        known = {"impute", "log_area", "log_area_pc", "scale"}
        steps = {step["kind"] for spec in scorer.numeric_specs for step in spec["steps"]}
        if not steps <= known or scorer.link not in ("normal", "interp"):
            return None
        if scorer.calibrator not in ("none", "beta", "residual"):
            return None
        _special()  # loaded once here, not by two scoring threads at once
        return scorer


def codes_of(
    frame: pd.DataFrame, coded: list[str], numeric: list[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Codes of a frame of proxies as validation gives them, and which rows have them all.

    Parameters
    ----------
    frame : pandas.DataFrame
    coded, numeric : list of str
        The inputs given as codes and as numbers.

    Returns
    -------
    (codes, ok) : dict of str to numpy.ndarray, numpy.ndarray of bool
        A row without a code (a category that is not a level, a missing value, a count above
        110) is False in ``ok``; its codes are 0 (to be scored another way).
    """
    ok = np.ones(len(frame), dtype=bool)
    codes = {}
    for name in coded:
        col = frame[name]
        if name in CATEGORY_LEVELS:
            code = encode_levels(col, CATEGORY_LEVELS[name])
        elif pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
            values = col.to_numpy()
            code = np.asarray(values, dtype=np.int64)
            if col.hasnans:
                code = np.full(len(col), -1)
        else:
            code = np.full(len(col), -1)
        domain = discrete_domain(name)
        bad = (code < 0) | (code >= len(domain))  # type: ignore[arg-type]
        ok &= ~bad
        codes[name] = np.where(bad, 0, code)
    for name in numeric:
        col = frame[name]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            ok[:] = False
    return codes, ok


def _paths(base: Path) -> tuple[Path, Path]:
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def _digest(content: bytes, meta: dict[str, Any]) -> str:
    """SHA-256 of the arrays' file and of the structure (canonical JSON, without the hash)."""
    digest = hashlib.sha256(content)
    digest.update(json.dumps(meta, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()
