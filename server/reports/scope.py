"""Who sees which statutory report, and the report parameters, for the API and the web.

- THL processing times: a supervisor their own team's figures; an administrator every
  team's (counts only, which are no client data; one team with `team=`); an instructor
  none (a report on the service, for those who answer for it).
- Social reporting: an instructor or a supervisor their own team's, with free-text
  excerpts under the tags counted 5 or more; an administrator any one team's counts,
  without the free text (administrators read no content).
Another team's report is 404 for a supervisor or instructor (it never confirms the
team exists); so is an unknown team for an administrator.
"""

from __future__ import annotations

from datetime import date

from ..errors import Forbidden, InvalidHalfYear, InvalidInput, InvalidMonths, NotFoundError
from ..legal.processing_times import Period, PeriodInvalid, parse_period, period_of
from ..legal.social_reporting import MonthInvalid, check_span, is_month


def processing_time_teams(account: dict, team: str | None, teams: dict[str, str]) -> list[str]:
    """The teams whose THL figures `account` gets (`team`: only that one)."""
    if account["role"] == "admin":
        if team:
            return [_known(team, teams)]
        return list(teams)
    if account["role"] != "supervisor":
        raise Forbidden("the processing times are for supervisors and administrators")
    return [_own(account, team)]


def social_report_team(account: dict, team: str | None, teams: dict[str, str]) -> str:
    """The one team whose social report `account` gets."""
    if account["role"] == "admin":
        if not team:
            raise InvalidInput("name the team: team=<team id>", parameter="team")
        return _known(team, teams)
    return _own(account, team)


def with_excerpts(account: dict) -> bool:
    """Whether the free text is shown (never to an administrator)."""
    return account["role"] != "admin"


def half_year(value: str | None, today: date) -> Period:
    """`period=` (YYYYH1 or YYYYH2), else (absent) the half-year under way."""
    if value is None:
        return period_of(today)
    try:
        return parse_period(value)
    except PeriodInvalid as exc:
        raise InvalidHalfYear(str(exc), parameter="period") from None


def months(first: str | None, last: str | None, today: date) -> tuple[str, str]:
    """`from=` and `to=` (YYYY-MM), by default January of this year to this month."""
    first = f"{today.year}-01" if first is None else first
    last = f"{today.year}-{today.month:02d}" if last is None else last
    try:
        return check_span(first, last)
    except MonthInvalid as exc:
        wrong, value = ("from", first) if not is_month(first) else ("to", last)
        raise InvalidMonths(f"{wrong}: {exc}, not {value!r}", parameter=wrong) from None


def _own(account: dict, team: str | None) -> str:
    own = account.get("team_id")
    if not own or (team and team != own):
        raise NotFoundError(f"no team {team}" if team else "you belong to no team")
    return own


def _known(team: str, teams: dict[str, str]) -> str:
    if team not in teams:
        raise NotFoundError(f"no team {team}")
    return team
