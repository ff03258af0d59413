"""A plain-language check for the summary written to the adult a meeting was about.

Pure Python, no database: it reads the public glossary and ``acronyms.toml`` once.
:func:`check_plain_language` reports four things, with these rules:

Jargon
    Each glossary term (its name, the name with its last word made plural or singular, and its
    abbreviation if the glossary gives one) found in the text, ignoring case and treating a hyphen
    like a space, on word boundaries. The glossary's aliases are not searched: many are everyday
    words ("harm", "safe", "council"). Terms most people use and understand (:data:`EVERYDAY_TERMS`,
    such as "abuse", "carer" and "GP") are not flagged. Where one term sits inside a longer one
    ("Mental Capacity Act"), only the longer is reported. A term counts as explained, everywhere in
    the text, when one of its uses is

    * followed by an explanation in brackets of two words or more: "strategy meeting (a meeting
      where ...)";
    * followed by a dash or a colon and words, or by "means", "which means", "meaning", "is when"
      or "is where": "section 42 enquiry – when the council ...";
    * itself in brackets (perhaps after "a", "an" or "the") after the plain words: "a meeting to
      plan how to keep you safe (a strategy meeting)".

    The suggestion is the first sentence of the glossary's definition.

Acronyms
    Words of two or more capital letters ("CQC", "A&E", also with a plural "s": "SARs"), the
    known mixed-case ones in ``acronyms.toml`` ("DoLS", "PoT", also written in capitals), and
    section numbers ("s42", "s.42", "S42"). Those in ``acronyms.toml``'s everyday list ("GP",
    "NHS", "A&E", "OK") are not flagged; single capitals ("I") are not acronyms. An acronym counts
    as explained when its expansion (from ``acronyms.toml``, or the glossary term it abbreviates)
    appears anywhere in the text, when it is written in brackets after words ("Care Quality
    Commission (CQC)"), or when it is followed by brackets of two words or more, a dash or a colon
    ("CQC (the people who check ...)"). An acronym the list does not know is reported as "an
    abbreviation that may not be understood". On a line written wholly in capitals (a heading such
    as "WHAT HAPPENS NEXT") only known acronyms are checked. The abbreviation of a flagged glossary
    term is reported with that term, under jargon, not again here.

Long sentences
    Sentences of more than :data:`LONG_SENTENCE_WORDS` words, quoted with their length. A sentence
    ends at ".", "!" or "?" followed by a space, and at the end of a line: each line of a list or a
    heading is a sentence of its own.

Readability
    textstat's Flesch reading ease and Flesch-Kincaid grade of the text, each line ending as a
    sentence (a full stop is added to a line that has none, so that a list is not read as one long
    sentence), with a plain meaning of the score (:data:`FLESCH_BANDS`) and the average sentence
    length.

The text reads as plain language when it has no jargon, no unexplained acronym, no long sentence
and a Flesch reading ease of :data:`PLAIN_ENGLISH_SCORE` or more.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import textstat

from portal.glossary.terms import Term, all_terms

#: A sentence longer than this many words is flagged.
LONG_SENTENCE_WORDS = 20

#: A Flesch reading ease of this or more reads as plain English.
PLAIN_ENGLISH_SCORE = 60

#: (lowest score, what it means), highest first.
FLESCH_BANDS = (
    (90, "very easy to read"),
    (70, "easy to read"),
    (PLAIN_ENGLISH_SCORE, "plain English"),
    (50, "fairly hard to read"),
    (30, "hard to read"),
    (float("-inf"), "very hard to read"),
)

#: Glossary terms in everyday use, which a summary may use without explaining.
EVERYDAY_TERMS = frozenset({
    "Abuse", "Adult social care", "Care plan", "Care provider", "Carer", "Consent", "Data protection", "Deputy",
    "District nurse", "Domestic abuse", "GP", "Improvement plan", "Information sharing", "Inspection ratings",
    "Key questions", "Modern slavery", "Outcomes", "Partnership", "Physical abuse", "Professional disagreement",
    "Risk", "Safeguarding", "Sexual abuse", "Sexual exploitation", "Social worker", "Wellbeing", "Whistleblowing",
})

ACRONYMS_PATH = Path(__file__).with_name("acronyms.toml")

UNKNOWN_ACRONYM = "an abbreviation that may not be understood"


@dataclass(frozen=True)
class Acronym:
    acronym: str
    expansion: str
    meaning: str


@dataclass(frozen=True)
class JargonFinding:
    """A glossary term used without an explanation."""

    term: str
    #: The words as written in the text, once each, in the order they first appear.
    found: tuple[str, ...]
    #: A plain explanation to use instead: the first sentence of the glossary's definition.
    suggestion: str
    #: The term's anchor on the glossary page.
    glossary_slug: str


@dataclass(frozen=True)
class AcronymFinding:
    """An abbreviation used without an explanation."""

    acronym: str
    #: What it stands for and what it means, when the list knows it.
    expansion: str | None
    meaning: str | None

    @property
    def known(self) -> bool:
        return self.meaning is not None

    @property
    def description(self) -> str:
        if not self.known:
            return UNKNOWN_ACRONYM
        return f"{self.expansion}: {self.meaning}"


@dataclass(frozen=True)
class LongSentence:
    text: str
    words: int


@dataclass(frozen=True)
class Readability:
    flesch_reading_ease: float
    flesch_kincaid_grade: float
    sentences: int
    words: int

    @property
    def meaning(self) -> str:
        """What the Flesch score means, in words."""
        return next(label for lowest, label in FLESCH_BANDS if self.flesch_reading_ease >= lowest)

    @property
    def reading_age(self) -> int:
        """The Flesch-Kincaid grade as the age of a reader in England who would follow the text
        (a US school grade plus five years), at least 5."""
        return max(5, round(self.flesch_kincaid_grade + 5))

    @property
    def average_sentence_length(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def plain_english(self) -> bool:
        return self.flesch_reading_ease >= PLAIN_ENGLISH_SCORE


@dataclass(frozen=True)
class PlainLanguageReport:
    jargon: tuple[JargonFinding, ...]
    acronyms: tuple[AcronymFinding, ...]
    long_sentences: tuple[LongSentence, ...]
    #: None for a text with no words.
    readability: Readability | None

    @property
    def reads_as_plain_language(self) -> bool:
        return (
            not self.jargon and not self.acronyms and not self.long_sentences
            and self.readability is not None and self.readability.plain_english
        )


# The lists --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lists:
    acronyms: dict[str, Acronym]  # by upper-case key
    everyday: frozenset[str]  # upper-case keys
    terms: tuple[tuple[Term, re.Pattern], ...]  # flagged glossary terms, each with its pattern
    term_by_abbreviation: dict[str, Term]  # upper-case key of a flagged term's abbreviation
    known_forms: re.Pattern  # every known abbreviation as written, longest first


def load_acronyms(path: str | Path = ACRONYMS_PATH) -> tuple[list[Acronym], list[str]]:
    """The acronym list and the everyday abbreviations from a TOML file, checked."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    acronyms, seen = [], set()
    for index, entry in enumerate(data.get("acronym", []), start=1):
        if set(entry) != {"acronym", "expansion", "meaning"} or not all(
            isinstance(value, str) and value.strip() for value in entry.values()
        ):
            raise ValueError(f"{path}: acronym {index} needs non-empty acronym, expansion and meaning, and nothing else")
        key = _key(entry["acronym"])
        if key in seen:
            raise ValueError(f"{path}: acronym {entry['acronym']!r} is listed twice")
        seen.add(key)
        acronyms.append(Acronym(entry["acronym"], entry["expansion"], entry["meaning"]))
    everyday = data.get("everyday", [])
    if not isinstance(everyday, list) or not all(isinstance(value, str) and value for value in everyday):
        raise ValueError(f"{path}: everyday must be a list of abbreviations")
    return acronyms, everyday


