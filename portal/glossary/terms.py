"""The public glossary: plain-English meanings of the words professionals use in safeguarding.

The terms live in ``terms.toml`` next to this file. They are loaded and checked once, then shared.
This module is pure Python (no Flask) so that other tools, such as a jargon checker, can reuse it.
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: The glossary shipped with the portal.
TERMS_PATH = Path(__file__).with_name("terms.toml")

#: Longest search query honoured; anything longer is cut to this length.
MAX_QUERY_LENGTH = 100

#: Group for terms that do not start with a letter A-Z.
OTHER_GROUP = "#"

_ALLOWED_KEYS = {"term", "abbreviation", "aliases", "definition", "see_also"}
_REQUIRED_KEYS = {"term", "definition"}
#: Anchor ids the glossary page uses for itself; term slugs must not collide with them.
_RESERVED_SLUGS = {"q", "main-content", "glossary-a-to-z"}


@dataclass(frozen=True)
class Term:
    term: str
    abbreviation: str | None
    aliases: tuple[str, ...]
    definition: str
    see_also: tuple[str, ...]
    slug: str

    @property
    def names(self) -> tuple[str, ...]:
        """The term, its abbreviation and its aliases: every name it goes by."""
        names = [self.term]
        if self.abbreviation:
            names.append(self.abbreviation)
        names.extend(self.aliases)
        return tuple(names)


def slugify(text: str) -> str:
    """A URL anchor id: lowercase ASCII letters and digits joined by single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"term-{slug}".rstrip("-")
    return slug


def _sort_key(text: str) -> tuple[str, str]:
    return (text.casefold(), text)


def _text(entry: dict, key: str, position: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{position}: '{key}' must be non-empty text")
    return " ".join(value.split())


def _text_list(entry: dict, key: str, position: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"{position}: '{key}' must be a list of non-empty text")
    return tuple(" ".join(item.split()) for item in value)


def load_terms(path: str | Path) -> list[Term]:
    """Read and check a glossary TOML file; terms come back sorted A-Z, ignoring case.

    Raises ValueError (tomllib.TOMLDecodeError is one) naming the problem if the file is malformed,
    a term appears twice, or a ``see_also`` names a term that is not in the file.
    """
    with open(path, "rb") as handle:
        data = tomllib.load(handle)

    entries = data.get("term")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: no [[term]] entries found")
    unknown_tables = set(data) - {"term"}
    if unknown_tables:
        raise ValueError(f"{path}: unexpected keys {sorted(unknown_tables)}; only [[term]] is allowed")

    raw: list[dict] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries, start=1):
        position = f"term {index}"
        if not isinstance(entry, dict):
            raise ValueError(f"{position}: must be a table")
        if isinstance(entry.get("term"), str):
            position = f"term {index} ({entry['term']!r})"
        missing = _REQUIRED_KEYS - set(entry)
        if missing:
            raise ValueError(f"{position}: missing {sorted(missing)}")
        unknown = set(entry) - _ALLOWED_KEYS
        if unknown:
            raise ValueError(f"{position}: unknown keys {sorted(unknown)}")

        name = _text(entry, "term", position)
        abbreviation = _text(entry, "abbreviation", position) if "abbreviation" in entry else None
        folded = name.casefold()
        if folded in seen:
            raise ValueError(f"Duplicate term {name!r} (also given as {seen[folded]!r})")
        seen[folded] = name
        raw.append(
            {
                "term": name,
                "abbreviation": abbreviation,
                "aliases": _text_list(entry, "aliases", position),
                "definition": _text(entry, "definition", position),
                "see_also": _text_list(entry, "see_also", position),
            }
        )

    names = {item["term"] for item in raw}
    for item in raw:
        for target in item["see_also"]:
            if target == item["term"]:
                raise ValueError(f"Term {item['term']!r} lists itself in see_also")
            if target not in names:
                raise ValueError(f"Term {item['term']!r} has see_also {target!r}, which is not a term in the glossary")
        if len(set(item["see_also"])) != len(item["see_also"]):
            raise ValueError(f"Term {item['term']!r} repeats a see_also entry")

    raw.sort(key=lambda item: _sort_key(item["term"]))
    used: set[str] = set(_RESERVED_SLUGS)
    terms: list[Term] = []
    for item in raw:
        base = slugify(item["term"])
        if base.startswith("letter-"):
            base = f"term-{base}"
        slug, counter = base, 2
        while slug in used:
            slug, counter = f"{base}-{counter}", counter + 1
        used.add(slug)
        terms.append(Term(slug=slug, **item))
    return terms


@lru_cache(maxsize=1)
def _default_terms() -> tuple[Term, ...]:
    return tuple(load_terms(TERMS_PATH))


def all_terms() -> list[Term]:
    """Every glossary term, sorted A-Z ignoring case."""
    return list(_default_terms())


def search(query: str, terms: list[Term] | None = None) -> list[Term]:
    """Terms matching ``query``, ignoring case; a blank query matches everything.

    Terms whose name, abbreviation or alias equals the query come first, then those whose names
    contain it, then those that mention it only in the definition. Within each group the order is
    A-Z. Queries longer than MAX_QUERY_LENGTH characters are cut to that length.
    """
    if terms is None:
        terms = all_terms()
    needle = " ".join((query or "")[:MAX_QUERY_LENGTH].split()).casefold()
    if not needle:
        return list(terms)

    exact: list[Term] = []
    in_name: list[Term] = []
    in_definition: list[Term] = []
    for term in terms:
        names = [name.casefold() for name in term.names]
        if needle in names:
            exact.append(term)
        elif any(needle in name for name in names):
            in_name.append(term)
        elif needle in term.definition.casefold():
            in_definition.append(term)
    return exact + in_name + in_definition


def first_letter(term: Term) -> str:
    """The A-Z group a term belongs in, or OTHER_GROUP if it does not start with a letter."""
    ascii_text = unicodedata.normalize("NFKD", term.term).encode("ascii", "ignore").decode("ascii")
    letter = ascii_text[:1].upper()
    return letter if letter in string.ascii_uppercase else OTHER_GROUP


def by_letter(terms: list[Term]) -> list[tuple[str, list[Term]]]:
    """Group terms by first letter, A to Z (then OTHER_GROUP), each group sorted A-Z."""
    groups: dict[str, list[Term]] = {}
    for term in terms:
        groups.setdefault(first_letter(term), []).append(term)
    order = list(string.ascii_uppercase) + [OTHER_GROUP]
    return [
        (letter, sorted(groups[letter], key=lambda t: _sort_key(t.term)))
        for letter in order
        if letter in groups
    ]
