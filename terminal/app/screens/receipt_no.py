"""What a receipt number looks like (a scanned receipt QR or a typed number)."""

from __future__ import annotations


def looks_like_receipt(code: str) -> bool:
    """Receipt numbers are '<till id>-<6 digits>'."""
    head, _, number = code.strip().rpartition("-")
    return bool(head) and len(number) == 6 and number.isdigit()
