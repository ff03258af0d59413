"""Unit tests for the glossary terms (pure Python: no app, no database)."""

from __future__ import annotations

import re
import string
import textwrap

import pytest

from portal.glossary.terms import (
    MAX_QUERY_LENGTH,
    TERMS_PATH,
    Term,
    all_terms,
    by_letter,
    load_terms,
    search,
)

REQUIRED_ABBREVIATIONS = ["MSP", "SAB", "SAR", "CQC", "ICB", "IMCA", "DoLS", "LPA", "MCA", "ISA", "SAC"]
REQUIRED_TERMS = [
    "Advocacy",
    "Mental capacity",
    "Section 42 enquiry",
    "Making Safeguarding Personal",
    "Safeguarding Adults Board",
    "Safeguarding Adults Review",
    "Safeguarding concern",
    "Care Quality Commission",
    "Integrated care board",
    "Independent Mental Capacity Advocate",
    "Independent advocate",
    "Mental Capacity Act",
    "Best interests decision",
    "Deprivation of Liberty Safeguards",
    "Liberty Protection Safeguards",
    "Lasting power of attorney",
    "Care Act 2014",
    "Adult at risk",
    "Abuse",
    "Neglect and acts of omission",
    "Self-neglect",
    "Physical abuse",
    "Domestic abuse",
    "Sexual abuse",
    "Sexual exploitation",
    "Psychological abuse",
    "Financial or material abuse",
    "Modern slavery",
    "Discriminatory abuse",
    "Organisational abuse",
    "Consent",
    "Information sharing",
    "Information-sharing agreement",
    "Caldicott principles",
    "Data protection",
    "Commissioner",
    "Contract monitoring",
    "Care provider",
    "Regulated service",
    "Inspection ratings",
    "Key questions",
    "Whistleblowing",
    "Escalation",
    "Professional disagreement",
    "Triage",
    "Outcomes",
    "Risk",
    "Protection plan",
    "Designated safeguarding lead",
    "Local authority",
    "Adult social care",
    "District nurse",
    "GP",
    "Strategy meeting",
    "Multi-agency",
    "Safeguarding Adults Collection",
    "Primary support reason",
    "Substantial difficulty",
    "Appropriate person",
    "Partnership",
]


def _by_name() -> dict[str, Term]:
    return {t.term: t for t in all_terms()}


def _write(tmp_path, body: str):
    path = tmp_path / "terms.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_there_are_at_least_40_terms():
    assert len(all_terms()) >= 40


def test_terms_are_sorted_ignoring_case():
    names = [t.term for t in all_terms()]
    assert names == sorted(names, key=str.casefold)


@pytest.mark.parametrize("abbreviation", REQUIRED_ABBREVIATIONS)
def test_required_abbreviations_are_present(abbreviation):
    assert abbreviation in {t.abbreviation for t in all_terms()}


@pytest.mark.parametrize("name", REQUIRED_TERMS)
def test_required_terms_are_present(name):
    assert name in _by_name()


def test_required_abbreviations_belong_to_the_right_terms():
    terms = _by_name()
    assert terms["Making Safeguarding Personal"].abbreviation == "MSP"
    assert terms["Section 42 enquiry"].abbreviation == "s42"
    assert terms["Independent Mental Capacity Advocate"].abbreviation == "IMCA"
    assert terms["Deprivation of Liberty Safeguards"].abbreviation == "DoLS"
    assert "Care Act advocate" in terms["Independent advocate"].aliases


def test_every_term_has_a_definition_of_one_to_four_sentences():
    for t in all_terms():
        assert t.definition.strip(), t.term
        assert t.definition.rstrip()[-1] in ".?!", t.term
        sentences = re.findall(r"[.?!](?:\s|$)", t.definition)
        assert 1 <= len(sentences) <= 4, t.term


def test_search_by_abbreviation_finds_msp_first():
    results = search("msp")
    assert results
    assert results[0].term == "Making Safeguarding Personal"


def test_search_is_case_insensitive_on_names():
    assert search("MENTAL CAPACITY")[0].term == "Mental capacity"
    assert search("dols")[0].term == "Deprivation of Liberty Safeguards"


def test_search_by_alias():
    assert "Independent advocate" in [t.term for t in search("care act advocate")]
    assert search("safety plan")[0].term == "Protection plan"


def test_search_matches_definition_text():
    results = search("hoarding")
    assert "Self-neglect" in [t.term for t in results]
    # A phrase that appears only in a definition.
    only_in_definitions = search("forced marriage")
    assert [t.term for t in only_in_definitions] == ["Domestic abuse"]


