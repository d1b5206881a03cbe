"""Long-running work that reports back to the app as messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from terminal.app import messages as m

if TYPE_CHECKING:
    from terminal.app.app import TillApp


def sync_now(app: TillApp) -> None:
    _sync(app)


@work(thread=True, exclusive=True, exit_on_error=False, group="sync")
def _sync(app: TillApp) -> None:
    client = app.services.sync
    app.post_message(m.SyncStarted())
    try:
        summary = client.sync_once(
            progress=lambda left, sent: app.post_message(m.SyncProgressed(left, sent))
        )
    except Exception as exc:  # noqa: BLE001 - a failed sync is a state shown to the cashier
        app.post_message(m.SyncFailed(getattr(exc, "code", type(exc).__name__)))
        return
    app.post_message(m.SyncCompleted(summary.pushed, summary.pulled))
