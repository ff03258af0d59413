"""Pieces every module shares: the model base, code lists, form helpers and error pages."""
