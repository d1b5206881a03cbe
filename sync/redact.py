"""Credentials never reach a message or a log: ``scheme://user:password@host`` becomes
``scheme://user:***@host`` and libpq's ``password=...`` becomes ``password=***``, wherever they
appear in a text (a database URL given on the command line, a driver's error, a log record)."""

from __future__ import annotations

import logging
import re

_URL_SECRET = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*):[^@\s/]*@")
_KEYWORD_SECRET = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s&]+)", re.I)
_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "sync.headoffice", "sync.client")


def redact(text: str) -> str:
    text = _URL_SECRET.sub(r"\g<head>:***@", text)
    return _KEYWORD_SECRET.sub(r"\g<head>***", text)


class RedactingFilter(logging.Filter):
    """Renders a record's message once, with credentials taken out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def redact_logs() -> None:
    """Put the filter on every handler of the loggers head office and its server write to."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
