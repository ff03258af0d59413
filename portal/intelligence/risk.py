"""The provider risk signal: a documented rule set, no black box.

The rules and weights live in the TOML file named by ``RISK_RULES_FILE`` (``config/risk_rules.toml``
explains each one). :func:`assess` is a pure function of a service's items and a day, so it is
tested rule by rule with frozen time; :mod:`portal.intelligence.operations` stores its answer
whenever an item changes, and a nightly task refreshes time decay.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from portal.core.codes import KeyQuestion
from portal.intelligence.models import RiskBand, Severity, SourceType


@dataclass(frozen=True)
class RiskRules:
    source_weights: dict[SourceType, float]
    severity_points: dict[Severity, float]
    consequence: dict[Severity, int]
    half_life_days: float
    horizon_days: int
    likelihood_thresholds: tuple[float, ...]
    converging_window_days: int
    converging_min_sources: int
    converging_min_severity: Severity
    converging_likelihood_boost: int
    red_from: int
    amber_from: int

    @classmethod
    def from_mapping(cls, data: dict) -> RiskRules:
        """Rules from the parsed TOML; a missing or unknown name is an error at start-up, not a guess."""
        try:
            thresholds = tuple(float(value) for value in data["likelihood"]["thresholds"])
            if len(thresholds) != 4 or list(thresholds) != sorted(thresholds):
                raise ValueError("likelihood.thresholds must be four rising numbers")
            rules = cls(
                source_weights={source: float(data["source_weights"][source.name]) for source in SourceType},
                severity_points={severity: float(data["severity_points"][severity.name]) for severity in Severity},
                consequence={
                    severity: int(data["consequence"][severity.name]) for severity in Severity if severity.adverse
                },
                half_life_days=float(data["half_life_days"]),
                horizon_days=int(data["horizon_days"]),
                likelihood_thresholds=thresholds,
                converging_window_days=int(data["converging"]["window_days"]),
                converging_min_sources=int(data["converging"]["min_sources"]),
                converging_min_severity=Severity[data["converging"]["min_severity"]],
                converging_likelihood_boost=int(data["converging"]["likelihood_boost"]),
                red_from=int(data["bands"]["red_from"]),
                amber_from=int(data["bands"]["amber_from"]),
            )
            rules.check()
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"The risk rules are incomplete or wrong: {error!r}") from error
        return rules

    def check(self) -> None:
        """Refuse values the rules could not work with (a half-life of 0 would divide by zero)."""
        if self.half_life_days <= 0 or self.horizon_days < 0 or self.converging_window_days < 0:
            raise ValueError("half_life_days must be above 0; horizon_days and converging.window_days 0 or more")
        if any(value < 0 for value in (*self.source_weights.values(), *self.severity_points.values())):
            raise ValueError("source_weights and severity_points must not be negative")
        if not all(1 <= value <= 5 for value in self.consequence.values()):
            raise ValueError("consequence values must be between 1 and 5")
        if self.converging_min_sources < 1 or self.converging_likelihood_boost < 0:
            raise ValueError("converging.min_sources must be 1 or more and converging.likelihood_boost 0 or more")
        if not 1 <= self.amber_from <= self.red_from <= 25:
            raise ValueError("bands must satisfy 1 <= amber_from <= red_from <= 25")


@lru_cache(maxsize=8)
def load_rules(path: str) -> RiskRules:
    with open(path, "rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"The risk rules file {path} is not valid TOML: {error}") from error
    return RiskRules.from_mapping(data)


def current_rules() -> RiskRules:
    from flask import current_app

    return load_rules(current_app.config["RISK_RULES_FILE"])


@dataclass(frozen=True)
class ItemFacts:
    """What the rules read of an item (so they run the same on model rows and plain query rows)."""

    id: int
    occurred_on: date
    source: SourceType
    severity: Severity
    key_question_bits: int
    summary: str
    confidential: bool


@dataclass
class Assessment:
    score: float = 0.0
    likelihood: int = 1
    consequence: int = 1
    band: RiskBand = RiskBand.GREEN
    converging_bits: int = 0
    #: Contributing items, largest first, as stored in :attr:`RiskSignal.reasons`.
    reasons: list[dict] = field(default_factory=list)


def item_points(rules: RiskRules, item: ItemFacts, today: date) -> float:
    """Rule 1: source weight × severity points, halved every ``half_life_days``; nothing past the horizon."""
    age = (today - item.occurred_on).days
    if age < 0:
        age = 0
    if age > rules.horizon_days or not item.severity.adverse:
        return 0.0
    decay = 0.5 ** (age / rules.half_life_days)
    return rules.source_weights[item.source] * rules.severity_points[item.severity] * decay


def converging_bits(rules: RiskRules, items: list[ItemFacts], today: date) -> int:
    """Rule 5: the key questions on which enough different source types agree within the window."""
    since = today - timedelta(days=rules.converging_window_days)
    sources: dict[KeyQuestion, set[SourceType]] = {question: set() for question in KeyQuestion}
    for item in items:
        if item.occurred_on < since or item.occurred_on > today:
            continue
        if item.severity.rank < rules.converging_min_severity.rank:
            continue
        for question in KeyQuestion.from_bits(item.key_question_bits):
            sources[question].add(item.source)
    return KeyQuestion.to_bits(q for q, found in sources.items() if len(found) >= rules.converging_min_sources)


def likelihood_for(rules: RiskRules, score: float) -> int:
    """Rule 3."""
    return 1 + sum(1 for threshold in rules.likelihood_thresholds if score >= threshold)


def band_for(rules: RiskRules, likelihood: int, consequence: int) -> RiskBand:
    """Rule 6."""
    product = likelihood * consequence
    if product >= rules.red_from:
        return RiskBand.RED
    if product >= rules.amber_from:
        return RiskBand.AMBER
    return RiskBand.GREEN


def assess(rules: RiskRules, items: list[ItemFacts], today: date) -> Assessment:
    """The signal for one service's items on ``today``, with the items that make it up."""
    assessment = Assessment()
    bits = converging_bits(rules, items, today)
    window_start = today - timedelta(days=rules.converging_window_days)
    contributions = []
    worst: Severity | None = None
    for item in items:
        points = item_points(rules, item, today)
        if points <= 0:
            continue
        contributions.append((points, item))
        if worst is None or item.severity.rank > worst.rank:
            worst = item.severity
    contributions.sort(key=lambda pair: (-pair[0], pair[1].occurred_on, pair[1].id))
    assessment.score = round(sum(points for points, _ in contributions), 4)
    assessment.consequence = rules.consequence[worst] if worst is not None else 1
    likelihood = likelihood_for(rules, assessment.score)
    if bits:
        likelihood = min(5, likelihood + rules.converging_likelihood_boost)
    assessment.likelihood = likelihood
    assessment.band = band_for(rules, likelihood, assessment.consequence)
    assessment.converging_bits = bits
    assessment.reasons = [
        {
            "item_id": item.id,
            "occurred_on": item.occurred_on.isoformat(),
            "source": item.source.name,
            "severity": item.severity.name,
            "key_question_bits": item.key_question_bits,
            "points": round(points, 2),
            "summary": item.summary[:160],
            #: Whether the item is one of those that make the service converge.
            "converging": bool(item.key_question_bits & bits)
            and window_start <= item.occurred_on <= today
            and item.severity.rank >= rules.converging_min_severity.rank,
        }
        for points, item in contributions
    ]
    return assessment
