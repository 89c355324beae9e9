"""Field lists: the verification plan as a print-friendly Excel workbook and as CSV.

The workbook is what operators carry into the field:

- a cover sheet (``Ringkasan``) with the plan's headline numbers and how to use the lists, in
  Bahasa Indonesia with English;
- one sheet per kecamatan, in blocks of one operator-day (sorted by visit date, operator and order
  in the day), with empty columns for the visit result and notes;
- a ``not_ranked`` sheet with counts only (by reason, and by kecamatan × reason).

The plan itself carries no PII; a caller that wants names and addresses on the field lists joins
``head_name`` / ``address`` from the registry into ``plan.plan`` before writing. Such files stay in
the local output folder (DESIGN.md §8).

Writes are atomic (a temporary file in the same folder, then ``os.replace``) and the content is
deterministic: no timestamps in cells, and the workbook's created/modified properties are fixed.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from targeting.data.io import atomic_write
from targeting.data.schema import OUTCOME_RESULTS
from targeting.plan.ranking import NOT_RANKED_REASONS, VerificationPlan

__all__ = ["COVER_SHEET", "NOT_RANKED_SHEET", "write_plan_csv", "write_plan_workbook"]

COVER_SHEET = "Ringkasan"
NOT_RANKED_SHEET = "not_ranked"
FIXED_TIME = _dt.datetime(2025, 1, 1)
"""Workbook created/modified property, fixed so identical plans give identical files' content."""

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Rencana verifikasi rumah tangga", "Household verification plan"),
    "list_title": ("Daftar kunjungan verifikasi", "Verification visit list"),
    "rank": ("Peringkat", "Rank"),
    "household_id": ("ID keluarga", "Household ID"),
    "head_name": ("Nama kepala keluarga", "Head of household"),
    "address": ("Alamat", "Address"),
    "kelurahan": ("Kelurahan", "Kelurahan"),
    "rt": ("RT", "RT"),
    "rw": ("RW", "RW"),
    "p_extreme": ("Peluang miskin ekstrem", "P(extreme poor)"),
    "interval": ("Rentang", "Range"),
    "desil": ("Desil", "Decile"),
    "reasons": ("Alasan", "Reasons"),
    "result": ("Hasil kunjungan", "Result"),
    "notes": ("Catatan", "Notes"),
    "workday": ("Hari kerja", "Workday"),
    "operator": ("Operator", "Operator"),
    "reason": ("Alasan", "Reason"),
    "count": ("Jumlah", "Count"),
    "kecamatan": ("Kecamatan", "Kecamatan"),
    "total": ("Jumlah", "Total"),
    "households_planned": ("Rumah tangga dalam rencana", "Households planned"),
    "operators_used": ("Operator", "Operators"),
    "operator_days": ("Hari-operator", "Operator-days"),
    "expected_finds": ("Perkiraan miskin ekstrem ditemukan", "Expected extreme-poor finds"),
    "expected_finds_per_visit": ("Perkiraan temuan per kunjungan", "Expected finds per visit"),
    "period": ("Periode", "Period"),
    "not_ranked_title": (
        "Rumah tangga di luar rencana (jumlah saja)",
        "Households not in the plan (counts only)",
    ),
    "how_title": ("Cara memakai", "How to use"),
}

_HOW_TO: list[tuple[str, str]] = [
    (
        "Setiap lembar kecamatan berisi blok per operator per hari, urut tanggal kunjungan.",
        "Each kecamatan sheet has one block per operator-day, in visit-date order.",
    ),
    (
        "Kunjungi rumah tangga sesuai urutan di dalam blok (peluang tertinggi lebih dulu).",
        "Visit households in the order of the block (highest probability first).",
    ),
    (
        "Isi kolom 'Hasil kunjungan' dengan: " + ", ".join(OUTCOME_RESULTS) + ".",
        "Fill the 'Result' column with one of: " + ", ".join(OUTCOME_RESULTS) + ".",
    ),
    (
        "Peluang adalah perkiraan model (PMT), bukan keputusan; hasil kunjungan yang menentukan.",
        "Probabilities are model (PMT) estimates, not decisions; the visit decides.",
    ),
    (
        "Daftar ini memuat data pribadi: simpan dan musnahkan sesuai aturan.",
        "These lists hold personal data: store and destroy them by the rules.",
    ),
]

