"""Social reporting (sosiaalinen raportointi, SHL 7 §): a team's observations over a
span of months, counted per phenomenon tag, small cells suppressed. Pure.

An observation is anonymous by construction (`mobile_schema.observation`: no field
links it to a family or a case); even so, a count of 1–4 could point at a family a
reader knows, so it is shown as "< 5" (`SUPPRESSED`), as THL and Statistics Finland do
with small cells. A tag nobody used does not appear (tags are free, so there is no
list of zeros to show). The free text comes only from observations — never from a
client document — and only under tags counted 5 or more, so no excerpt speaks for a
suppressed cell. The concern zone is not in observations and so never here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

THRESHOLD = 5
SUPPRESSED = "< 5"
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class MonthInvalid(ValueError):
    """A month that is not YYYY-MM."""


def is_month(text: object) -> bool:
    """Whether `text` is a month YYYY-MM of the calendar (01–12)."""
    return isinstance(text, str) and bool(_MONTH.match(text))


def check_span(first: str, last: str) -> tuple[str, str]:
    """The span from the earlier of two months YYYY-MM to the later (given in either
    order: "from" after "to" is the same span)."""
    for month in (first, last):
        if not is_month(month):
            raise MonthInvalid("a month is YYYY-MM")
    return (first, last) if first <= last else (last, first)


@dataclass(frozen=True)
class Observation:
    observed_in: str  # YYYY-MM
    tags: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class TagRow:
    tag: str
    count: int | str  # the number, or SUPPRESSED
    excerpts: tuple[str, ...] = ()  # only when the count is shown

    @property
    def suppressed(self) -> bool:
        return self.count == SUPPRESSED


@dataclass(frozen=True)
class SocialReport:
    first: str
    last: str
    observations: int | str  # how many in all (suppressed too when under 5)
    rows: list[TagRow] = field(default_factory=list)


def shown(count: int) -> int | str:
    """A count as the report prints it: 1–4 suppressed, 0 and 5+ as they are."""
    return SUPPRESSED if 0 < count < THRESHOLD else count


def social_report(
    observations: Iterable[Observation], first: str, last: str, excerpts: bool = True
) -> SocialReport:
    """Observations of the months `first`..`last` counted per tag, most used first, then
    the suppressed ones by tag (their order must not tell their sizes apart);
    `excerpts=False` leaves the free text out (an administrator's view)."""
    chosen = [o for o in observations if first <= o.observed_in <= last]
    counts = Counter(tag for o in chosen for tag in set(o.tags))
    rows = []
    for tag, count in sorted(counts.items(), key=_order):
        texts = ()
        if excerpts and count >= THRESHOLD:
            texts = tuple(o.text for o in chosen if tag in o.tags)
        rows.append(TagRow(tag, shown(count), texts))
    return SocialReport(first, last, shown(len(chosen)), rows)


def _order(item: tuple[str, int]) -> tuple[int, str]:
    tag, count = item
    return (-count if count >= THRESHOLD else 0, tag)
