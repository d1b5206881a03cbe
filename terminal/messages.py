"""Turn the codes other packages return into one line in the user's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loyalty.errors import LoyaltyError, ProgramError, Refused
from terminal.i18n import Translator, placeholders


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


def sync_reason(
    t: Translator, code: str, params: Mapping[str, Any], terminal_id: str, fallback: str
) -> str:
    """A head-office (sync) error code as one line: ``sync.error.<code>`` filled with the
    failure's own parameters, and this till's id where the message names it. A message whose
    placeholders are still not all known (an answer without the detail it usually carries) reads
    ``fallback`` instead: a cashier never sees a raw ``{name}``, nor an unknown code."""
    key = f"sync.error.{code}"
    if not t.has(key):
        return t(fallback)
    values: dict[str, Any] = {"terminal_id": terminal_id}
    for name, value in params.items():
        shown = t.number(value) if isinstance(value, int) and not isinstance(value, bool) else value
        values[name] = str(shown)[:80]  # head office's words, bounded
    if placeholders(t.template(key)) - values.keys():
        return t(fallback)
    return t(key, **values)