_REASON_TEXT: dict[str, tuple[str, str]] = {
    "reached": ("sudah menerima PKH/BPNT", "already reached (PKH/BPNT)"),
    "verified": ("sudah diverifikasi", "already verified"),
    "invalid_row": ("data tidak valid / tanpa skor", "invalid row / not scored"),
    "beyond_capacity": ("di luar kapasitas periode ini", "beyond this period's capacity"),
}

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BLOCK_FILL = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _t(key: str, lang: str) -> str:
    bahasa, english = _TEXT[key]
    if bahasa == english:
        return bahasa
    return f"{bahasa} / {english}" if lang == "id" else f"{english} / {bahasa}"


def _pair(pair: tuple[str, str], lang: str) -> str:
    return f"{pair[0]} / {pair[1]}" if lang == "id" else f"{pair[1]} / {pair[0]}"


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "-", str(name)).strip("'") or "Kecamatan"
    base = base[:31]
    candidate, i = base, 2
    while candidate.lower() in taken:
        suffix = f" ({i})"
        candidate = base[: 31 - len(suffix)] + suffix
        i += 1
    taken.add(candidate.lower())
    return candidate


def _percent(value: object) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if pd.notna(v) else None


def _interval(low: object, high: object) -> str:
    lo, hi = _percent(low), _percent(high)
    if lo is None or hi is None:
        return ""
    return f"{lo * 100:.0f}–{hi * 100:.0f} %"


