"""The retention rules (server/legal/retention.py) and their configuration: when a case
must be destroyed, never a day early, and a table that refuses what it cannot mean."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError, load_config
from server.legal import retention
from server.legal.retention import RetentionConfigError, Rule

DAYS = st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31))
YEARS = st.integers(min_value=1, max_value=retention.MAX_YEARS)


@given(DAYS, YEARS)
def test_never_due_before_the_full_period_and_due_the_day_after(closed_on, years):
    rule = Rule("family_services", years)
    ends = retention.retention_ends(closed_on, years)
    assert ends.year == closed_on.year + years and ends.month == closed_on.month
    assert not retention.is_due(closed_on, rule, ends)
    assert retention.is_due(closed_on, rule, ends + timedelta(days=1))
    assert retention.due_on(closed_on, rule) == ends + timedelta(days=1)


@given(DAYS, YEARS, DAYS)
def test_due_is_monotonic_in_time_and_longer_periods_are_never_due_sooner(closed_on, years, day):
    short, long = Rule("a", years), Rule("b", min(years + 1, retention.MAX_YEARS))
    if retention.is_due(closed_on, short, day):
        assert retention.is_due(closed_on, short, day + timedelta(days=1))
    if retention.is_due(closed_on, long, day):
        assert retention.is_due(closed_on, short, day)


@given(YEARS, DAYS)
def test_a_case_never_closed_is_never_due(years, today):
    assert retention.due_on(None, Rule("family_services", years)) is None
    assert not retention.is_due(None, Rule("family_services", years), today)


def test_leap_day_closure_ends_on_the_last_day_of_february():
    assert retention.retention_ends(date(2000, 2, 29), 30) == date(2030, 2, 28)
    assert retention.retention_ends(date(2000, 2, 29), 28) == date(2028, 2, 29)


def test_family_services_are_kept_30_years_and_a_task_may_override_its_group():
    default = retention.table()
    for task in ("family_social_guidance", "family_guidance", "early_support_family_work", None):
        assert default.rule_for(task) == Rule("family_services", 30)
    custom = retention.table({"family_guidance": 10})
    assert custom.rule_for("family_guidance") == Rule("family_guidance", 10)
    assert custom.rule_for("family_social_guidance").years == 30
    assert custom.shortest == 10
    assert Rule("family_services", 30).label == "family_services: 30 years"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"family_servces": 30}, "unknown service task or group 'family_servces'"),
        ({"family_services": 0}, "from 1 to 200"),
        ({"family_services": 30.5}, "from 1 to 200"),
        ({"family_services": "thirty"}, "whole number of years"),
        ({"family_services": True}, "number of years, not True"),
    ],
)
def test_a_bad_table_is_a_clear_error(entries, message):
    with pytest.raises(RetentionConfigError, match=message):
        retention.table(entries)


def test_configuration_from_a_file_and_from_the_environment(tmp_path):
    config = tmp_path / "sopu.toml"
    config.write_text('retention_daily = "report"\n[retention]\nfamily_guidance = 12\n')
    loaded = load_config(config, env={})
    assert loaded.retention == {"family_services": 30, "family_guidance": 12}
    assert loaded.retention_daily == "report"
    assert load_config(env={"SOPU_RETENTION": "family_services=31"}).retention == {
        "family_services": 31
    }
    assert load_config(env={}).retention_daily == "shred"
    with pytest.raises(ConfigError, match="unknown service task"):
        load_config(env={"SOPU_RETENTION": "lastensuojelu=120"})
    with pytest.raises(ConfigError, match="not KEY=YEARS"):
        load_config(env={"SOPU_RETENTION": "family_services"})
    with pytest.raises(ConfigError, match='"shred" or "report"'):
        load_config(env={"SOPU_RETENTION_DAILY": "never"})
    config.write_text("retention = 30\n")
    with pytest.raises(ConfigError, match="table of service task"):
        load_config(config, env={})
