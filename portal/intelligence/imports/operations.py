"""Imports: a file is kept on an :class:`ImportBatch`, checked in full (nothing saved but the
batch), previewed, and applied all at once or not at all.

Three kinds, each an :class:`Importer` that reads its columns, checks every row into
:class:`Findings` (row errors with their lines, what applying would add) and adds the records
through the same operations the pages use: :func:`record_inspection`, :func:`record_visit` and
:func:`record_item`, each without an audit event of its own; the import writes one.

Applying checks the file again, inside the transaction that adds the records, so a file that no
longer passes (a contract ended, a service removed) fails whole. Progress of a large file is
written through a connection of its own, so that the page polling it sees it move while the
import's own transaction is still open.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from portal import policy
from portal.agencies.models import Agency, Service
from portal.audit.operations import record
from portal.core.codes import DataCategory, KeyQuestion, LabelledEnum, Rating
from portal.core.db import utcnow
from portal.core.forms import LOCATION_ID, clean_text
from portal.core.rules import RuleError
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence.imports.parsing import FileProblem, Table, read_date, read_table, read_yes_no, text
from portal.intelligence.models import (
    ImportBatch,
    ImportKind,
    ImportStatus,
    Inspection,
    IntelligenceItem,
    MonitoringVisit,
    QualityScore,
    Severity,
    SourceType,
)
from portal.intelligence.operations import (
    ActionDetails,
    InspectionDetails,
    IntelligenceError,
    ItemDetails,
    VisitDetails,
    check_item,
    check_visit,
    ensure_default_standards,
    fingerprint,
    record_inspection,
    record_item,
    record_visit,
)
from portal.people.models import User

log = logging.getLogger(__name__)

#: Row errors kept to show; every error is counted.
ERRORS_KEPT = 500
#: Unknown locations kept to show; every one is counted.
UNKNOWN_KEPT = 200
#: Rows (or records) between two progress reports of a large file.
PROGRESS_EVERY = 1000
#: How many values go into one IN (...) list.
_CHUNK = 500

KIND_SLUGS = {
    "regulator-ratings": ImportKind.REGULATOR_RATINGS,
    "monitoring-visits": ImportKind.MONITORING_VISITS,
    "items": ImportKind.ITEMS,
}
SLUG_OF = {kind: slug for slug, kind in KIND_SLUGS.items()}


class ImportFailed(RuleError):
    """Applying refused the file: nothing was added."""

    def __init__(self, message: str):
        super().__init__("file", message)


# What a check finds ------------------------------------------------------------------------------


@dataclass
class Planned:
    """One record applying would add: to which service, its details, its fingerprint, its first line."""

    service_id: int
    details: object
    print_: str
    line: int


@dataclass
class Findings:
    errors: list[list] = field(default_factory=list)
    error_count: int = 0
    #: What applying would add, in file order; records already in the portal are left out.
    planned: list[Planned] = field(default_factory=list)
    #: ``{"counts": [[label, number], ...], "adds": n, "unknown": [...], "unknown_total": n}``
    preview: dict = field(default_factory=dict)

    def error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append([line, reason])

    def first_error(self) -> str:
        line, reason = self.errors[0]
        return f"line {line}: {reason}"


class Progress:
    """Reports how far a large file has got, as ``rows_done`` of ``rows_total``.

    Written through a connection of its own so the polling page sees it before the import's own
    transaction ends. SQLite allows one writer at a time, so there progress shows only at the end.
    """

    def __init__(self, batch: ImportBatch, *, start: float = 0.0, share: float = 1.0):
        self.batch_id = batch.id
        self.total = batch.rows_total
        self.start = start
        self.share = share
        self.enabled = batch.rows_total >= PROGRESS_EVERY and db.engine.dialect.name != "sqlite"

    def at(self, done: int, of: int) -> None:
        if not self.enabled or done % PROGRESS_EVERY or not of:
            return
        rows_done = int(self.total * (self.start + self.share * done / of))
        try:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                connection.execute(
                    sa.update(ImportBatch).where(ImportBatch.id == self.batch_id).values(rows_done=rows_done)
                )
        except SQLAlchemyError:
            log.warning("Could not report the progress of import %s", self.batch_id, exc_info=True)


# The three kinds ----------------------------------------------------------------------------------


def _member(enum_class: type[LabelledEnum], value: str):
    """A code-list member by its label or its name, forgiving case, spaces and underscores."""
    wanted = " ".join(value.replace("_", " ").split()).casefold()
    for member in enum_class:
        if wanted in (member.label.casefold(), member.name.replace("_", " ").casefold()):
            return member
    return None


def _labels(enum_class) -> str:
    return ", ".join(member.label for member in enum_class)


def _long_text(cell) -> str:
    return clean_text("" if cell is None else str(cell))


def _in_chunks(values) -> list[list]:
    values = list(values)
    return [values[start:start + _CHUNK] for start in range(0, len(values), _CHUNK)]


class Importer(ABC):
    """What every kind shares: reading the file, finding services by location id, splitting new
    records from those already imported, and applying."""

    kind: ImportKind
    required: list[str]
    #: Said of a location id the importer may not import to (and of one that does not exist).
    not_found = "Location {ref} is not a service you can import to"

    def __init__(self, batch: ImportBatch, user: User):
        self.batch = batch
        self.user = user
        self.agency: Agency = batch.agency

    def read(self, filename: str, content: bytes) -> Table:
        return read_table(filename, content, self.required)

    @abstractmethod
    def services(self) -> dict[str, int]:
        """Location id -> service id, for the services this import may add records to."""

    @abstractmethod
    def check(self, table: Table, progress: Progress | None) -> Findings:
        """Every row checked, and what applying would add."""

    @abstractmethod
    def add(self, service: Service, planned: Planned) -> None:
        """Add one planned record to its service."""

    @abstractmethod
    def result_counts(self, findings: Findings) -> list[list]:
        """What was added, as rows for the result page."""

    def _service_map(self, query) -> dict[str, int]:
        return {ref: service_id for ref, service_id in db.session.execute(query.with_only_columns(Service.location_ref, Service.id))}

    def _rows(self, table: Table, progress: Progress | None):
        """Each data row with its line, reporting progress on the way."""
        total = len(table.rows)
        for done, (line, cells) in enumerate(table.rows, start=1):
            if progress is not None:
                progress.at(done, total)
            yield line, cells

    def _known_location(self, cell, services: dict[str, int], line: int, findings: Findings) -> str | None:
        """A location id that is one of ``services``; the same refusal for one that exists elsewhere."""
        ref = self._location(cell, line, findings)
        if ref is not None and ref not in services:
            findings.error(line, self.not_found.format(ref=ref))
        return ref

    def _location(self, cell, line: int, findings: Findings) -> str | None:
        ref = text(cell)
        if not ref:
            findings.error(line, "Location ID is blank")
            return None
        if not LOCATION_ID.match(ref):
            findings.error(line, f"Location ID '{ref}' is not in the regulator's format: 1- followed by digits, like 1-123456789")
            return None
        return ref

    def _date(self, cell, column: str, line: int, findings: Findings) -> date | None:
        if not text(cell):
            findings.error(line, f"{column} is blank")
            return None
        value = read_date(cell)
        if value is None:
            findings.error(line, f"{column} '{text(cell)}' is not a date: use 2025-03-14 or 14/03/2025")
        return value

    def _split_new(self, model, findings: Findings, candidates: list[Planned]) -> int:
        """Keep in ``findings.planned`` the candidates not yet in the portal; returns how many were."""
        existing: set[tuple[int, str]] = set()
        for chunk in _in_chunks({planned.print_ for planned in candidates}):
            query = sa.select(model.service_id, model.fingerprint).where(model.fingerprint.in_(chunk))
            existing.update((service_id, print_) for service_id, print_ in db.session.execute(query))
        unchanged = 0
        for planned in candidates:
            key = (planned.service_id, planned.print_)
            if key in existing:
                unchanged += 1
            else:
                existing.add(key)
                findings.planned.append(planned)
        return unchanged

    def apply(self, findings: Findings, progress: Progress | None) -> dict:
        services: dict[int, Service] = {}
        for chunk in _in_chunks({planned.service_id for planned in findings.planned}):
            services.update((s.id, s) for s in db.session.scalars(sa.select(Service).where(Service.id.in_(chunk))))
        total = len(findings.planned)
        for done, planned in enumerate(findings.planned, start=1):
            self.add(services[planned.service_id], planned)
            if progress is not None:
                progress.at(done, total)
        return {"counts": self.result_counts(findings), "added": total}


def _preview(findings: Findings, *, rows: int, noun: str, unchanged: int, duplicates: int, details: list[list],
             unknown: dict | None = None) -> None:
    """What applying would do: how many new records, then the kind's own counts, then what it leaves alone."""
    findings.preview = {
        "counts": [
            ["Rows in the file", rows], [f"New {noun} to add", len(findings.planned)], *details,
            [f"{noun.capitalize()} already imported (unchanged)", unchanged], ["Repeated rows (harmless)", duplicates],
        ],
        "adds": len(findings.planned),
    }
    if unknown is not None:
        findings.preview["unknown"] = list(unknown)[:UNKNOWN_KEPT]
        findings.preview["unknown_total"] = len(unknown)