def _print_setup(ws: Worksheet, header_rows: str, freeze: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.print_title_rows = header_rows
    ws.freeze_panes = freeze


def _cover(ws: Worksheet, plan: VerificationPlan, lang: str) -> None:
    summary = plan.summary()
    ws["A1"] = _t("title", lang)
    ws["A1"].font = Font(bold=True, size=14)
    row = 3
    period = ""
    if summary["first_visit_date"]:
        period = f"{summary['first_visit_date']} – {summary['last_visit_date']}"
    lines: list[tuple[str, object]] = [
        (_t("period", lang), period),
        (_t("households_planned", lang), summary["households_planned"]),
        (_t("operators_used", lang), summary["operators_used"]),
        (_t("operator_days", lang), summary["operator_days"]),
        (_t("expected_finds", lang), round(summary["expected_finds"], 1)),
        (_t("expected_finds_per_visit", lang), round(summary["expected_finds_per_visit"], 3)),
    ]
    for reason in NOT_RANKED_REASONS:
        lines.append((_pair(_REASON_TEXT[reason], lang), summary["not_ranked"][reason]))
    for label, value in lines:
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        ws.cell(row=row, column=2, value=value)
        row += 1
    row += 1
    ws.cell(row=row, column=1, value=_t("how_title", lang)).font = Font(bold=True, size=12)
    row += 1
    for i, pair in enumerate(_HOW_TO, start=1):
        ws.cell(row=row, column=1, value=f"{i}. {_pair(pair, lang)}")
        row += 1
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 26
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _columns(frame: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(key, source, width) of the list's columns, keeping only those the plan has."""
    spec: list[tuple[str, str, float]] = [
        ("rank", "rank", 9),
        ("household_id", "household_id", 16),
        ("head_name", "head_name", 24),
        ("address", "address", 30),
        ("kelurahan", "kelurahan", 16),
        ("rt", "rt", 6),
        ("rw", "rw", 6),
        ("p_extreme", "p_extreme", 11),
        ("interval", "p_low", 12),
        ("desil", "desil", 7),
        ("reasons", "reason_1", 48),
        ("result", "", 20),
        ("notes", "", 28),
    ]
    return [(k, s, w) for k, s, w in spec if s == "" or s in frame.columns]


def _kecamatan_sheet(ws: Worksheet, title: str, frame: pd.DataFrame, lang: str) -> None:
    cols = _columns(frame)
    ncol = len(cols)
    ws.cell(row=1, column=1, value=f"{_t('list_title', lang)} — Kecamatan {title}")
    ws.cell(row=1, column=1).font = Font(bold=True, size=12)
    for j, (key, _, width) in enumerate(cols, start=1):
        cell = ws.cell(row=2, column=j, value=_t(key, lang))
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(j)].width = width
    result_col = next(j for j, (k, _, _) in enumerate(cols, start=1) if k == "result")
    validation = DataValidation(
        type="list", formula1='"' + ",".join(OUTCOME_RESULTS) + '"', allow_blank=True
    )
    ws.add_data_validation(validation)
    reason_cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in frame.columns]
    frame = frame.sort_values(["visit_date", "operator", "order_in_day"], kind="stable")
    row = 3
    first_data, last_data = None, None
    for (date, operator), block in frame.groupby(["visit_date", "operator"], sort=False):
        kel = ", ".join(sorted(block["kelurahan"].astype(str).unique()))
        day = int(block["workday"].iloc[0])
        header = (
            f"{_t('workday', lang)} {day} · {date} · {operator} · Kelurahan {kel} ({len(block)})"
        )
        cell = ws.cell(row=row, column=1, value=header)
        cell.font = Font(bold=True)
        for j in range(1, ncol + 1):
            ws.cell(row=row, column=j).fill = _BLOCK_FILL
        row += 1
        for rec in block.to_dict("records"):
            for j, (key, source, _) in enumerate(cols, start=1):
                if key == "interval":
                    value: object = _interval(rec.get("p_low"), rec.get("p_high"))
                elif key == "reasons":
                    value = "; ".join(str(rec[c]) for c in reason_cols if _filled(rec[c]))
                elif key == "p_extreme":
                    value = _percent(rec[source])
                elif source == "":
                    value = None
                else:
                    value = _plain(rec[source])
                cell = ws.cell(row=row, column=j, value=value)
                cell.border = _BORDER
                cell.alignment = Alignment(wrap_text=key in {"reasons", "address"}, vertical="top")
                if key == "p_extreme":
                    cell.number_format = "0%"
            first_data = first_data or row
            last_data = row
            row += 1
    if first_data is not None:
        letter = get_column_letter(result_col)
        validation.add(f"{letter}{first_data}:{letter}{last_data}")
    _print_setup(ws, header_rows="1:2", freeze="C3")


def _filled(value: object) -> bool:
    return (
        value is not None and not (isinstance(value, float) and pd.isna(value)) and str(value) != ""
    )


