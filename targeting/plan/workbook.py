"""Field lists: the verification plan as a print-friendly Excel workbook and as CSV.

The workbook is what operators carry into the field:

- a cover sheet (``Ringkasan``) with the plan's headline numbers and how to use the lists, in
  Bahasa Indonesia with English;
- one sheet per kecamatan, grouped per operator (a printed page break before each operator) and
  within an operator in blocks of one operator-day; every row carries its planned visit date and
  operator (so the rows can come back on their own), with an empty result column (a drop-down
  of the outcome codes that refuses anything else) and a notes column; the footer shows the
  kecamatan, the operators and "Halaman x dari y";
- a ``not_ranked`` sheet with counts only (by reason, and by kecamatan × reason).

The plan itself carries no PII; a caller that wants names and addresses on the field lists joins
``head_name`` / ``address`` from the registry into ``plan.plan`` before writing. Such files stay in
the local output folder (DESIGN.md §8).

Every workbook carries its plan id (the defined name ``targeting_plan_id``, shown on the cover);
:func:`read_plan_workbook` reads the filled workbook back for ``targeting ingest``, which refuses
a workbook of another plan. Text that starts with ``= + - @`` is written as text, never as a
formula (a name typed as ``=HYPERLINK(...)`` stays inert), and escaped with a ``'`` in CSV.

Writes are atomic (a temporary file in the same folder, then ``os.replace``) and the content is
deterministic: no timestamps in cells, and the workbook's created/modified properties are fixed.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from targeting.data.io import atomic_path
from targeting.data.schema import OUTCOME_RESULTS, RESULT_CODES_ID
from targeting.plan.ranking import NOT_RANKED_REASONS, VerificationPlan

__all__ = [
    "COVER_SHEET",
    "NOT_RANKED_SHEET",
    "PLAN_ID_NAME",
    "FilledWorkbook",
    "escape_formula",
    "is_plan_workbook",
    "read_plan_workbook",
    "type_results",
    "write_plan_csv",
    "write_plan_workbook",
]

COVER_SHEET = "Ringkasan"
NOT_RANKED_SHEET = "not_ranked"
PLAN_ID_NAME = "targeting_plan_id"
"""The workbook's defined name that holds the plan id (a cell of the cover sheet)."""
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
    "visit_date": ("Tanggal kunjungan", "Visit date"),
    "plan_id": ("ID rencana", "Plan id"),
    "codes_title": ("Kode hasil kunjungan", "Visit result codes"),
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
    "expected_finds_interval": (
        "Rentang 90 % perkiraan temuan",
        "90 % interval of the expected finds",
    ),
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
        "Isi kolom 'Hasil kunjungan' dengan salah satu kode di bawah (bahasa Indonesia atau "
        "Inggris); kode lain ditolak.",
        "Fill the 'Result' column with one of the codes below (Bahasa Indonesia or English); "
        "other text is refused.",
    ),
    (
        "Jika kunjungan tidak pada tanggal rencana, ubah 'Tanggal kunjungan' (dd/mm/yyyy).",
        "If the visit was not on the planned date, change 'Visit date' (dd/mm/yyyy).",
    ),
    (
        "Kembalikan berkas ini apa adanya: 'targeting ingest verification_plan.xlsx'.",
        "Return this file as it is: 'targeting ingest verification_plan.xlsx'.",
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
    "attempts_exhausted": (
        "sudah 3 kali dikunjungi tanpa hasil",
        "visited 3 times without a result",
    ),
    "retry_later": (
        "baru dikunjungi tanpa hasil; dijadwalkan lagi nanti",
        "visited recently without a result; planned again later",
    ),
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


def _percent(value: Any) -> float | None:
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


def _cover(ws: Worksheet, plan: VerificationPlan, lang: str, plan_id: str) -> None:
    summary = plan.summary()
    ws["A1"] = _t("title", lang)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = _t("plan_id", lang)
    ws["A2"].font = Font(bold=True)
    ws["B2"] = plan_id
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
        *(
            [
                (
                    _t("expected_finds_interval", lang),
                    f"{summary['expected_finds_low']:,.0f} – {summary['expected_finds_high']:,.0f}",
                )
            ]
            if summary.get("expected_finds_low") is not None
            else []
        ),
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
    row += 1
    ws.cell(row=row, column=1, value=_t("codes_title", lang)).font = Font(bold=True, size=12)
    row += 1
    for code in OUTCOME_RESULTS:
        ws.cell(row=row, column=1, value=RESULT_CODES_ID[code])
        ws.cell(row=row, column=2, value=code)
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
        ("visit_date", "visit_date", 12),
        ("operator", "operator", 16),
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
        type="list",
        formula1='"' + ",".join(_DROPDOWN_CODES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop",
        errorTitle="Kode tidak dikenal",
        error="Pilih salah satu kode dari daftar: " + ", ".join(RESULT_CODES_ID.values()) + ".",
        showInputMessage=True,
        promptTitle="Hasil kunjungan",
        prompt="Pilih dari daftar (lihat lembar Ringkasan).",
    )
    ws.add_data_validation(validation)
    reason_cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in frame.columns]
    # one operator's month together, so each operator's pages can be printed and handed out
    frame = frame.sort_values(["operator", "visit_date", "order_in_day"], kind="stable")
    row = 3
    first_data, last_data = None, None
    operators: list[str] = []
    for (operator, date), block in frame.groupby(["operator", "visit_date"], sort=False):
        if operators and operators[-1] != operator:
            ws.row_breaks.append(Break(id=row - 1))
        if not operators or operators[-1] != operator:
            operators.append(str(operator))
        kel = ", ".join(sorted(block["kelurahan"].astype(str).unique()))
        day = int(block["workday"].iloc[0])
        header = (
            f"{_t('workday', lang)} {day} · {date} · {operator} · Kelurahan {kel} ({len(block)})"
        )
        cell = ws.cell(row=row, column=1, value=escape_formula(header))
        cell.data_type = "s"
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
                elif key == "visit_date":
                    value = _dt.date.fromisoformat(str(rec[source])[:10])
                elif source == "":
                    value = None
                else:
                    value = _plain(rec[source])
                cell = ws.cell(row=row, column=j, value=value)
                if isinstance(value, str):
                    # text stays text: a value starting with "=" is never a formula
                    cell.data_type = "s"
                cell.border = _BORDER
                cell.alignment = Alignment(wrap_text=key in {"reasons", "address"}, vertical="top")
                if key == "p_extreme":
                    cell.number_format = "0%"
                elif key == "visit_date":
                    cell.number_format = "DD/MM/YYYY"
            first_data = first_data or row
            last_data = row
            row += 1
    if first_data is not None:
        letter = get_column_letter(result_col)
        validation.add(f"{letter}{first_data}:{letter}{last_data}")
    _print_setup(ws, header_rows="1:2", freeze="C3")
    ws.oddFooter.left.text = _footer_text(f"Kecamatan {title}")
    ws.oddFooter.center.text = "Halaman &P dari &N"
    shown = operators[0] if len(operators) == 1 else f"{operators[0]} – {operators[-1]}"
    ws.oddFooter.right.text = _footer_text(f"Operator {shown}" if operators else "")
    ws.evenFooter.left.text = ws.oddFooter.left.text
    ws.evenFooter.center.text = ws.oddFooter.center.text
    ws.evenFooter.right.text = ws.oddFooter.right.text