def _services_count(findings: Findings) -> int:
    return len({planned.service_id for planned in findings.planned})


# (a) The regulator's care directory with ratings ---------------------------------------------------

_DOMAINS = {"overall": None, **{q.label.casefold(): q for q in KeyQuestion}, "well led": KeyQuestion.WELL_LED}
_DOMAIN_LABELS = "Overall, " + _labels(KeyQuestion)


class RegulatorImporter(Importer):
    kind = ImportKind.REGULATOR_RATINGS
    required = [
        "Location ID", "Service / Population Group", "Domain", "Latest Rating", "Publication Date", "Inherited Rating (Y/N)",
    ]

    def services(self) -> dict[str, int]:
        """Every service in the importer's area: the regulator's file covers them all."""
        in_area = sa.select(Agency.id).where(Agency.area_id == self.batch.area_id)
        return self._service_map(sa.select(Service).where(Service.provider_id.in_(in_area)))

    def check(self, table: Table, progress: Progress | None) -> Findings:
        findings = Findings()
        services = self.services()
        today = london_today()
        location, group, domain_of, rating_of, date_of, inherited_of = (table.getter(name) for name in self.required)
        report_of, url_of = table.getter("Report Type"), table.getter("URL")
        seen: dict[tuple, tuple[Rating, int]] = {}
        inspections: dict[tuple, dict] = {}
        unknown: dict[str, int] = {}
        other_groups = duplicates = 0
        total = len(table.rows)
        for line, cells in self._rows(table, progress):
            errors_before = findings.error_count
            ref = self._location(location(cells), line, findings)
            domain_text = text(domain_of(cells))
            if domain_text.casefold() not in _DOMAINS:
                findings.error(line, f"Domain '{domain_text}' is not one of {_DOMAIN_LABELS}")
            rating_text = text(rating_of(cells))
            rating = Rating.from_label(rating_text)
            if rating is None:
                findings.error(line, f"Rating '{rating_text}' is not one of {_labels(Rating)}")
            published = self._date(date_of(cells), "Publication Date", line, findings)
            if published is not None and published > today:
                findings.error(line, f"Publication Date {published:%d/%m/%Y} is in the future")
            try:
                inherited = bool(read_yes_no(inherited_of(cells)))
            except ValueError:
                findings.error(line, f"Inherited Rating (Y/N) '{text(inherited_of(cells))}' must be Y or N")
            if findings.error_count > errors_before:
                continue
            domain = _DOMAINS[domain_text.casefold()]
            population = text(group(cells)).casefold()
            key = (ref, population, published, domain)
            earlier = seen.get(key)
            if earlier is not None:
                if earlier[0] is rating:
                    duplicates += 1
                else:
                    findings.error(line, (
                        f"Conflicts with line {earlier[1]}: {domain.label if domain else 'Overall'} for {ref} published "
                        f"{published:%d/%m/%Y} is rated {earlier[0].label} there and {rating.label} here"
                    ))
                continue
            seen[key] = (rating, line)
            if population != "overall":
                other_groups += 1
            elif ref not in services:
                unknown.setdefault(ref, line)
            else:
                report = text(report_of(cells))[:60] or None
                entry = inspections.setdefault((ref, published, report, inherited), {"line": line, "ratings": {}, "url": None})
                entry["ratings"][domain] = rating
                entry["url"] = entry["url"] or (text(url_of(cells))[:300] or None)
        candidates = []
        for (ref, published, report, inherited), entry in inspections.items():
            ratings = entry["ratings"]
            details = InspectionDetails(
                published_on=published, overall=ratings.get(None), ratings={q: ratings.get(q) for q in KeyQuestion},
                inherited=inherited, report_type=report, url=entry["url"],
            )
            candidates.append(Planned(services[ref], details, details.fingerprint(), entry["line"]))
        unchanged = self._split_new(Inspection, findings, candidates)
        _preview(findings, rows=total, noun="inspections", unchanged=unchanged, duplicates=duplicates, details=[
            ["Services they are for", _services_count(findings)],
            ["Rows for other population groups (not stored)", other_groups],
            ["Locations that are not services in this area", len(unknown)],
        ], unknown=unknown)
        return findings

    def add(self, service: Service, planned: Planned) -> None:
        record_inspection(service, planned.details, by=self.user, supplied_by=self.agency, import_id=self.batch.id, audit=False)

    def result_counts(self, findings: Findings) -> list[list]:
        return [
            ["Inspections added", len(findings.planned)],
            ["Services with new ratings", _services_count(findings)],
        ]


