"""Reading an uploaded file into a header and numbered rows: CSV in any common encoding, or a
spreadsheet (XLSX, XLS, ODS) read with calamine. Nothing here knows what the columns mean."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePath

SPREADSHEET_TYPES = {".xlsx", ".xlsm", ".xls", ".ods"}
ACCEPTED_TYPES = {".csv", *SPREADSHEET_TYPES}
#: The sheet the regulator's export keeps its rows in; other files use their first sheet.
PREFERRED_SHEET = "Locations"
#: Banner lines above the header are a handful at most; a file with no header this far down has none.
HEADER_SEARCH_ROWS = 100
#: The bytes each kind of file starts with: XLSX and ODS are ZIP archives, XLS an OLE2 compound file.
ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: A spreadsheet may unpack to at most this many times the largest upload (an XLSX compresses text
#: about ten times; a "zip bomb" thousands of times).
MAX_UNPACKED_RATIO = 20
#: Spreadsheet serial dates count days from 30 December 1899 (the 1900 date system).
_SERIAL_EPOCH = date(1899, 12, 30)
_SERIAL_RANGE = (1, 2958465)


class FileProblem(ValueError):
    """Something wrong with the whole file: it cannot be read, or it has the wrong columns."""


@dataclass
class Table:
    """The rows below the header, each with its line (CSV) or row number (spreadsheet)."""

    #: Normalised column name -> position in each row.
    columns: dict[str, int]
    rows: list[tuple[int, list]] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return column_key(name) in self.columns

    def getter(self, name: str):
        """A function giving one row's cell in the column, or "" where the column or cell is absent."""
        index = self.columns.get(column_key(name))
        if index is None:
            return lambda cells: ""
        return lambda cells: cells[index] if index < len(cells) else ""


def column_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def file_type(filename: str) -> str:
    return PurePath(filename or "").suffix.lower()


def read_table(filename: str, content: bytes, required: list[str]) -> Table:
    """The file's data rows below its header row: the first row holding every required column."""
    suffix = file_type(filename)
    if suffix not in ACCEPTED_TYPES:
        raise FileProblem("The selected file must be a CSV, XLSX or ODS file")
    if not content or not content.strip():
        raise FileProblem("The selected file is empty")
    _check_content(suffix, content)
    rows = _spreadsheet_rows(content) if suffix in SPREADSHEET_TYPES else _csv_rows(content)
    return _below_header(rows, required)


def _check_content(suffix: str, content: bytes) -> None:
    """The file's bytes must be the sort of file its name says: the name alone is not trusted."""
    if suffix not in SPREADSHEET_TYPES:
        if content.startswith((ZIP_SIGNATURE, OLE_SIGNATURE)):
            raise FileProblem("The selected file is not a CSV file but a spreadsheet: upload it as XLSX or ODS, or save it as CSV")
        if b"\x00" in content[:8192] and content[:2] not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise FileProblem("The selected file is not a CSV file: save it as CSV (comma separated) and try again")
        return
    unreadable = "The spreadsheet could not be read. Check it opens, save it again as XLSX, ODS or CSV, and upload that"
    if suffix == ".xls":
        if not content.startswith(OLE_SIGNATURE):
            raise FileProblem(unreadable)
        return
    if not content.startswith(ZIP_SIGNATURE):
        raise FileProblem(unreadable)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise FileProblem(unreadable) from error
    if unpacked > max(len(content), 1024 * 1024) * MAX_UNPACKED_RATIO:
        raise FileProblem("The spreadsheet is too large once unpacked: save it as CSV, or split it, and upload that")


def _csv_rows(content: bytes):
    if content[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        text = _decode(content, "utf-16")
    else:
        text = _decode(content, "utf-8-sig", "cp1252")
    if "\x00" in text:
        raise FileProblem("The selected file is not a CSV file: save it as CSV (comma separated) and try again")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        line = 1
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1
    except csv.Error as error:
        raise FileProblem(f"Line {reader.line_num} of the file could not be read as CSV: {error}") from error


def _decode(content: bytes, *encodings: str) -> str:
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("The file's text could not be read: save it as CSV UTF-8 and try again")


def _spreadsheet_rows(content: bytes):
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = workbook.sheet_names
        if not names:
            raise FileProblem("The spreadsheet has no sheets")
        by_key = {column_key(name): name for name in names}
        sheet = workbook.get_sheet_by_name(by_key.get(column_key(PREFERRED_SHEET), names[0]))
        rows = sheet.to_python(skip_empty_area=False)
    except FileProblem:
        raise
    except Exception as error:  # calamine raises its own errors and plain ones for corrupt files
        raise FileProblem(
            "The spreadsheet could not be read. Check it opens, save it again as XLSX, ODS or CSV, and upload that"
        ) from error
    for number, cells in enumerate(rows, start=1):
        yield number, cells


def _below_header(rows, required: list[str]) -> Table:
    wanted = {column_key(name): name for name in required}
    best_missing = list(required)
    for line, cells in rows:
        keys = [column_key(cell) if isinstance(cell, str) else "" for cell in cells]
        missing = [name for key, name in wanted.items() if key not in keys]
        if not missing:
            columns: dict[str, int] = {}
            for index, key in enumerate(keys):
                if key:
                    columns.setdefault(key, index)
            table = Table(columns=columns)
            table.rows = [(number, values) for number, values in rows if not _blank(values)]
            return table
        if len(missing) < len(best_missing):
            best_missing = missing
        if line >= HEADER_SEARCH_ROWS:
            break
    raise FileProblem(
        f"The file does not have the columns it needs. Missing: {', '.join(best_missing)}. "
        f"The header row must name: {', '.join(required)}"
    )


def _blank(cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# Reading cells -------------------------------------------------------------------------------------


def text(cell) -> str:
    """A cell as text: spreadsheet numbers without a trailing ".0", everything stripped."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() else cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    return " ".join(str(cell).split())


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def read_date(cell) -> date | None:
    """A date as 2025-03-14, 14/03/2025 or a spreadsheet date; None when it is none of those."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        if _SERIAL_RANGE[0] <= cell <= _SERIAL_RANGE[1]:
            return _SERIAL_EPOCH + timedelta(days=int(cell))
        return None
    value = text(cell)
    match = _ISO.match(value)
    parts = (match.group(1), match.group(2), match.group(3)) if match else None
    if parts is None and (match := _DAY_FIRST.match(value)):
        parts = (match.group(3), match.group(2), match.group(1))
    if parts is None:
        return None
    try:
        return date(*(int(part) for part in parts))
    except ValueError:
        return None


YES = {"y", "yes", "true", "1"}
NO = {"n", "no", "false", "0"}


def read_yes_no(cell) -> bool | None:
    """True or False for Y/N (and yes/no); None for a blank cell. Raises ValueError otherwise."""
    if isinstance(cell, bool):
        return cell
    value = text(cell).casefold()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    raise ValueError(value)