_DROPDOWN_CODES = [*RESULT_CODES_ID.values(), *OUTCOME_RESULTS]
"""The drop-down offers the Bahasa codes first, then the English ones (both are accepted)."""


def _footer_text(text: str) -> str:
    """Footer text with Excel's ``&`` codes escaped (a name with ``&`` prints as written)."""
    return text.replace("&", "&&")[:80]


def escape_formula(value: object) -> object:
    """Text that a spreadsheet would run as a formula (``= + - @``, tab, CR), made inert.

    Used for CSV cells (a leading ``'``, the OWASP rule); in the workbook such text is also
    written as a text cell.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
    if isinstance(value, str):
        # control characters make an invalid workbook (and crash the write); drop them
        value = _CONTROL.sub("", value)
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def write_plan_workbook(
    plan: VerificationPlan, path: Path, lang: str = "id", plan_id: str = ""
) -> Path:
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
    plan_id : str
        The plan's id (``targeting ingest`` checks it against the working state).

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
    _cover(cover, plan, lang, plan_id)
    wb.defined_names[PLAN_ID_NAME] = DefinedName(PLAN_ID_NAME, attr_text=f"'{COVER_SHEET}'!$B$2")
    taken = {COVER_SHEET.lower(), NOT_RANKED_SHEET.lower()}
    frame = plan.plan
    for kecamatan in sorted(frame["kecamatan"].astype(str).unique()):
        ws = wb.create_sheet(_sheet_name(kecamatan, taken))
        _kecamatan_sheet(
            ws, kecamatan, frame.loc[frame["kecamatan"].astype(str) == kecamatan], lang
        )
    _not_ranked_sheet(wb.create_sheet(NOT_RANKED_SHEET), plan, lang)
    with atomic_path(path) as tmp:
        _save(wb, tmp)
    return Path(path)


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
        with atomic_path(target) as tmp:
            _escaped(frame).to_csv(tmp, index=False, encoding="utf-8")
        out[name] = target
    return out


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with the text cells that a spreadsheet would run as formulas made inert."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(escape_formula)
    return out


@dataclass
class FilledWorkbook:
    """The results typed into a verification workbook.

    Attributes
    ----------
    plan_id : str
        The workbook's plan id ("" when it has none).
    outcomes : pandas.DataFrame
        One row per household with a result: ``household_id, visit_date, operator, result,
        notes, sheet, row`` (``visit_date`` as the cell holds it: a date, or typed text).
    blank_rows : int
        Planned households without a result yet (not visited, or not typed in).
    """

    plan_id: str
    outcomes: pd.DataFrame
    blank_rows: int


def is_plan_workbook(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a verification workbook written by :func:`write_plan_workbook`."""
    if Path(path).suffix.lower() not in {".xlsx", ".xlsm"}:
        return False
    wb = load_workbook(path, read_only=False)
    return PLAN_ID_NAME in wb.defined_names or (
        COVER_SHEET in wb.sheetnames and NOT_RANKED_SHEET in wb.sheetnames
    )