# (b) Contract-monitoring results -------------------------------------------------------------------

VISIT_COLUMNS = ["Location ID", "Visit date", "Visiting officer", "Findings"]
ACTION_COLUMNS = ["Action", "Action owner", "Action due date"]


class MonitoringImporter(Importer):
    kind = ImportKind.MONITORING_VISITS
    required = VISIT_COLUMNS + ACTION_COLUMNS
    not_found = "Location {ref} is not a service your agency commissions"

    def __init__(self, batch: ImportBatch, user: User):
        super().__init__(batch, user)
        self.standards = ensure_default_standards(batch.area_id)

    def template_columns(self) -> list[str]:
        return VISIT_COLUMNS + [standard.code for standard in self.standards] + ACTION_COLUMNS

    def read(self, filename: str, content: bytes) -> Table:
        table = super().read(filename, content)
        if not any(table.has(standard.code) for standard in self.standards):
            codes = ", ".join(standard.code for standard in self.standards)
            raise FileProblem(f"The file has no column for any quality standard. Use the template: its columns are {codes}")
        return table

    def services(self) -> dict[str, int]:
        """The services the importer's agency commissions now."""
        return self._service_map(policy.services_of_own_agency(self.user))

    def check(self, table: Table, progress: Progress | None) -> Findings:
        findings = Findings()
        services = self.services()
        location, visited_of, officer_of, findings_of, action_of, owner_of, due_of = (table.getter(n) for n in self.required)
        scored = [(standard, table.getter(standard.code)) for standard in self.standards if table.has(standard.code)]
        visits: dict[tuple, Planned] = {}
        duplicates = 0
        total = len(table.rows)
        for line, cells in self._rows(table, progress):
            errors_before = findings.error_count
            ref = self._known_location(location(cells), services, line, findings)
            visited = self._date(visited_of(cells), "Visit date", line, findings)
            officer = text(officer_of(cells))
            scores = {}
            for standard, score_of in scored:
                value = text(score_of(cells))
                if value:
                    score = _member(QualityScore, value)
                    if score is None:
                        findings.error(line, f"{standard.code} score '{value}' is not one of {_labels(QualityScore)}")
                    scores[standard.id] = score
            action = self._action(cells, action_of, owner_of, due_of, line, findings)
            if findings.error_count > errors_before:
                continue
            notes = _long_text(findings_of(cells))
            planned = visits.get((ref, visited, officer.casefold()))
            if planned is None:
                details = VisitDetails(visited_on=visited, officer_name=officer, findings=notes, scores=scores, actions=[])
                planned = visits[(ref, visited, officer.casefold())] = Planned(services[ref], details, "", line)
            elif (scores or notes) and (scores != planned.details.scores or notes != planned.details.findings):
                findings.error(line, (
                    f"Repeats the visit on line {planned.line} with different findings or scores: on the rows that add "
                    "further actions to a visit, leave Findings and the scores blank"
                ))
                continue
            if action is not None and action in planned.details.actions:
                duplicates += 1
            elif action is not None:
                planned.details.actions.append(action)
            elif planned.line != line:
                duplicates += 1
        standards = {standard.id: standard for standard in self.standards}
        for planned in visits.values():
            try:
                check_visit(planned.details, standards)
            except IntelligenceError as error:
                for _, message in error.problems:
                    findings.error(planned.line, message)
            planned.print_ = planned.details.fingerprint()
        findings.errors.sort(key=lambda error: error[0])
        unchanged = self._split_new(MonitoringVisit, findings, list(visits.values()))
        _preview(findings, rows=total, noun="visits", unchanged=unchanged, duplicates=duplicates, details=[
            ["Improvement actions in them", sum(len(p.details.actions) for p in findings.planned)],
        ])
        return findings

    def _action(self, cells, action_of, owner_of, due_of, line: int, findings: Findings) -> ActionDetails | None:
        description, owner, due = _long_text(action_of(cells)), text(owner_of(cells)), due_of(cells)
        if not (description or owner or text(due)):
            return None
        if not (description and owner and text(due)):
            findings.error(line, "Action, Action owner and Action due date go together: fill in all three, or none")
            return None
        due_on = self._date(due, "Action due date", line, findings)
        if len(owner) > 200:
            findings.error(line, "Action owner must be 200 characters or fewer")
        return ActionDetails(description=description, owner=owner, due_on=due_on) if due_on else None

    def add(self, service: Service, planned: Planned) -> None:
        record_visit(service, planned.details, commissioner=self.agency, by=self.user, import_id=self.batch.id, audit=False)

    def result_counts(self, findings: Findings) -> list[list]:
        return [
            ["Visits added", len(findings.planned)],
            ["Improvement actions added", sum(len(p.details.actions) for p in findings.planned)],
        ]


