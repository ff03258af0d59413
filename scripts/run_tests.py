"""Run the whole suite on SQLite, then on PostgreSQL, and print one combined result.

Called by ``make test`` (and so by CI). PostgreSQL is expected at ``--postgres-url``; when it
cannot be reached this says so loudly, and under ``CI=true`` that is a failure, not a skip.
Extra arguments are passed to pytest, e.g. ``make test ARGS="-k sign_in"``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("\n" + "!" * width)
    for line in lines:
        print(f"! {line.ljust(width - 4)} !")
    print("!" * width + "\n", flush=True)


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed: {exc}"
    try:
        with psycopg.connect(url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:  # any failure to connect is reported, whatever its kind
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def run_pytest(label: str, env_overrides: dict[str, str | None], pytest_args: list[str]) -> dict:
    env = dict(os.environ)
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        print(f"\n=== Test suite on {label} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call(
            [sys.executable, "-m", "pytest", f"--junitxml={report}", *pytest_args], cwd=ROOT, env=env
        )
        elapsed = time.monotonic() - started
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if report.exists():
            for suite in ET.parse(report).getroot().iter("testsuite"):
                for key in counts:
                    counts[key] += int(suite.get(key, 0))
    counts.update(label=label, code=code, seconds=elapsed)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true", help="skip the PostgreSQL run (never under CI)")
    args, pytest_args = parser.parse_known_args()

    results = [run_pytest("SQLite", {"DATABASE_URL": None}, pytest_args)]

    problem = None if not args.sqlite_only else "skipped with --sqlite-only"
    if problem is None:
        problem = postgres_problem(args.postgres_url)
    if problem is None:
        results.append(run_pytest("PostgreSQL", {"DATABASE_URL": args.postgres_url}, pytest_args))
    else:
        banner([
            "PostgreSQL is NOT being tested.",
            f"Could not use {args.postgres_url}: {problem}",
            "Start it (see README, 'Running the tests') or pass POSTGRES_URL=...",
            "Under CI=true this is a failure." if IN_CI else "The SQLite run above still counts.",
        ])

    passed = failed = skipped = 0
    print("\n=== Summary ===")
    for result in results:
        r_failed = result["failures"] + result["errors"]
        r_passed = result["tests"] - r_failed - result["skipped"]
        passed, failed, skipped = passed + r_passed, failed + r_failed, skipped + result["skipped"]
        print(f"{result['label']:<11} {r_passed} passed, {r_failed} failed, {result['skipped']} skipped in {result['seconds']:.1f}s")

    exit_code = 0 if all(r["code"] == 0 for r in results) else 1
    if problem is not None and IN_CI:
        exit_code = 1
        failed += 1
    if passed == 0:
        exit_code = exit_code or 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