def _plain(value: object) -> object:
    """A cell value openpyxl accepts (numpy scalars to Python, missing to empty)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA:
        return None
    return value


def _not_ranked_sheet(ws: Worksheet, plan: VerificationPlan, lang: str) -> None:
    ws["A1"] = _t("not_ranked_title", lang)
    ws["A1"].font = Font(bold=True, size=12)
    nr = plan.not_ranked
    counts = nr["reason"].value_counts()
    ws.cell(row=3, column=1, value=_t("reason", lang)).font = Font(bold=True)
    ws.cell(row=3, column=2, value="code").font = Font(bold=True)
    ws.cell(row=3, column=3, value=_t("count", lang)).font = Font(bold=True)
    row = 4
    for reason in NOT_RANKED_REASONS:
        ws.cell(row=row, column=1, value=_pair(_REASON_TEXT[reason], lang))
        ws.cell(row=row, column=2, value=reason)
        ws.cell(row=row, column=3, value=int(counts.get(reason, 0)))
        row += 1
    ws.cell(row=row, column=1, value=_t("total", lang)).font = Font(bold=True)
    ws.cell(row=row, column=3, value=len(nr)).font = Font(bold=True)
    row += 2
    table = pd.crosstab(nr["kecamatan"].astype(str), nr["reason"].astype(str))
    table = table.reindex(columns=NOT_RANKED_REASONS, fill_value=0).sort_index()
    ws.cell(row=row, column=1, value=_t("kecamatan", lang)).font = Font(bold=True)
    for j, reason in enumerate(NOT_RANKED_REASONS, start=2):
        ws.cell(row=row, column=j, value=reason).font = Font(bold=True)
    row += 1
    for kecamatan, values in table.iterrows():
        ws.cell(row=row, column=1, value=str(kecamatan) or "?")
        for j, reason in enumerate(NOT_RANKED_REASONS, start=2):
            ws.cell(row=row, column=j, value=int(values[reason]))
        row += 1
    ws.column_dimensions["A"].width = 55
    for j in range(2, 2 + len(NOT_RANKED_REASONS)):
        ws.column_dimensions[get_column_letter(j)].width = 16
    ws.page_setup.orientation = "landscape"


class _FixedTimeZipFile(ZipFile):
    """A zip archive whose entries all carry one fixed time, so equal workbooks are equal bytes."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # type: ignore[override]
        if not isinstance(zinfo_or_arcname, ZipInfo):
            info = ZipInfo(str(zinfo_or_arcname), date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        return super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # type: ignore[override]
        # openpyxl streams worksheets through temporary files, which would carry their mtime
        with open(filename, "rb") as handle:
            data = handle.read()
        self.writestr(arcname or Path(filename).name, data, compress_type, compresslevel)


def _save(wb: Workbook, path: Path) -> None:
    """Save like openpyxl's ``save_workbook`` but keep the fixed modified time."""
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "targeting"
    with _FixedTimeZipFile(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()


def write_plan_workbook(plan: VerificationPlan, path: Path, lang: str = "id") -> Path:
    """Write the plan as a print-friendly Excel workbook, atomically.

    Parameters
    ----------
    plan : VerificationPlan
        From :func:`targeting.plan.ranking.build_plan`; ``plan.plan`` may carry ``head_name`` and
        ``address`` joined from the registry (they are written when present).
    path : pathlib.Path
        Target ``.xlsx`` file; its folder is created if needed.
    lang : {"id", "en"}
        Which language comes first in the bilingual labels (both are always written).

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Sheets: ``Ringkasan`` (cover), one per kecamatan (alphabetical; names made safe for Excel),
    ``not_ranked`` (aggregates). Each kecamatan sheet: title row, header row (repeated on every
    printed page, frozen with the rank and id columns), then per operator-day a shaded block row
    followed by its households; landscape, fit to one page wide. ``p_extreme`` is a number shown
    as a percentage; the result column offers a drop-down of the outcome codes.
    """
    if lang not in {"id", "en"}:
        raise ValueError(f"lang must be 'id' or 'en', got {lang!r}")
    path = Path(path)
    wb = Workbook()
    cover = wb.active
    cover.title = COVER_SHEET
    _cover(cover, plan, lang)
    taken = {COVER_SHEET.lower(), NOT_RANKED_SHEET.lower()}
    frame = plan.plan
    for kecamatan in sorted(frame["kecamatan"].astype(str).unique()):
        ws = wb.create_sheet(_sheet_name(kecamatan, taken))
        _kecamatan_sheet(
            ws, kecamatan, frame.loc[frame["kecamatan"].astype(str) == kecamatan], lang
        )
    _not_ranked_sheet(wb.create_sheet(NOT_RANKED_SHEET), plan, lang)
    return atomic_write(path, lambda tmp: _save(wb, tmp))


def write_plan_csv(plan: VerificationPlan, folder: Path) -> dict[str, Path]:
    """Write ``plan.csv`` and ``not_ranked.csv`` (UTF-8, no index) atomically into ``folder``.

    Parameters
    ----------
    plan : VerificationPlan
    folder : pathlib.Path
        Created if needed.

    Returns
    -------
    dict
        ``{"plan": path, "not_ranked": path}``.
    """
    folder = Path(folder)
    out = {}
    for name, frame in [("plan", plan.plan), ("not_ranked", plan.not_ranked)]:
        target = folder / f"{name}.csv"
        atomic_write(target, lambda tmp, f=frame: f.to_csv(tmp, index=False, encoding="utf-8"))
        out[name] = target
    return out
