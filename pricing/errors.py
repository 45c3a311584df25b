"""Exceptions for problems in what users hand us; their messages are one line each and name the field."""


class PricingError(ValueError):
    """Base of every user-facing error: the CLI and the app show its message, never a traceback."""


class ScenarioError(PricingError):
    """A scenario file or edit is invalid; `problems` lists one line per problem (`path: what is wrong`)."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class DataError(PricingError):
    """A data file (survey CSV, posterior) is unreadable or has missing or mistyped columns."""
