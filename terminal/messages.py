"""Turn the codes other packages return into one line in the user's language."""

from __future__ import annotations

from typing import Any

from loyalty.errors import LoyaltyError, ProgramError, Refused
from terminal.i18n import Translator


def describe(t: Translator, error: LoyaltyError, currency: str | None = None) -> str:
    """A loyalty error as the cashier reads it, with what they can do next."""
    params: dict[str, Any] = dict(error.params)
    currency = currency or params.get("currency")
    for name, value in list(params.items()):
        if name.endswith("_minor") and isinstance(value, int) and currency:
            params[name] = t.money(value, currency)
        elif isinstance(value, int) and not isinstance(value, bool):
            params[name] = t.number(value)
    if isinstance(error, ProgramError):
        extra = {k: v for k, v in params.items() if k not in ("source", "field", "problem")}
        params["problem"] = t(f"loyalty.problem.{error.problem}", **extra)
    key = f"loyalty.{error.code}"
    text = t(key, **params) if t.has(key) else t("loyalty.bad_input")
    if isinstance(error, Refused) and error.next_steps:
        # The steps are alternatives ("… or …"), in the language's own list and clause marks.
        steps = t.join([t(f"loyalty.next.{step}") for step in error.next_steps], style="or")
        text = t.clauses(text, t("loyalty.next.intro", steps=steps))
    return text