def test_name_matches_come_before_definition_only_matches():
    results = search("advocate")
    names = [t.term for t in results]
    name_matches = [
        t for t in results if any("advocate" in n.casefold() for n in t.names)
    ]
    definition_only = [t for t in results if t not in name_matches]
    assert name_matches and definition_only
    assert names[: len(name_matches)] == [t.term for t in name_matches]


def test_blank_search_returns_all():
    everything = all_terms()
    assert search("") == everything
    assert search("   ") == everything


def test_search_with_no_match_returns_nothing():
    assert search("xyzzy-not-a-word") == []


def test_long_query_is_truncated():
    query = "msp" + "x" * 200
    assert search(query) == search(query[:MAX_QUERY_LENGTH])
    # Only the first 100 characters count: trailing text after the limit is ignored.
    padded = "Making Safeguarding Personal".ljust(MAX_QUERY_LENGTH) + "zzz"
    assert search(padded)[0].term == "Making Safeguarding Personal"


def test_every_see_also_resolves_to_another_term():
    terms = _by_name()
    for t in all_terms():
        for target in t.see_also:
            assert target in terms, f"{t.term} -> {target}"
            assert target != t.term


def test_slugs_are_unique_ascii_anchor_ids():
    slugs = [t.slug for t in all_terms()]
    assert len(slugs) == len(set(slugs))
    allowed = set(string.ascii_lowercase + string.digits + "-")
    for slug in slugs:
        assert slug and set(slug) <= allowed, slug
        assert slug[0].isalpha() and not slug.endswith("-") and "--" not in slug


def test_slug_examples():
    terms = _by_name()
    assert terms["Making Safeguarding Personal"].slug == "making-safeguarding-personal"
    assert terms["Section 42 enquiry"].slug == "section-42-enquiry"


def test_terms_are_frozen():
    term = all_terms()[0]
    with pytest.raises(AttributeError):
        term.term = "changed"


def test_all_terms_returns_a_fresh_list():
    first = all_terms()
    first.clear()
    assert all_terms()


def test_by_letter_groups_a_to_z():
    groups = by_letter(all_terms())
    letters = [letter for letter, _ in groups]
    assert letters == sorted(letters)
    assert all(len(letter) == 1 and letter in string.ascii_uppercase for letter in letters)
    assert sum(len(terms) for _, terms in groups) == len(all_terms())
    for letter, terms in groups:
        assert terms
        assert all(t.term[0].upper() == letter for t in terms)


def test_by_letter_on_search_results():
    groups = by_letter(search("msp"))
    assert groups[0][0] == "M"


def test_shipped_file_loads_with_loader():
    assert [t.term for t in load_terms(TERMS_PATH)] == [t.term for t in all_terms()]


def test_loader_accepts_a_valid_file(tmp_path):
    path = _write(
        tmp_path,
        '''
        [[term]]
        term = "Zebra"
        definition = """A striped animal."""
        see_also = ["apple"]

        [[term]]
        term = "apple"
        abbreviation = "APL"
        aliases = ["eating apple"]
        definition = """A fruit."""
        ''',
    )
    terms = load_terms(path)
    assert [t.term for t in terms] == ["apple", "Zebra"]
    assert terms[0].abbreviation == "APL"
    assert terms[0].aliases == ("eating apple",)
    assert terms[1].abbreviation is None
    assert terms[1].see_also == ("apple",)
    assert search("apl", terms)[0].term == "apple"


def test_dangling_see_also_raises(tmp_path):
    path = _write(
        tmp_path,
        '''
        [[term]]
        term = "Advocacy"
        definition = """Help to speak up."""
        see_also = ["Nonexistent term"]
        ''',
    )
    with pytest.raises(ValueError, match="Nonexistent term"):
        load_terms(path)


def test_duplicate_term_raises(tmp_path):
    path = _write(
        tmp_path,
        '''
        [[term]]
        term = "Advocacy"
        definition = """Help to speak up."""

        [[term]]
        term = "advocacy"
        definition = """Said twice."""
        ''',
    )
    with pytest.raises(ValueError, match="(?i)duplicate"):
        load_terms(path)


def test_missing_definition_raises(tmp_path):
    path = _write(
        tmp_path,
        '''
        [[term]]
        term = "Advocacy"
        ''',
    )
    with pytest.raises(ValueError, match="definition"):
        load_terms(path)


def test_slugs_are_made_unique(tmp_path):
    path = _write(
        tmp_path,
        '''
        [[term]]
        term = "Self-neglect"
        definition = """One."""

        [[term]]
        term = "Self neglect"
        definition = """Two."""
        ''',
    )
    slugs = [t.slug for t in load_terms(path)]
    assert len(set(slugs)) == 2
    assert all(s.startswith("self-neglect") for s in slugs)