def _key(acronym: str) -> str:
    """How an abbreviation is looked up: in capitals, a section number as S and its digits."""
    compact = acronym.replace(".", "").replace(" ", "")
    return compact.upper()


def _phrase_pattern(words: str) -> str:
    """A phrase on word boundaries, any spaces or hyphens between its words."""
    parts = [re.escape(part) for part in re.split(r"[\s-]+", words.strip())]
    return r"[\s-]+".join(parts)


def _number_variants(word: str) -> set[str]:
    lower = word.lower()
    variants = {word}
    if re.search(r"[^aeiou]y$", lower):
        variants.add(word[:-1] + "ies")
    elif re.search(r"(s|x|ch|sh)$", lower):
        variants.add(word + "es")
    else:
        variants.add(word + "s")
    if lower.endswith("ies"):
        variants.add(word[:-3] + "y")
    elif lower.endswith("s") and not lower.endswith("ss"):
        variants.add(word[:-1])
    return variants


def _term_pattern(term: Term) -> re.Pattern:
    head, _, last = term.term.rpartition(" ")
    names = sorted(
        {f"{head} {variant}".strip() for variant in _number_variants(last)}, key=len, reverse=True
    )
    alternatives = "|".join(_phrase_pattern(name) for name in names)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _lists() -> _Lists:
    acronyms, everyday = load_acronyms()
    by_key = {_key(acronym.acronym): acronym for acronym in acronyms}
    flagged = [term for term in all_terms() if term.term not in EVERYDAY_TERMS]
    forms = {acronym.acronym for acronym in acronyms} | {term.abbreviation for term in all_terms() if term.abbreviation}
    known_forms = "|".join(
        re.escape(form).replace(r"\ ", r"\s+") for form in sorted(forms, key=len, reverse=True)
    )
    return _Lists(
        acronyms=by_key,
        everyday=frozenset(_key(value) for value in everyday),
        terms=tuple((term, _term_pattern(term)) for term in flagged),
        term_by_abbreviation={_key(term.abbreviation): term for term in flagged if term.abbreviation},
        known_forms=re.compile(rf"(?<![\w&])(?:{known_forms})(?:s\b|(?![\w&]))"),
    )


