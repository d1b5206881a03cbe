"""``till sync [--once]``: push this till's outbox to head office and pull its changes.

``--once`` syncs once and prints the summary as JSON. Without it the till keeps syncing in the
background (heartbeat, nightly) until Ctrl-C, then prints the last status. A progress line goes
to stderr only when stderr is a terminal. Failures are one translated line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from terminal.errors import CommandError
from terminal.i18n import translator

# Codes of SyncFailed that have their own message; any other reads sync.error.other.
KNOWN = frozenset({
    "unreachable", "timeout", "busy", "unauthorised", "till_revoked", "wrong_terminal",
    "entry_conflict", "seq_gap_unrepairable", "no_progress", "protocol_error",
    "restore_unresolved", "epoch_base_unknown", "till_suspended", "unknown_alert", "unknown_till",
    "admin_only", "unknown_held_entry", "held_already_decided", "held_not_creditable",
    "held_beyond_limits", "held_entry_ambiguous", "member_erased", "malformed_entry_id",
})  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sync", help="sync this till with head office")
    parser.add_argument("--once", action="store_true", help="sync once and print the summary")
    parser.add_argument(
        "--heartbeat", type=float, default=300.0, help="seconds between syncs (without --once)"
    )
    parser.set_defaults(func=run)


def failure(exc: Any) -> CommandError:
    params = {k: v for k, v in exc.params.items() if k != "status"}
    if exc.code == "protocol_error":
        return CommandError("sync.error.protocol_error", exit_code=1, status=exc.params["status"])
    if exc.code in KNOWN:
        return CommandError(f"sync.error.{exc.code}", exit_code=1, **params)
    return CommandError("sync.error.other", exit_code=1, code=exc.code)


class _Bar:
    """One self-overwriting progress line on stderr, only when stderr is a terminal."""

    def __init__(self, language: str) -> None:
        self.live = sys.stderr.isatty()
        self.t = translator(language)

    def __call__(self, progress: Any) -> None:
        if not self.live:
            return
        if progress.phase == "push":
            text = self.t("sync.progress.push", sent=self.t.number(progress.entries_sent),
                          left=self.t.number(progress.entries_left))  # fmt: skip
        elif progress.phase == "pull":
            text = self.t("sync.progress.pull", members=self.t.number(progress.members_received))
        else:
            text = self.t("sync.progress.retry", code=progress.code,
                          seconds=self.t.number(round(progress.delay)))  # fmt: skip
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from loyalty import outbox
    from loyalty.till import Till
    from sync.client import SyncClient, SyncFailed
    from sync.credentials import load_token, token_path
    from sync.runner import BackgroundSync
    from terminal.commands.common import load_config

    cfg = load_config(args)
    if not cfg.headoffice:
        raise CommandError("sync.error.no_headoffice")
    till = Till.open(cfg.data_dir)  # NotInitialised: the CLI says to run 'till init'
    token = load_token(cfg.data_dir)
    if token is None:
        till.close()
        raise CommandError("sync.error.no_token", path=str(token_path(cfg.data_dir)))
    url = cfg.headoffice
    bar = _Bar(cfg.language)
    client = SyncClient(till, url, token, on_progress=bar)
    try:
        if args.once:
            try:
                report = client.sync()
            except SyncFailed as exc:
                raise failure(exc) from None
            finally:
                bar.done()
            if report.restored_from_backup:
                # Nothing is lost, but the cashier and the shop's manager must know.
                t = translator(cfg.language)
                lost = t.number(int(till.db.meta("restored_lost") or "0"))
                print(f"till: {t('sync.notice.till_restored', lost=lost)}", file=sys.stderr)
            if report.held_by_headoffice:
                # The outbox goes on; these wait for head office's staff (and the cashier's
                # manager) to look at them.
                t = translator(cfg.language)
                held = t.number(report.held_by_headoffice)
                print(f"till: {t('sync.notice.held_by_headoffice', n=held)}", file=sys.stderr)
            state = "restored" if report.restored_from_backup else "synced"
            return {"state": state, "terminal_id": till.terminal_id, **report.as_dict()}
        runner = BackgroundSync(client, heartbeat=args.heartbeat)
        runner.start()
        runner.sync_now("start")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()
            bar.done()
        status = runner.status
        return {
            "state": status.state,
            "terminal_id": till.terminal_id,
            "outbox": status.outbox,
            "code": status.code,
            "clock_drift_ms": status.clock_drift_ms,
            "held_by_headoffice": outbox.state(till).held,
        }
    finally:
        client.close()
        till.close()
