"""What the head-office modules share: the refusal type, and reading a member row."""

from __future__ import annotations

from typing import Any

import msgspec

from sync import protocol as p
from sync.headoffice.store import Row

_MEMBER_COLUMNS = (
    "member_id, snapshot_at, card_number, display_name, language, status, balance, "
    "pending_json, tier_id, tier_progress, expiring_points, expiring_at, has_purchased, "
    "birthday, phone_hash, overdrawn, erased"
)


class ApiProblem(Exception):
    def __init__(
        self, status: int, code: str, retry_after: int | None = None, **params: Any
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params
        self.retry_after = retry_after

    def body(self) -> bytes:
        return p.encode(p.Problem(self.code, self.params))


def _member_state(r: Row) -> p.MemberState:
    return p.MemberState(
        member_id=r[0], snapshot_at=r[1], card_number=r[2], display_name=r[3], language=r[4],
        status=r[5], balance=int(r[6]), pending=_pending(r[7]),
        tier_id=r[8], tier_progress=int(r[9]), expiring_points=int(r[10]), expiring_at=r[11],
        has_purchased=bool(r[12]), birthday=r[13], phone_hash=r[14], overdrawn=bool(r[15]),
    )  # fmt: skip


_pending_decoder = msgspec.json.Decoder(list[tuple[int, str]])
_pending_encoder = msgspec.json.Encoder()


def _pending(text: str) -> list[tuple[int, str]]:
    return _pending_decoder.decode(text)