# Finding things in the text ---------------------------------------------------------------------

#: Two or more capitals, possibly with & or digits between them, and an optional plural "s".
_CAPITALS = re.compile(r"(?<![\w&])[A-Z][A-Z0-9&]*[A-Z0-9]s?(?![\w&])")
#: A section of an Act: s42, s.42, S42.
_SECTION = re.compile(r"(?<![\w.'’])[sS]\.?\d{1,3}[A-Za-z]?(?![\w])")
_WORD = re.compile(r"[A-Za-z0-9]")
_BRACKETS_AFTER = re.compile(r"\s*\(([^()]*)\)")
_EXPLAINED_AFTER = re.compile(
    r"(?:\s*[–—:]|\s+-\s|,?\s+(?:which\s+)?means\b|,?\s+meaning\b|\s+is\s+(?:when|where)\b)\s*[\"'‘“]?\w"
)
_OPENS_BRACKET_AFTER_WORDS = re.compile(r"\w[^\w(]*\(\s*(?:(?:a|an|the)\s+)?$", re.IGNORECASE)
_HEADING = re.compile(r"^[^a-z]*[A-Z][^a-z]*$")


@dataclass(frozen=True)
class _Use:
    start: int
    end: int
    written: str


def _words(text: str) -> int:
    return sum(1 for token in text.split() if _WORD.search(token))


def _followed_by_explanation(text: str, end: int) -> bool:
    """Brackets of two words or more, a dash, a colon or "means" straight after."""
    brackets = _BRACKETS_AFTER.match(text, end)
    if brackets and _words(brackets.group(1)) >= 2:
        return True
    return bool(_EXPLAINED_AFTER.match(text, end))


def _in_brackets_after_words(text: str, use: _Use) -> bool:
    """Written alone in brackets after some words: "Care Quality Commission (CQC)"."""
    before = text[max(0, use.start - 40) : use.start]
    return bool(_OPENS_BRACKET_AFTER_WORDS.search(before) and re.compile(r"\s*\)").match(text, use.end))


def _abbreviation_uses(text: str) -> list[tuple[str, _Use]]:
    """(key, use) for every abbreviation in the text, in order."""
    lists = _lists()
    found: list[tuple[str, _Use]] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    known = set(lists.acronyms) | set(lists.term_by_abbreviation) | lists.everyday
    for pattern in (lists.known_forms, _SECTION, _CAPITALS):
        for match in pattern.finditer(text):
            written = match.group(0)
            if pattern is _CAPITALS and sum(1 for char in written if char.isupper()) < 2:
                continue
            if not free(match.start(), match.end()):
                continue
            key = _key(written)
            if written.endswith("s") and key not in known:  # a plural: "SARs"
                key = key[:-1]
            taken.append((match.start(), match.end()))
            found.append((key, _Use(match.start(), match.end(), written)))
    found.sort(key=lambda pair: pair[1].start)
    return found


def _mentions(text: str, phrase: str) -> bool:
    return bool(re.search(rf"(?<![\w-]){_phrase_pattern(phrase)}(?![\w-])", text, re.IGNORECASE))