# (c) Other intelligence items ----------------------------------------------------------------------

ITEM_COLUMNS = ["Location ID", "Date", "Source", "Key questions", "Severity", "Summary"]
ITEM_OPTIONAL = ["Confidential", "Sharing category"]


class ItemsImporter(Importer):
    kind = ImportKind.ITEMS
    required = ITEM_COLUMNS
    not_found = "Location {ref} is not a service you can record intelligence about"

    def template_columns(self) -> list[str]:
        return ITEM_COLUMNS + ITEM_OPTIONAL

    def services(self) -> dict[str, int]:
        return self._service_map(policy.intelligence_services_visible_to(self.user))

    def check(self, table: Table, progress: Progress | None) -> Findings:
        findings = Findings()
        services = self.services()
        today = london_today()
        location, date_of, source_of, questions_of, severity_of, summary_of = (table.getter(n) for n in self.required)
        confidential_of, category_of = (table.getter(n) for n in ITEM_OPTIONAL)
        candidates: dict[tuple[int, str], Planned] = {}
        duplicates = 0
        total = len(table.rows)
        for line, cells in self._rows(table, progress):
            errors_before = findings.error_count
            ref = self._known_location(location(cells), services, line, findings)
            occurred = self._date(date_of(cells), "Date", line, findings)
            source = self._code(SourceType, "Source", source_of(cells), line, findings)
            if source is not None and source.recorded_elsewhere:
                findings.error(line, f"{source.label} items come from their own records and cannot be imported")
            questions = {self._code(KeyQuestion, "Key question", part, line, findings)
                         for part in text(questions_of(cells)).split(";") if part.strip()}
            severity = self._code(Severity, "Severity", severity_of(cells), line, findings)
            try:
                confidential = read_yes_no(confidential_of(cells))
            except ValueError:
                findings.error(line, f"Confidential '{text(confidential_of(cells))}' must be Y, N or blank")
            category = DataCategory.PROVIDER_INTELLIGENCE
            if text(category_of(cells)):
                category = self._code(DataCategory, "Sharing category", category_of(cells), line, findings)
            if findings.error_count > errors_before:
                continue
            details = ItemDetails(
                occurred_on=occurred, source=source, key_questions=questions, severity=severity,
                summary=_long_text(summary_of(cells)), confidential=confidential, sharing_category=category,
            )
            try:
                check_item(details, today=today)
            except IntelligenceError as error:
                for _, message in error.problems:
                    findings.error(line, message)
                continue
            resolved = source.confidential_by_default if confidential is None else confidential
            print_ = fingerprint(
                occurred.isoformat(), source, KeyQuestion.to_bits(questions), severity, details.summary, resolved, category,
            )
            key = (services[ref], print_)
            if key in candidates:
                duplicates += 1
            else:
                candidates[key] = Planned(services[ref], details, print_, line)
        unchanged = self._split_new(IntelligenceItem, findings, list(candidates.values()))
        _preview(findings, rows=total, noun="items", unchanged=unchanged, duplicates=duplicates, details=[
            ["Services they are about", _services_count(findings)],
        ])
        return findings

    def _code(self, enum_class, column: str, cell, line: int, findings: Findings):
        value = text(cell)
        member = _member(enum_class, value) if value else None
        if member is None:
            findings.error(line, f"{column} '{value}' is not one of {_labels(enum_class)}")
        return member

    def add(self, service: Service, planned: Planned) -> None:
        record_item(service, planned.details, by=self.user, supplied_by=self.agency, import_id=self.batch.id,
                    fingerprint_=planned.print_, audit=False)

    def result_counts(self, findings: Findings) -> list[list]:
        return [
            ["Items added", len(findings.planned)],
            ["Services they are about", _services_count(findings)],
        ]


