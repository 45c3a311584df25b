"""User-facing messages stay bounded whatever the input: values quoted short, problems counted, one line."""

from pricing.errors import ScenarioError, capped, one_line, shown
from pricing.limits import MAX_PROBLEMS


def test_shown_quotes_any_value_briefly():
    assert shown("abc") == "'abc'"
    assert shown(10**5000) == "an integer of about 5,001 digits"  # repr() itself would raise ValueError
    long = shown("x" * 1_000_000)
    assert len(long) == 60 and long.startswith("'xxx") and long.endswith("…")
    assert shown(2**63) == "9223372036854775808"  # 64 bits still print


def test_problems_are_capped_and_each_is_one_line():
    problems = [f"attributes[{i}]: bad\nsecond line" for i in range(300_000)]
    kept = capped(problems)
    assert len(kept) == MAX_PROBLEMS + 1 and kept[-1] == "... and 299,980 more problems"
    assert kept[0] == "attributes[0]: bad; second line"
    assert len(ScenarioError(problems).problems) == MAX_PROBLEMS + 1
    assert len(one_line("y" * 10_000)) == 1000