def _find_jargon(text: str, abbreviations: list[tuple[str, _Use]]) -> list[JargonFinding]:
    lists = _lists()
    uses: list[tuple[Term, _Use]] = []
    for term, pattern in lists.terms:
        uses.extend((term, _Use(m.start(), m.end(), m.group(0))) for m in pattern.finditer(text))
    # A longer term claims its words from a shorter one inside it.
    uses.sort(key=lambda pair: (-(pair[1].end - pair[1].start), pair[1].start))
    claimed: list[_Use] = []
    by_term: dict[str, list[_Use]] = {}
    for term, use in uses:
        if any(use.start < other.end and other.start < use.end for other in claimed):
            continue
        claimed.append(use)
        by_term.setdefault(term.term, []).append(use)
    abbreviated: dict[str, list[_Use]] = {}
    for key, use in abbreviations:
        term = lists.term_by_abbreviation.get(key)
        if term is not None:
            abbreviated.setdefault(term.term, []).append(use)

    findings: list[tuple[int, JargonFinding]] = []
    for term, _ in lists.terms:
        named, short = by_term.get(term.term, []), abbreviated.get(term.term, [])
        if not named and not short:
            continue
        if any(_followed_by_explanation(text, use.end) for use in named + short) or any(
            _in_brackets_after_words(text, use) for use in named
        ):
            continue
        # The abbreviation alone is explained as an acronym is: by its expansion (the term itself,
        # or the list's) anywhere, or by being written in brackets after it.
        expansion = _acronym_expansion(term.abbreviation)
        short_explained = bool(named) or (expansion is not None and _mentions(text, expansion))
        unexplained = sorted(
            named + [use for use in short if not (short_explained or _in_brackets_after_words(text, use))],
            key=lambda use: use.start,
        )
        if not unexplained:
            continue
        written: list[str] = []
        for use in unexplained:
            if use.written.casefold() not in {seen.casefold() for seen in written}:
                written.append(use.written)
        findings.append((unexplained[0].start, JargonFinding(
            term=term.term, found=tuple(written), suggestion=_first_sentence(term.definition), glossary_slug=term.slug,
        )))
    return [finding for _, finding in sorted(findings, key=lambda pair: pair[0])]


def _acronym_expansion(abbreviation: str | None) -> str | None:
    if abbreviation is None:
        return None
    known = _lists().acronyms.get(_key(abbreviation))
    return known.expansion if known else None


def _first_sentence(definition: str) -> str:
    return re.split(r"(?<=[.!?])\s+", definition, maxsplit=1)[0]


def _heading_lines(text: str) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        if _HEADING.match(line.strip()) and _words(line) >= 1:
            spans.append((offset, offset + len(line)))
        offset += len(line)
    return spans


def _find_acronyms(text: str, abbreviations: list[tuple[str, _Use]]) -> list[AcronymFinding]:
    lists = _lists()
    headings = _heading_lines(text)
    findings: dict[str, AcronymFinding] = {}
    explained: set[str] = set()
    for key, use in abbreviations:
        if key in lists.everyday or key in lists.term_by_abbreviation:
            continue
        known = lists.acronyms.get(key)
        if known is None and any(start <= use.start < end for start, end in headings):
            continue
        if _in_brackets_after_words(text, use) or _followed_by_explanation(text, use.end) or (
            known is not None and _mentions(text, known.expansion)
        ):
            explained.add(key)
            continue
        if key not in findings:
            findings[key] = AcronymFinding(
                acronym=known.acronym if known else use.written,
                expansion=known.expansion if known else None,
                meaning=known.meaning if known else None,
            )
    return [finding for key, finding in findings.items() if key not in explained]


def sentences(text: str) -> list[str]:
    """The sentences of a text: split after ".", "!" or "?" and a space, and at every line end."""
    found = []
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.!?])[\"'’”)\]]*\s+", line.strip()):
            sentence = sentence.strip()
            if _words(sentence):
                found.append(sentence)
    return found


def _readable_text(parts: list[str]) -> str:
    """The text as textstat should read it: each line a sentence of its own."""
    return " ".join(part if re.search(r"[.!?][\"'’”)\]]*$", part) else f"{part}." for part in parts)


def readability(text: str) -> Readability | None:
    """textstat's Flesch figures for the text, and its sentence and word counts."""
    found = sentences(text)
    if not found:
        return None
    lines = [line.strip() for line in text.splitlines() if _words(line)]
    readable = _readable_text(lines)
    return Readability(
        flesch_reading_ease=textstat.flesch_reading_ease(readable),
        flesch_kincaid_grade=textstat.flesch_kincaid_grade(readable),
        sentences=len(found),
        words=sum(_words(sentence) for sentence in found),
    )


def check_plain_language(text: str) -> PlainLanguageReport:
    """Check a text written for the adult: jargon, unexplained acronyms, long sentences, readability."""
    text = text or ""
    abbreviations = _abbreviation_uses(text)
    long = tuple(
        LongSentence(sentence, count)
        for sentence in sentences(text)
        if (count := _words(sentence)) > LONG_SENTENCE_WORDS
    )
    return PlainLanguageReport(
        jargon=tuple(_find_jargon(text, abbreviations)),
        acronyms=tuple(_find_acronyms(text, abbreviations)),
        long_sentences=long,
        readability=readability(text),
    )
