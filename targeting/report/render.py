"""The planner's report, step two: report data → one self-contained HTML page.

:func:`render_report` fills the Jinja2 template ``templates/report.html.j2`` (with its style sheet
``templates/report.css`` inlined) from the report data of :func:`targeting.report.data.
build_report_data`: Bahasa Indonesia by default, English with ``lang="en"``. The page's texts live
in ``text/<lang>.yaml``, one file per language with the same keys, so that a Dinas Sosial can
change a wording without touching code. Autoescaping is on: a value from the data or a text file
always shows as text. The page opens offline: no script, font or image is fetched; the charts are
drawn here from the aggregates and embedded as base64 PNG.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import yaml

from targeting.data.io import atomic_path, json_ready
from targeting.report.data import REPORT_DATA_VERSION

__all__ = [
    "TEMPLATE",
    "languages",
    "load_text",
    "read_texts",
    "render_report",
    "write_report",
]

TEMPLATE = "report.html.j2"
"""The page's template, in the package's ``report/templates`` folder."""


def _read_text_file(path: Traversable, name: str) -> dict[str, str]:
    try:
        texts = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(
            f"report text file {name} is not valid YAML{where}; each text is one line "
            "'key: text' (see the file's header)"
        ) from exc
    if not isinstance(texts, dict):
        raise ValueError(f"report text file {name} must hold 'key: text' lines, one per text")
    for key, value in texts.items():
        if not isinstance(value, str):
            raise ValueError(
                f"report text file {name}: the text of {key!r} is not plain text; put it in "
                'double quotes, e.g. "yes"'
            )
    return {str(key): value for key, value in texts.items()}


def read_texts(folder: Traversable | str | Path | None = None) -> dict[str, dict[str, str]]:
    """The report's texts in every language: one ``<lang>.yaml`` file each, with the same keys.

    Parameters
    ----------
    folder : path-like or importlib.resources.abc.Traversable, optional
        Folder of ``<lang>.yaml`` files; default the package's ``report/text``.

    Returns
    -------
    dict
        ``{lang: {key: text}}``, languages sorted.

    Raises
    ------
    ValueError
        For a file that is not ``key: text`` YAML, a text that is not plain text (``yes`` or
        ``no`` unquoted), a folder without text files, or two files whose keys differ.
    """
    if folder is None:
        return _packaged_texts()
    root = Path(folder) if isinstance(folder, str | Path) else folder
    files = sorted(
        (entry for entry in root.iterdir() if entry.name.endswith(".yaml")),
        key=lambda entry: entry.name,
    )
    if not files:
        raise ValueError(f"no report text file (<lang>.yaml) in {root}; add id.yaml and en.yaml")
    texts = {
        entry.name.removesuffix(".yaml"): _read_text_file(entry, entry.name) for entry in files
    }
    for lang, own in texts.items():
        for other, theirs in texts.items():
            missing = sorted(set(theirs) - set(own))
            if missing:
                raise ValueError(
                    f"report text file {lang}.yaml lacks the key(s) {', '.join(missing)} that "
                    f"{other}.yaml has; add them (or remove them from {other}.yaml)"
                )
    return texts


@functools.cache
def _packaged_texts() -> dict[str, dict[str, str]]:
    return read_texts(resources.files("targeting.report") / "text")


def languages() -> list[str]:
    """The report's languages: one per ``text/<lang>.yaml`` file of the package.

    Returns
    -------
    list of str
        Sorted language codes, e.g. ``["en", "id"]``.
    """
    return list(_packaged_texts())


def load_text(lang: str) -> dict[str, str]:
    """The report's texts in one language.

    Parameters
    ----------
    lang : str
        A language of :func:`languages`.

    Returns
    -------
    dict of str to str
        Text by key, as the template looks them up (``t.title``, ``t.headline``, ...).

    Raises
    ------
    ValueError
        For an unknown language, or a faulty text file (see :func:`read_texts`).
    """
    texts = _packaged_texts()
    if lang not in texts:
        raise ValueError(f"lang must be one of {sorted(texts)}, got {lang!r}")
    return texts[lang]


# --------------------------------------------------------------------------- number formats


def _format_number(value: Any, digits: int, lang: str) -> str:
    """A number with the language's separators (id: 1.234,5; en: 1,234.5); "–" when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        text = f"{int(value):,}"
    elif isinstance(value, float | np.floating):
        text = f"{float(value):,.{digits}f}"
    else:
        return str(value)
    if lang == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


@jinja2.pass_context
def _num_filter(context: jinja2.runtime.Context, value: Any, digits: int = 0) -> str:
    """``{{ x|num(1) }}``: a number in the page's language (integers keep no decimals)."""
    return _format_number(value, digits, context["lang"])


