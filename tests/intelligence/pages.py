"""Reading the profile pages as a person does: the text of a table's cells, the figures of a chart."""

from __future__ import annotations

import html
import json
import re

_ROW = re.compile(r"<tr\b.*?</tr>", re.S)
_CELL = re.compile(r"<t[hd]\b[^>]*>(.*?)</t[hd]>", re.S)
_TAG = re.compile(r"<[^>]+>")


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def table_rows(page: str, element_id: str) -> list[list[str]]:
    """The cells of the first table at or after the element with this id, row by row (header row first)."""
    start = page.index(f'id="{element_id}"')
    end = page.index("</table>", start)
    return [[text_of(cell) for cell in _CELL.findall(row)] for row in _ROW.findall(page[start:end])]


def chart_data(page: str, chart_id: str) -> dict:
    """The figures a chart is drawn from (its JSON block)."""
    match = re.search(rf'<script type="application/json" id="{re.escape(chart_id)}-data">(.*?)</script>', page, re.S)
    assert match, f"no data for chart {chart_id}"
    return json.loads(match.group(1))


def visible_text(page: str) -> str:
    """The words on the page, without scripts and markup."""
    return text_of(re.sub(r"<script\b.*?</script>", " ", page, flags=re.S))