IMPORTERS: dict[ImportKind, type[Importer]] = {
    ImportKind.REGULATOR_RATINGS: RegulatorImporter,
    ImportKind.MONITORING_VISITS: MonitoringImporter,
    ImportKind.ITEMS: ItemsImporter,
}


# The life of a batch --------------------------------------------------------------------------------


def _importing_user(batch: ImportBatch) -> User:
    """The uploader, acting in a role of the batch's agency that may import this kind of file."""
    user = batch.uploaded_by
    current = user.membership
    for membership in ([current] if current is not None else []) + user.active_memberships:
        if membership.agency_id != batch.agency_id:
            continue
        user.membership = membership
        if policy.can_import(user, batch.kind):
            return user
    user.membership = current
    raise FileProblem("You no longer hold a role that may import this file, so nothing was imported")


def importer_for(batch: ImportBatch) -> Importer:
    return IMPORTERS[batch.kind](batch, _importing_user(batch))


def template_columns(kind: ImportKind, user: User) -> list[str]:
    """The header row of the CSV template for monitoring visits or items, for the person's area."""
    batch = ImportBatch(kind=kind, area_id=user.membership.agency.area_id, agency=user.membership.agency)
    return IMPORTERS[kind](batch, user).template_columns()


def start_import(kind: ImportKind, *, filename: str, content: bytes, by: User) -> tuple[ImportBatch, Table]:
    """Keep an uploaded file on a new batch, once it reads as the right sort of file.

    Raises :class:`FileProblem` (and keeps nothing) for a file of the wrong type, an empty or
    unreadable one, or one without the columns this kind needs.
    """
    agency = by.membership.agency
    batch = ImportBatch(
        kind=kind, status=ImportStatus.CHECKING, area_id=agency.area_id, agency=agency, uploaded_by=by,
        # The name is the uploader's to choose: no control characters (PostgreSQL refuses NUL).
        filename=(clean_text(filename or "") or "upload")[-255:], content=content, content_sha256=hashlib.sha256(content).hexdigest(),
    )
    table = IMPORTERS[kind](batch, by).read(batch.filename, content)
    batch.rows_total = len(table.rows)
    db.session.add(batch)
    db.session.flush()
    return batch, table