def _labels() -> dict[str, str]:
    """Header label (either language first, or alone) -> column key."""
    out = {}
    for key in ("household_id", "visit_date", "operator", "result", "notes"):
        for lang in ("id", "en"):
            out[_t(key, lang).casefold()] = key
        for text in _TEXT[key]:
            out[text.casefold()] = key
    return out


def read_plan_workbook(path: str | os.PathLike[str]) -> FilledWorkbook:
    """Read the results an office typed into a verification workbook.

    Parameters
    ----------
    path : path-like
        The filled ``verification_plan.xlsx`` (saved by Excel or LibreOffice).

    Returns
    -------
    FilledWorkbook

    Notes
    -----
    Each kecamatan sheet's header row (row 2) names the columns; rows without a household id
    (the operator-day block rows) are skipped; rows without a result are counted as blank.
    Dates typed as text stay text for :func:`targeting.data.schema.parse_visit_dates`.
    """
    wb = load_workbook(path, data_only=True)
    plan_id = ""
    if PLAN_ID_NAME in wb.defined_names:
        for sheet, ref in wb.defined_names[PLAN_ID_NAME].destinations:
            value = wb[sheet][ref.replace("$", "")].value
            plan_id = "" if value is None else str(value).strip()
    labels = _labels()
    records: list[dict[str, object]] = []
    blank = 0
    for ws in wb.worksheets:
        if ws.title in {COVER_SHEET, NOT_RANKED_SHEET}:
            continue
        header = [c.value for c in ws[2]] if ws.max_row >= 2 else []
        where = {
            labels[str(v).strip().casefold()]: j
            for j, v in enumerate(header)
            if v is not None and str(v).strip().casefold() in labels
        }
        if "household_id" not in where or "result" not in where:
            continue
        for i, values in enumerate(ws.iter_rows(min_row=3, values_only=True), start=3):
            hh = values[where["household_id"]] if where["household_id"] < len(values) else None
            if hh is None or not str(hh).strip():
                continue
            rec = {k: values[j] if j < len(values) else None for k, j in where.items()}
            if rec.get("result") is None or not str(rec["result"]).strip():
                blank += 1
                continue
            rec["household_id"] = str(hh).strip()
            rec["sheet"], rec["row"] = ws.title, i
            records.append(rec)
    columns = ["household_id", "visit_date", "operator", "result", "notes", "sheet", "row"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return FilledWorkbook(plan_id=plan_id, outcomes=frame, blank_rows=blank)


def type_results(
    path: str | os.PathLike[str], outcomes: pd.DataFrame, visited_on: str | None = None
) -> int:
    """Type outcomes into a verification workbook's result cells, as an office would (demo).

    Results go in as the Bahasa codes of the drop-down; with ``visited_on`` every visit date
    is retyped as that day (``dd/mm/yyyy`` text), as when a plan's visits are recorded early.

    Parameters
    ----------
    path : path-like
        A workbook written by :func:`write_plan_workbook` (changed in place).
    outcomes : pandas.DataFrame
        ``household_id, result`` (e.g. :class:`targeting.data.synthetic.FieldOutcomeSimulator`).
    visited_on : str, optional
        ``YYYY-MM-DD``.

    Returns
    -------
    int
        Result cells filled.
    """
    results = outcomes.set_index(outcomes["household_id"].astype(str))["result"]
    wb = load_workbook(path)
    labels = _labels()
    filled = 0
    for ws in wb.worksheets:
        if ws.title in {COVER_SHEET, NOT_RANKED_SHEET} or ws.max_row < 2:
            continue
        where = {
            labels[str(c.value).strip().casefold()]: c.column
            for c in ws[2]
            if c.value is not None and str(c.value).strip().casefold() in labels
        }
        if "household_id" not in where or "result" not in where:
            continue
        for row in range(3, ws.max_row + 1):
            hh = ws.cell(row=row, column=where["household_id"]).value
            if hh is None or str(hh) not in results.index:
                continue
            ws.cell(row=row, column=where["result"], value=RESULT_CODES_ID[results[str(hh)]])
            if visited_on and "visit_date" in where:
                day = _dt.date.fromisoformat(visited_on).strftime("%d/%m/%Y")
                ws.cell(row=row, column=where["visit_date"], value=day)
            filled += 1
    wb.save(path)
    return filled
