"""How long a closed case is kept, per service task, and when it must be destroyed. Pure.

The client-data act (703/2023) sets retention per service task, counted from the end of
the client relationship: in Sopu, the day the case was closed (`cases.closed_on`). For
family services that is 30 years. Each site configures the periods in a table
(`[retention]` in the configuration file) whose keys are a group of service tasks
(`family_services`) or one service task (`family_guidance`), the task's own entry
winning over its group's; a case without a recorded task falls under its group's rule.

A period of N years from a day ends on the same day N years later; when that month has
no such day (29 February), on the last day of the month (the act on reckoning statutory
time limits, 150/1930, 3 §). The case is due for destruction the day after retention
ends — never earlier — and a case that was never closed is never due.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from mobile_schema.case import SERVICE_TASKS

# Every service task belongs to one group; a group's rule covers its tasks.
GROUPS: dict[str, tuple[str, ...]] = {"family_services": SERVICE_TASKS}
DEFAULT_GROUP = "family_services"  # a case without a recorded service task
DEFAULT_YEARS: dict[str, int] = {"family_services": 30}
MAX_YEARS = 200


class RetentionConfigError(ValueError):
    """A retention table that is not usable; the message says which entry and why."""


@dataclass(frozen=True)
class Rule:
    """A retention period: the table key it came from (`rule`) and its length."""

    name: str
    years: int

    @property
    def label(self) -> str:
        """How the statutory record names the rule, e.g. `family_services: 30 years`."""
        return f"{self.name}: {self.years} years"


@dataclass(frozen=True)
class RetentionTable:
    """Validated periods by table key (`table` builds one from configuration)."""

    years: Mapping[str, int]

    def rule_for(self, service_task: str | None) -> Rule:
        """The task's own rule if configured, else its group's."""
        if service_task in self.years:
            return Rule(service_task, self.years[service_task])
        group = _group_of(service_task)
        return Rule(group, self.years[group])

    @property
    def shortest(self) -> int:
        """The shortest period of any entry (a cheap pre-filter for queries)."""
        return min(self.years.values())


def table(entries: Mapping[str, object] | None = None) -> RetentionTable:
    """The defaults overlaid with `entries`, validated: known keys, whole years 1–200."""
    years = dict(DEFAULT_YEARS)
    for key, value in (entries or {}).items():
        years[_known_key(key)] = _years(key, value)
    return RetentionTable(years)


def parse_entries(text: str) -> dict[str, str]:
    """`family_services=30,family_guidance=10` (an environment variable) as a mapping."""
    entries = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise RetentionConfigError(f"retention entry {part!r} is not KEY=YEARS")
        entries[key.strip()] = value.strip()
    return entries


def retention_ends(closed_on: date, years: int) -> date:
    """The last day of retention: `years` after the closure day (150/1930, 3 §)."""
    year = closed_on.year + years
    last = calendar.monthrange(year, closed_on.month)[1]
    return date(year, closed_on.month, min(closed_on.day, last))


def due_on(closed_on: date | None, rule: Rule) -> date | None:
    """The first day the case must be destroyed; None for a case never closed."""
    if closed_on is None:
        return None
    return retention_ends(closed_on, rule.years) + timedelta(days=1)


def is_due(closed_on: date | None, rule: Rule, today: date) -> bool:
    """Whether retention has ended by `today` (never for a case that was not closed)."""
    day = due_on(closed_on, rule)
    return day is not None and day <= today


def _group_of(service_task: str | None) -> str:
    for group, tasks in GROUPS.items():
        if service_task in tasks:
            return group
    return DEFAULT_GROUP


def _known_key(key: object) -> str:
    known = [*GROUPS, *(task for tasks in GROUPS.values() for task in tasks)]
    if key not in known:
        raise RetentionConfigError(
            f"retention: unknown service task or group {key!r}; known: {', '.join(known)}"
        )
    return str(key)


def _years(key: str, value: object) -> int:
    if isinstance(value, bool):
        raise RetentionConfigError(f"retention.{key} must be a number of years, not {value!r}")
    try:
        years = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise RetentionConfigError(
            f"retention.{key} must be a whole number of years, not {value!r}"
        ) from None
    if str(years) != str(value).strip() or not 1 <= years <= MAX_YEARS:
        raise RetentionConfigError(
            f"retention.{key} must be a whole number of years from 1 to {MAX_YEARS}, not {value!r}"
        )
    return years