def check_batch(batch: ImportBatch, table: Table | None = None) -> None:
    """Check every row and keep the row errors or the preview on the batch; adds nothing else."""
    if batch.status is not ImportStatus.CHECKING:
        return
    try:
        importer = importer_for(batch)
        findings = importer.check(table or importer.read(batch.filename, batch.content), Progress(batch))
    except FileProblem as problem:
        batch.status = ImportStatus.INVALID
        batch.problem = str(problem)
        return
    batch.errors = findings.errors
    batch.error_count = findings.error_count
    batch.preview = findings.preview
    batch.rows_done = batch.rows_total
    batch.status = ImportStatus.INVALID if findings.error_count else ImportStatus.READY


#: An import still "importing" this long after it was claimed died with its worker: it may be claimed again.
STALE_APPLY = timedelta(minutes=30)


def _claim(batch_id: int, status: ImportStatus, becomes: ImportStatus) -> bool:
    """Move a batch from one status to the next, unless something else already has; commits."""
    claimable = ImportBatch.status == status
    if becomes is ImportStatus.APPLYING:
        # Applying runs in one transaction: a worker lost mid-way saved nothing, so the batch is
        # taken over once its claim is old enough that it cannot still be running.
        stale = sa.and_(ImportBatch.status == ImportStatus.APPLYING, ImportBatch.updated_at < utcnow() - STALE_APPLY)
        claimable = sa.or_(claimable, stale)
    claimed = db.session.execute(
        sa.update(ImportBatch).where(ImportBatch.id == batch_id, claimable)
        .values(status=becomes, rows_done=0, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def apply_batch(batch_id: int) -> ImportBatch | None:
    """Add everything a checked batch holds in one transaction, or nothing: any refusal fails the batch.

    Safe to run twice: only the run that moves the batch from ready to importing goes on.
    """
    if not _claim(batch_id, ImportStatus.READY, ImportStatus.APPLYING):
        return None
    batch = db.session.get(ImportBatch, batch_id, populate_existing=True)
    try:
        importer = importer_for(batch)
        findings = importer.check(importer.read(batch.filename, batch.content), Progress(batch, share=0.5))
        if findings.error_count:
            raise ImportFailed(
                f"The file no longer passes its checks ({findings.error_count:,} rows with errors, the first at "
                f"{findings.first_error()}), so nothing was imported"
            )
        result = importer.apply(findings, Progress(batch, start=0.5, share=0.5))
        batch.status = ImportStatus.APPLIED
        batch.result = result
        batch.rows_done = batch.rows_total
        batch.applied_at = utcnow()
        record(
            "intelligence.import.apply", f"imported {batch.kind.label.lower()} from {batch.filename}", target=batch,
            details={"kind": batch.kind.name, "rows": batch.rows_total, "added": result["added"], "sha256": batch.content_sha256},
            actor=importer.user, agency_id=batch.agency_id,
        )
        db.session.commit()
    except (FileProblem, RuleError) as refusal:
        _fail(batch_id, str(refusal))
    except Exception:  # a database error or a fault: the batch must not stay "importing" for ever
        log.exception("Import %s could not be saved", batch_id)
        _fail(batch_id, "The import could not be saved, so nothing was imported. Upload the file again to retry")
    return db.session.get(ImportBatch, batch_id)


def _fail(batch_id: int, message: str) -> None:
    db.session.rollback()
    batch = db.session.get(ImportBatch, batch_id, populate_existing=True)
    batch.status = ImportStatus.FAILED
    batch.problem = message
    db.session.commit()


def cancel_import(batch: ImportBatch) -> bool:
    """Drop a checked file that has not been imported; False when it is too late for that."""
    return _claim(batch.id, ImportStatus.READY, ImportStatus.CANCELLED)

