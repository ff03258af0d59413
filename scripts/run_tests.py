"""Run the whole suite on SQLite and on PostgreSQL, and print one combined result.

Called by ``make test`` (and so by CI). PostgreSQL is expected at ``--postgres-url``; when it
cannot be reached this says so loudly, and under ``CI=true`` that is a failure, not a skip.
Extra arguments are passed to pytest, e.g. ``make test ARGS="-k sign_in"``.

The two runs go side by side, each in a process of its own writing to a log that is printed when
it finishes: each run is mostly one busy Python process, so on two cores the pair takes little
longer than the slower one alone. They share nothing: each has its own databases, Redis database
number, ports and browser. ``--one-at-a-time`` runs them one after the other with live output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
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


@dataclass
class Run:
    label: str
    process: subprocess.Popen
    report: Path
    log: Path
    started: float


def start_pytest(label: str, env_overrides: dict[str, str | None], pytest_args: list[str], workdir: Path,
                 live: bool) -> Run:
    env = dict(os.environ)
    # Compiled modules are kept and reused (__pycache__ is ignored by git): without them each run
    # compiles the portal, the tests and their libraries again, about 5 s of CPU per run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    report, log = workdir / f"junit-{label}.xml", workdir / f"pytest-{label}.log"
    if live:
        print(f"\n=== Test suite on {label} ===", flush=True)
    output = None if live else log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", f"--junitxml={report}", *pytest_args], cwd=ROOT, env=env,
        stdout=output, stderr=subprocess.STDOUT if output else None,
    )
    return Run(label, process, report, log, time.monotonic())


def finish(run: Run, live: bool) -> dict:
    code = run.process.wait()
    elapsed = time.monotonic() - run.started
    if not live:
        print(f"\n=== Test suite on {run.label} ===", flush=True)
        sys.stdout.buffer.write(run.log.read_bytes())
        sys.stdout.flush()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if run.report.exists():
        for suite in ET.parse(run.report).getroot().iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, 0))
    counts.update(label=run.label, code=code, seconds=elapsed)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true", help="skip the PostgreSQL run (never under CI)")
    parser.add_argument("--one-at-a-time", action="store_true",
                        help="run SQLite, then PostgreSQL, with live output, instead of side by side")
    args, pytest_args = parser.parse_known_args()

    problem = None if not args.sqlite_only else "skipped with --sqlite-only"
    if problem is None:
        problem = postgres_problem(args.postgres_url)
    suites = [("SQLite", {"DATABASE_URL": None})]
    if problem is None:
        suites.append(("PostgreSQL", {"DATABASE_URL": args.postgres_url}))
    live = args.one_at_a_time or len(suites) == 1
    with tempfile.TemporaryDirectory() as tmp:
        if live:
            results = [finish(start_pytest(label, env, pytest_args, Path(tmp), True), True) for label, env in suites]
        else:
            print("Running the suite on SQLite and on PostgreSQL side by side; each run's output follows when "
                  "it finishes (`--one-at-a-time` for live output).", flush=True)
            runs = [start_pytest(label, env, pytest_args, Path(tmp), False) for label, env in suites]
            results = [finish(run, False) for run in runs]
    if problem is not None:
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
