"""The plain-language checker for the summary written to the adult: jargon from the glossary,
acronyms, long sentences and the readability figures."""

from __future__ import annotations

import textstat

from portal.glossary.terms import all_terms
from portal.meetings.plain_language import (
    EVERYDAY_TERMS,
    LONG_SENTENCE_WORDS,
    check_plain_language,
    load_acronyms,
)

PLAIN = (
    "You came to the meeting at your doctor's surgery on Tuesday. We talked about your money. "
    "You said you want your daughter to stop using your bank card. We agreed to help you. "
    "Your bank will send you a new card. Sam will ring you next week. If you are worried, call Sam."
)
PROFESSIONAL = (
    "The multi-agency strategy meeting considered the outcome of the section 42 enquiry and agreed that the "
    "protection plan should be reviewed, having regard to the Mental Capacity Act and the principles of "
    "proportionality, in consultation with the designated safeguarding lead."
)


def _jargon(report):
    return {finding.term: finding for finding in report.jargon}


def _acronyms(report):
    return {finding.acronym: finding for finding in report.acronyms}


def test_a_glossary_term_is_flagged_with_the_glossarys_plain_words():
    report = check_plain_language("We started a Section 42 enquiries process and a strategy meeting about you.")
    jargon = _jargon(report)
    assert jargon["Section 42 enquiry"].found == ("Section 42 enquiries",)
    assert jargon["Section 42 enquiry"].suggestion.startswith("A Section 42 enquiry is when the council looks into")
    assert jargon["Section 42 enquiry"].glossary_slug == "section-42-enquiry"
    assert "Strategy meeting" in jargon
    assert not report.reads_as_plain_language


def test_a_term_explained_in_the_text_is_not_flagged():
    for text in (
        "We held a strategy meeting (a meeting to plan how to keep you safe).",
        "We held a strategy meeting – a meeting to plan how to keep you safe.",
        "We held a meeting to plan how to keep you safe (a strategy meeting). The strategy meeting was short.",
        "A strategy meeting is when workers meet to plan how to keep you safe.",
    ):
        assert "Strategy meeting" not in _jargon(check_plain_language(text)), text
    # Brackets with one word are not an explanation.
    assert "Strategy meeting" in _jargon(check_plain_language("We held a strategy meeting (today)."))


def test_everyday_words_in_the_glossary_are_not_flagged_and_aliases_are_not_searched():
    report = check_plain_language("Your GP and your carer talked about the abuse, the risk and your wellbeing. It is safe.")
    assert report.jargon == ()
    assert {term.term for term in all_terms()} >= EVERYDAY_TERMS  # every everyday word is a glossary term


def test_a_longer_term_is_reported_instead_of_the_shorter_one_inside_it():
    jargon = _jargon(check_plain_language("The Mental Capacity Act helps people."))
    assert set(jargon) == {"Mental Capacity Act"}


def test_an_explained_acronym_is_not_flagged_and_the_same_acronym_unexplained_is():
    unexplained = check_plain_language("An OT will visit you at home.")
    assert _acronyms(unexplained)["OT"].expansion == "occupational therapist"
    assert "equipment" in _acronyms(unexplained)["OT"].meaning
    for text in (
        "An occupational therapist (OT) will visit you. The OT will bring a rail.",
        "An OT (someone who helps with daily tasks) will visit you.",
        "The OT will visit. An occupational therapist helps you at home.",
    ):
        assert "OT" not in _acronyms(check_plain_language(text)), text


def test_glossary_abbreviations_are_reported_with_their_term():
    report = check_plain_language("The CQC visited the home. Then the s.42 work started.")
    jargon = _jargon(report)
    assert jargon["Care Quality Commission"].found == ("CQC",)
    assert jargon["Section 42 enquiry"].found == ("s.42",)
    assert report.acronyms == ()  # not reported twice
    explained = check_plain_language("The CQC (the people who check care homes) visited.")
    assert explained.jargon == () and explained.acronyms == ()


def test_an_unknown_capitals_word_is_flagged_and_everyday_ones_are_not():
    report = check_plain_language("The PQRS team and your GP will ring. The NHS will pay. I went to A&E. That is OK.")
    acronyms = _acronyms(report)
    assert set(acronyms) == {"PQRS"}
    assert not acronyms["PQRS"].known
    assert acronyms["PQRS"].description == "an abbreviation that may not be understood"
    # A heading in capitals is not a list of abbreviations; a known acronym in one still counts.
    headed = check_plain_language("WHAT HAPPENS NEXT\nYou will see your GP.\nMARAC MEETING\nWe will meet again.")
    assert set(_acronyms(headed)) == {"MARAC"}


def test_plurals_and_capitals_of_known_acronyms_are_recognised():
    acronyms = _acronyms(check_plain_language("Two CHCs were done. The DOLS form came."))
    assert set(acronyms) == {"CHC"}
    assert _jargon(check_plain_language("The DOLS form came."))["Deprivation of Liberty Safeguards"].found == ("DOLS",)


def test_long_sentences_are_quoted_with_their_length():
    long = " ".join(["word"] * 24) + " end."
    short = " ".join(["word"] * 17) + " end."
    report = check_plain_language(f"{long} {short}")
    assert [(sentence.text, sentence.words) for sentence in report.long_sentences] == [(long, 25)]
    assert LONG_SENTENCE_WORDS == 20
    # Each line of a list is a sentence of its own.
    listed = "\n".join(["- " + " ".join(["item"] * 8)] * 4)
    assert check_plain_language(listed).long_sentences == ()


def test_readability_uses_textstat_and_professional_wording_scores_worse():
    plain = check_plain_language(PLAIN)
    professional = check_plain_language(PROFESSIONAL)
    assert plain.readability.flesch_reading_ease == textstat.flesch_reading_ease(PLAIN)
    assert plain.readability.flesch_kincaid_grade == textstat.flesch_kincaid_grade(PLAIN)
    assert professional.readability.flesch_reading_ease < plain.readability.flesch_reading_ease - 30
    assert plain.readability.meaning in {"easy to read", "very easy to read"}
    assert professional.readability.meaning in {"hard to read", "very hard to read"}
    assert plain.readability.sentences == 7
    assert plain.readability.average_sentence_length == plain.readability.words / 7
    assert plain.reads_as_plain_language
    assert not professional.reads_as_plain_language
    assert len(professional.long_sentences) == 1 and len(professional.jargon) >= 4


def test_an_empty_text_has_no_figures():
    report = check_plain_language("  \n ")
    assert report.readability is None and not report.reads_as_plain_language


def test_the_acronym_list_has_a_plain_meaning_for_each_required_acronym():
    acronyms, everyday = load_acronyms()
    listed = {acronym.acronym for acronym in acronyms}
    required = {
        "SAB", "MSP", "ICB", "CQC", "LA", "s42", "DoLS", "LPS", "MCA", "IMCA", "IMHA", "SAR", "DASH", "MARAC", "MASH",
        "ASC", "CHC", "NHS", "GP", "DHSC", "ADASS", "SW", "OT", "CPN", "A&E", "DBS", "PoT", "LADO", "DSL", "ISA", "NFA",
        "RAG", "KLOE",
    }
    assert required <= listed
    assert all(acronym.meaning and acronym.expansion for acronym in acronyms)
    assert {"GP", "NHS", "A&E"} <= set(everyday)
