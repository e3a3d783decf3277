"""How the console writes numbers, shares and weekdays (pure)."""

from __future__ import annotations

from dialerd.console.render import number, percent, weekdays


def test_weekdays_read_as_runs() -> None:
    assert weekdays([1, 2, 3, 4, 5]) == "Mon–Fri"
    assert weekdays([7, 1, 2, 3, 4, 5]) == "Mon–Fri, Sun"
    assert weekdays([1, 3]) == "Mon, Wed"
    assert weekdays([6]) == "Sat"


def test_numbers_have_thin_spaces_between_thousands_and_a_dash_when_unknown() -> None:
    assert number(1234567) == "1\u202f234\u202f567"
    assert number(2.345, 1) == "2.3"
    assert number(None) == "–"
    assert percent(0.0312) == "3.1\u00a0%"
    assert percent(None) == "–"
