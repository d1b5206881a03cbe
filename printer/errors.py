"""Codes, never texts: the terminal turns them into words with ``printer.problem.<code>``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Problem(StrEnum):
    """Why a receipt could not be rendered or printed."""

    OFFLINE = "offline"  # no connection to the printer (refused, unreachable, not plugged in)
    OUT_OF_PAPER = "out_of_paper"
    COVER_OPEN = "cover_open"
    FAILED_MID_JOB = "failed_mid_job"  # the connection broke after some bytes were sent
    TIMEOUT = "timeout"  # the printer stopped taking bytes or answering
    UNSUPPORTED_CHARACTER = "unsupported_character"  # no font we ship has a glyph for it
    SHAPING_UNAVAILABLE = "shaping_unavailable"  # Pillow without raqm/FriBiDi
    BAD_PRINTER_URL = "bad_printer_url"
    UNKNOWN_PROFILE = "unknown_profile"
    DRIVER_MISSING = "driver_missing"  # e.g. usb:// without pyusb installed
    NO_SUCH_JOB = "no_such_job"
    JOB_NOT_RETRYABLE = "job_not_retryable"


class PrinterError(Exception):
    """A problem with a code and parameters (no text of its own).

    ``sent`` tells whether any byte of the job may have reached the printer: a job that
    failed before sending anything can be retried without any risk of a second print.
    """

    def __init__(self, problem: Problem, /, *, sent: bool = False, **params: Any) -> None:
        super().__init__(problem.value, params)
        self.problem = problem
        self.sent = sent
        self.params = params

    @property
    def key(self) -> str:
        """The translation key the terminal looks up."""
        return f"printer.problem.{self.problem.value}"