@jinja2.pass_context
def _pct_filter(context: jinja2.runtime.Context, value: Any, digits: int = 1) -> str:
    """``{{ share|pct }}``: a share as a percentage, e.g. 0.4 → "40,0 %" in Bahasa Indonesia."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return _format_number(100 * float(value), digits, context["lang"]) + " %"


def _exact_filter(value: Any) -> str:
    """``data-value='{{ x|exact }}'``: the exact value, for readers and tests."""
    return "" if value is None else repr(json_ready(value))


def _slug_filter(name: Any) -> str:
    """An id fragment: letters, digits, ``-`` and ``_`` kept, anything else as ``-``."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(name))


@functools.cache
def _environment() -> jinja2.Environment:
    # autoescape everywhere: kelurahan names, scenario names and texts are data, never markup;
    # StrictUndefined turns a misspelt text key or data field into an error, not a blank
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("targeting.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        num=_num_filter, pct=_pct_filter, exact=_exact_filter, slug=_slug_filter
    )
    return environment


# --------------------------------------------------------------------------- charts


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fan_figure(data: dict[str, Any], t: dict[str, str]) -> str | None:
    """Small multiples: one fan chart per scenario, shared y axis."""
    from matplotlib.figure import Figure

    fans = data["forecast"].get("fan") or {}
    names = [n for n, rows in fans.items() if rows]
    if not names:
        return None
    ncols = min(2, len(names))
    nrows = math.ceil(len(names) / ncols)
    figure = Figure(figsize=(5.2 * ncols, 3.3 * nrows))
    axes = figure.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    deadline = data["forecast"].get("deadline")
    top = max(max((r.get("q95") or 0) for r in fans[n]) for n in names)
    for ax, name in zip(axes, names, strict=False):
        frame = pd.DataFrame(fans[name])
        x = pd.PeriodIndex(frame["month"], freq="M").to_timestamp()
        ax.fill_between(x, frame["q05"], frame["q95"], color="#f4b6b0", label="5–95 %")
        ax.fill_between(x, frame["q25"], frame["q75"], color="#e0645a", label="25–75 %")
        ax.plot(x, frame["q50"], color="#7a1a14", lw=2, label="median")
        if deadline:
            ax.axvline(pd.Period(deadline, freq="M").to_timestamp(), color="#1d2433", ls="--")
        ax.set_title(name, fontsize=11)
        ax.set_ylim(0, top * 1.05 if top > 0 else 1)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.set_ylabel(t["households"], fontsize=9)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8, loc="upper right")
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)


def _calibration_figure(curve: list[dict[str, Any]], t: dict[str, str]) -> str | None:
    from matplotlib.figure import Figure

    if not curve:
        return None
    frame = pd.DataFrame(curve)
    figure = Figure(figsize=(4.6, 4.0))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#9aa3b2", ls=":", lw=1)
    styles = {"before": ("#9aa3b2", "o", t["before"]), "after": ("#1f5fa8", "s", t["after"])}
    for kind, part in frame.groupby("kind", sort=False):
        color, marker, label = styles.get(str(kind), ("#333333", "o", str(kind)))
        ax.plot(part["predicted"], part["observed"], marker=marker, color=color, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(t["predicted_p"])
    ax.set_ylabel(t["observed"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return _png(figure)


# --------------------------------------------------------------------------- page


def render_report(data: dict[str, Any], lang: str = "id") -> str:
    """Render the report data as one self-contained HTML page.

    Parameters
    ----------
    data : dict
        From :func:`targeting.report.data.build_report_data` (or ``report_data.json`` of an
        MLflow run).
    lang : str
        ``"id"`` (Bahasa Indonesia, default), ``"en"`` or another language of :func:`languages`.

    Returns
    -------
    str
        The HTML page: no external request, charts embedded as PNG data URIs.

    Raises
    ------
    ValueError
        For an unknown language, a faulty text file, or report data of a newer layout.
    """
    t = load_text(lang)
    if int(data.get("version", 0)) > REPORT_DATA_VERSION:
        raise ValueError(
            f"report data version {data.get('version')} is newer than this toolkit supports "
            f"({REPORT_DATA_VERSION}); upgrade targeting"
        )
    model_card = data["model_card"]
    context = {
        "lang": lang,
        "t": t,
        "run_id": data.get("run_id"),
        "meta": data["meta"],
        "lead": data.get("lead"),
        "headline": data["headline"],
        "plan": data["plan"],
        "accounting": data.get("accounting") or {},
        "progress": data.get("progress"),
        "design_estimate": data.get("design_estimate"),
        "forecast": data["forecast"],
        "model_card": model_card,
        "fan_chart": _fan_figure(data, t),
        "calibration_chart": _calibration_figure(model_card.get("calibration_curve") or [], t),
    }
    return _environment().get_template(TEMPLATE).render(context)


def write_report(path: str | Path, html_text: str) -> Path:
    """Write the report atomically; refuse if it contains a personal-data column name.

    Parameters
    ----------
    path : path-like
    html_text : str

    Returns
    -------
    pathlib.Path
    """
    for column in ("nik_head", "head_name"):
        if column in html_text:
            raise RuntimeError(f"refusing to write a report that mentions {column!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    return path
