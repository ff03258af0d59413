"""Benchmarks: scripts that print figures, run by hand (see README.md). Not part of the test suite."""
