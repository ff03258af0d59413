"""Keeping the adult's name out of text that others read (calendar entries, escalations)."""

from __future__ import annotations

import re

from portal.concerns.models import Concern


def _adult_name_parts(concern: Concern | None) -> tuple[str, list[str]]:
    name = (concern.adult.name or "").strip() if concern is not None and concern.adult is not None else ""
    return name.lower(), [part for part in re.split(r"[\s\-]+", name.lower()) if len(part) >= 2]


def names_the_adult(text: str | None, concern: Concern | None) -> bool:
    """Whether text names the adult: their full name, or any part of it as a word."""
    full, parts = _adult_name_parts(concern)
    lowered = (text or "").lower()
    if not full or not lowered:
        return False
    return full in lowered or any(re.search(rf"(?<!\w){re.escape(part)}(?!\w)", lowered) for part in parts)
