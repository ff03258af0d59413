"""Applying a set of field values to a record and saying what changed, for the audit trail."""

from __future__ import annotations


def apply_changes(record, **values) -> dict[str, list]:
    """Set each attribute and return ``{name: [before, after]}`` for those that differ."""
    changed = {}
    for name, value in values.items():
        before = getattr(record, name)
        if before != value:
            changed[name] = [before, value]
            setattr(record, name, value)
    return changed
