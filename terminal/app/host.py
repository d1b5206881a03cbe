"""What screens and widgets may ask of the app, as a Protocol: they never import the app class
(the app imports them), so the layers stay one-way: app > screens > widgets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from loyalty.errors import LoyaltyError
    from terminal.app.services import TillServices
    from terminal.auth import Cashier
    from terminal.i18n import Translator


class TillHost(Protocol):
    @property
    def services(self) -> TillServices: ...

    @property
    def cashier(self) -> Cashier | None: ...

    @property
    def language(self) -> str: ...

    @property
    def t(self) -> Translator: ...

    # What the status line shows.
    @property
    def online(self) -> bool: ...

    @property
    def unsynced(self) -> int: ...

    @property
    def last_sync(self) -> dt.datetime | None: ...

    @property
    def printer_state(self) -> str: ...

    @property
    def camera_state(self) -> str: ...

    @property
    def sync_progress(self) -> int: ...

    @property
    def held_by_headoffice(self) -> int: ...

    def describe(self, error: LoyaltyError) -> str:
        """A domain error as one line in the till's language."""
        ...

    def sync_reason(self, code: str, params: Mapping[str, Any] | None = None) -> str:
        """A sync error code as one line in the till's language."""
        ...

    def tell_failure(
        self, code: str, key: str, asked: bool, params: Mapping[str, Any] | None = None
    ) -> None:
        """A head-office failure as a toast, once however often it repeats."""
        ...

    def no_headoffice(self) -> str:
        """Why there is no head office to call."""
        ...
