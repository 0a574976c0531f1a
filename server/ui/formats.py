"""Dates and times as Finnish services write them, in every language: d.M.yyyy, 24-hour
clock, weeks from Monday, in Helsinki time (documents store UTC or their own offset)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

HELSINKI = ZoneInfo("Europe/Helsinki")


def as_date(value: str | date | datetime | None) -> str:
    """`2026-12-06` → `6.12.2026`; an instant is first put in Helsinki time."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = _parse(value)
    if isinstance(value, datetime):
        value = _local(value).date()
    return f"{value.day}.{value.month}.{value.year}"


def as_datetime(value: str | datetime | None) -> str:
    """`2026-12-06T08:30:00Z` → `6.12.2026 10.30` (Finnish: a dot between hours and
    minutes), Helsinki time."""
    if value in (None, ""):
        return ""
    moment = _local(_parse(value) if isinstance(value, str) else value)
    return f"{as_date(moment)} {moment.hour}.{moment.minute:02d}"


def as_time(value: str | datetime | None) -> str:
    if value in (None, ""):
        return ""
    moment = _local(_parse(value) if isinstance(value, str) else value)
    return f"{moment.hour}.{moment.minute:02d}"


def _parse(text: str) -> date | datetime:
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=HELSINKI)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=HELSINKI)
    return moment.astimezone(HELSINKI)
