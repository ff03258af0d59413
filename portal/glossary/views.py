"""The public glossary page: every term, or those matching a search, grouped A to Z."""

from __future__ import annotations

import string

from flask import render_template, request

from portal.glossary.terms import MAX_QUERY_LENGTH, OTHER_GROUP, all_terms, by_letter, search


def index():
    query = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
    results = search(query)
    groups = by_letter(results)
    present = {letter for letter, _ in groups}
    alphabet = [(letter, letter in present) for letter in string.ascii_uppercase]
    if OTHER_GROUP in present:
        alphabet.append((OTHER_GROUP, True))
    return render_template(
        "glossary/index.html",
        query=query,
        groups=groups,
        count=len(results),
        total=len(all_terms()),
        alphabet=alphabet,
        other_group=OTHER_GROUP,
        slugs={term.term: term.slug for term in all_terms()},
        shown={term.slug for term in results},
    )
