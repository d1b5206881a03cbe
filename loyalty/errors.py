"""Errors of the domain: a stable code (a translation key lives under it in the terminal) and
parameters, never a sentence. The terminal turns ``loyalty.<code>`` into the user's language."""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    """Bad input or a refused operation; nothing was written."""

    code: str = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(f"{self.code}: {params}" if params else self.code)


class BadInput(LoyaltyError):
    """A malformed amount, line, id or option."""

    code = "bad_input"


class NotFound(LoyaltyError):
    """An unknown member, receipt or reward."""

    code = "not_found"


class Refused(LoyaltyError):
    """A well-formed request the rules do not allow (blocked member, insufficient points, the
    offline policy). ``next_steps`` says what the cashier can do instead."""

    code = "refused"

    def __init__(self, code: str, next_steps: tuple[str, ...] = (), **params: Any) -> None:
        super().__init__(code, **params)
        self.next_steps = next_steps


class ProgramError(LoyaltyError):
    """A program document that cannot be used: names the file, the field and what was wrong."""

    code = "program_invalid"

    def __init__(self, source: str, field: str, problem: str, **params: Any) -> None:
        super().__init__(self.code, source=source, field=field, problem=problem, **params)
        self.source = source
        self.field = field
        self.problem = problem


class NotInitialised(LoyaltyError):
    code = "not_initialised"
