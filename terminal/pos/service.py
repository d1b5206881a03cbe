"""What the till API does, apart from HTTP: identify a member, list what they can redeem,
record a POS's sale and refund by the POS's own ids, and answer with the loyalty block.

A sale's answer is rebuilt from what the sale stored (its record, entries and the balances its
receipt printed), so a retried call gets the first answer, byte for byte."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

import msgspec

from loyalty import pos_sales, refunds, sales
from loyalty.balance import Balance
from loyalty.errors import BadInput, NotFound, Refused
from loyalty.money import format_plain
from loyalty.pos_sales import AlreadyRecorded, PosKind, PosRef
from loyalty.program import localised
from loyalty.rules import BasketLine, total_only
from loyalty.till import Till
from printer import PrinterProfile
from printer.text import preview_text, text_layout
from terminal import receipts
from terminal.auth import cashiers_from
from terminal.config import Config
from terminal.errors import CommandError
from terminal.i18n import translator
from terminal.pos import wire
from terminal.pos.events import PosEvent, PosIdentified, PosListener, PosRefunded, PosSold, Via
from terminal.pos.presence import Presence
from terminal.scanning import AppCodeUse, TillScanner

REDEEMING = ("redeem", "donate")


class ShopperEvents(Protocol):
    """What the shopper display hears of the POS (terminal/shopper_feed.py ``ShopperFeed``):
    the member the POS identified, the basket it previewed, then the sale it recorded. Each
    returns at once."""

    def member_identified(self, display_name: str, language: str, balance: Balance) -> None: ...

    def basket_previewed(self, result: sales.SaleResult) -> None: ...

    def sale_committed(self, result: sales.SaleResult) -> None: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def fingerprint(request: msgspec.Struct) -> str:
    """A digest of the request as decoded (field order fixed by its type), so the same body
    retried matches whatever its JSON spacing or key order."""
    return hashlib.sha256(msgspec.json.encode(request)).hexdigest()


class PosService:
    def __init__(
        self,
        till: Till,
        config: Config,
        scanner: TillScanner | None = None,
        presence: Presence | None = None,
        display: ShopperEvents | None = None,
    ) -> None:
        """``presence``: where a member the POS identified waits for the printer bridge;
        ``display``: the shopper display, told what the POS did."""
        self.presence = presence or Presence()
        self.display = display
        # Who else hears what the POS did (the cashier's app: terminal/pos/serve.py connects it).
        self.listeners: list[PosListener] = []
        # Who is signed in at the till's app (a sale the POS names no cashier for is theirs).
        self.on_duty: Callable[[], str | None] | None = None
        self.till = till
        self.config = config
        self.scanner = scanner or TillScanner.from_config(config, till.db)
        self.profile = PrinterProfile.load(config.printer_profile, config.paper_mm)

    def tell(self, event: PosEvent) -> None:
        """Every listener hears what the POS did; none of them can stop it."""
        for listener in list(self.listeners):
            with contextlib.suppress(Exception):  # a screen never stops a POS sale
                listener(event)

    # -- members -------------------------------------------------------------------------
    def _member(self, code: str, now: dt.datetime) -> tuple[str, AppCodeUse | None]:
        use = self.scanner.app_code(code, now)  # ScanRefusedError for a bad member code
        if use is not None:
            return self.till.member(use.member_id).member_id, use
        return self.till.find_member(code).member_id, None

    def identify(
        self, req: wire.IdentifyRequest, now: dt.datetime | None = None, address: str | None = None
    ) -> wire.Member:
        """``address``: the POS's network address (its lane, for the printer bridge)."""
        now = now or _utcnow()
        member_id, _use = self._member(req.code, now)
        member = self.till.member(member_id)
        self.presence.identified(member.member_id, now, address)
        balance = self.till.balance(member_id, now)
        if self.display is not None:
            with contextlib.suppress(Exception):  # the display never stops a sale
                self.display.member_identified(member.display_name, member.language, balance)
        self.tell(PosIdentified(member.member_id, member.display_name, member.language, balance))
        return wire.Member(
            member.member_id, member.display_name, member.language, self._balance(balance)
        )

    def redeemable(self, member_id: str, now: dt.datetime | None = None) -> wire.Redeemable:
        member = self.till.member(member_id)
        balance = self.till.balance(member.member_id, now)
        program = self.till.program
        lang = member.language
        rewards = [
            wire.Reward(
                r.id,
                localised(r.name, lang),
                r.cost_points,
                str(r.effect),
                r.cost_points <= balance.available,
            )  # fmt: skip
            for r in program.rewards
            if not r.tiers or balance.tier_id in r.tiers
        ]
        pp = program.points_payment
        payment = (
            wire.PointsPayment(
                pp.points, pp.value_minor, pp.min_points, pp.max_points, pp.max_percent
            )  # fmt: skip
            if pp
            else None
        )
        return wire.Redeemable(member.member_id, balance.available, program.currency, rewards,
                               payment)  # fmt: skip

    # -- sales and refunds ---------------------------------------------------------------
    def _recorded(self, kind: PosKind, pos_id: str, digest: str) -> str | None:
        with self.till.db.read() as conn:
            found = pos_sales.find(conn, kind, pos_id)
        if found is None:
            return None
        if found[0] != digest:
            raise Refused("pos_id_reused", pos_id=pos_id, receipt=found[1])
        return found[1]

    def _cashier(self, chosen: str | None) -> str:
        """The cashier the POS named, else the one signed in at the till's app, else the
        config's (``till api`` alone)."""
        cashier = chosen or (self.on_duty() if self.on_duty else None) or self.config.cashier
        known = cashiers_from(self.config.raw)
        if known and cashier not in known:
            raise CommandError("cli.error.unknown_cashier", cashier=cashier[:40],
                               file=str(self.config.config_file or "config.toml"))  # fmt: skip
        return cashier

    def _basket(self, req: wire.SaleRequest | wire.PreviewRequest) -> tuple[BasketLine, ...]:
        program = self.till.program
        if req.currency != program.currency:
            raise BadInput("pos_currency_mismatch", currency=req.currency,
                           expected=program.currency)  # fmt: skip
        if not req.lines:
            return (total_only(req.total_minor),)
        added = sum(line.amount_minor for line in req.lines)
        if added != req.total_minor:
            digits = program.minor_units
            total = format_plain(req.total_minor, digits)
            raise BadInput("total_does_not_match_lines", total=total,
                           lines=format_plain(added, digits))  # fmt: skip
        return tuple(BasketLine(x.sku, x.category, x.amount_minor) for x in req.lines)

    def sale(
        self, req: wire.SaleRequest, now: dt.datetime | None = None, via: Via = "api"
    ) -> wire.SaleAnswer:
        """Record the POS's sale once: a retry of the same request answers as the first did;
        the same POS id with another request is refused (``pos_id_reused``). ``via``: the API
        or a receipt printed through the bridge (what the cashier is told)."""
        now = now or _utcnow()
        digest = fingerprint(req)
        done = self._recorded("sale", req.pos_sale_id, digest)
        if done is not None:
            return self.sale_answer(req.pos_sale_id, done, now)
        lines = self._basket(req)
        cashier = self._cashier(req.cashier)
        member_id, use = self._member(req.member, now)
        request = sales.SaleRequest(
            member_id=member_id, cashier_id=cashier, lines=lines, reward_id=req.reward_id,
            payment_points=req.payment_points, pos=PosRef(req.pos_sale_id, digest),
            app_code=use.for_sale(member_id) if use is not None else None,
        )  # fmt: skip
        try:
            result = sales.sale(self.till, request, now)
        except AlreadyRecorded as again:  # a concurrent retry recorded it first
            return self.sale_answer(req.pos_sale_id, again.receipt_no, now)
        receipt_no = result.receipt_no
        if use is not None:
            self.scanner.spend(use, receipt_no, now)
        if self.display is not None:
            with contextlib.suppress(Exception):
                self.display.sale_committed(result)
        self.tell(PosSold(req.pos_sale_id, result, via, req.reward_id))
        return self.sale_answer(req.pos_sale_id, receipt_no, now)

    def preview(
        self, req: wire.PreviewRequest, now: dt.datetime | None = None
    ) -> wire.PreviewAnswer:
        """What the basket would earn and cost now; the shopper display shows it as it shows
        a basket the cashier types. Nothing is recorded (an app code is not spent)."""
        now = now or _utcnow()
        lines = self._basket(req)
        cashier = self._cashier(req.cashier)
        member_id, _use = self._member(req.member, now)
        request = sales.SaleRequest(
            member_id=member_id, cashier_id=cashier, lines=lines, reward_id=req.reward_id,
            payment_points=req.payment_points,
        )  # fmt: skip
        result = sales.preview(self.till, request, now)
        if self.display is not None:
            with contextlib.suppress(Exception):
                self.display.basket_previewed(result)
        member = self.till.member(member_id)
        t = translator(member.language)
        program = self.till.program
        earned = [
            wire.Earned(x.reason, receipts._earn_label(t, program, x.reason, t.lang), x.points)
            for x in result.earned
            if x.points
        ]
        p = result.pricing
        return wire.PreviewAnswer(
            member_id, program.currency, p.total_minor, p.discount_minor, p.payment_minor,
            p.paid_minor, p.reward.id if p.reward else None, earned, result.points_earned,
            p.redeemed_points, result.after.available,
        )  # fmt: skip

    def recorded_sale(self, pos_sale_id: str, now: dt.datetime | None = None) -> wire.SaleAnswer:
        """The answer the sale recorded under this POS id got (NotFound when there is none)."""
        with self.till.db.read() as conn:
            receipt_no = pos_sales.receipt_for_sale(conn, pos_sale_id)
        if receipt_no is None:
            raise NotFound("pos_unknown_sale", pos_id=pos_sale_id[:64])
        return self.sale_answer(pos_sale_id, receipt_no, now or _utcnow())

    def recorded_receipt(self, pos_sale_id: str) -> str | None:
        """The till's receipt number of the sale recorded under this POS id, if any."""
        with self.till.db.read() as conn:
            return pos_sales.receipt_for_sale(conn, pos_sale_id)

    def refund(self, req: wire.RefundRequest, now: dt.datetime | None = None) -> wire.RefundAnswer:
        now = now or _utcnow()
        digest = fingerprint(req)
        done = self._recorded("refund", req.pos_refund_id, digest)
        if done is not None:
            return self.refund_answer(req, done, now)
        with self.till.db.read() as conn:
            sale_no = pos_sales.receipt_for_sale(conn, req.pos_sale_id)
        if sale_no is None:
            raise NotFound("pos_unknown_sale", pos_id=req.pos_sale_id)
        lines = None
        if req.lines is not None:
            if not req.lines:
                raise BadInput("empty_basket")
            lines = [BasketLine(x.sku, "-", x.amount_minor) for x in req.lines]
        cashier = self._cashier(req.cashier)
        try:
            result = refunds.refund(self.till, sale_no, cashier, lines, now,
                                    pos=PosRef(req.pos_refund_id, digest))  # fmt: skip
        except AlreadyRecorded as again:
            return self.refund_answer(req, again.receipt_no, now)
        receipt_no = result.receipt_no
        self.tell(PosRefunded(req.pos_refund_id, req.pos_sale_id, result))
        return self.refund_answer(req, receipt_no, now)

    # -- answers -------------------------------------------------------------------------
    def _balance(self, b: Balance) -> wire.Balance:
        return wire.Balance(
            b.available, b.pending, _when(b.pending_release_at), b.expiring_points,
            _when(b.expiring_at), b.provisional_tier_id, b.includes_offline, _when(b.as_of),
        )  # fmt: skip

    def block(self, receipt_no: str, now: dt.datetime) -> wire.LoyaltyBlock:
        facts, member = receipts.facts_from_store(self.till, receipt_no, now)
        program = self.till.program
        t = translator(member.language)
        per_reason: dict[str, int] = defaultdict(int)
        for e in facts.entries:
            if e.kind in ("earn", "bonus") and e.points:
                per_reason[e.reason] += e.points
        earned = [
            wire.Earned(
                reason,
                receipts._earn_label(t, program, reason, t.lang, facts.offer_names),
                points,
            )
            for reason, points in per_reason.items()
        ]
        redeemed = -sum(e.points for e in facts.entries if e.kind in REDEEMING)
        document = receipts.loyalty_block(facts, program, member)
        text = preview_text(text_layout(document, self.profile), self.profile.columns)
        return wire.LoyaltyBlock(
            t.lang, earned, sum(per_reason.values()), redeemed,
            facts.before.available if facts.before else None, self._balance(facts.after),
            [line.rstrip() for line in text.strip("\n").splitlines()],
        )  # fmt: skip

    def sale_answer(self, pos_sale_id: str, receipt_no: str, now: dt.datetime) -> wire.SaleAnswer:
        record = self.till.sale_record(receipt_no)
        return wire.SaleAnswer(
            pos_sale_id, receipt_no, str(record["member_id"]), str(record["currency"]),
            int(str(record["total_minor"])), int(str(record["discount_minor"])),
            int(str(record["payment_minor"])), int(str(record["paid_minor"])),
            str(record["reward_id"]) if record["reward_id"] else None, self.block(receipt_no, now),
        )  # fmt: skip

    def refund_answer(
        self, req: wire.RefundRequest, receipt_no: str, now: dt.datetime
    ) -> wire.RefundAnswer:
        record = self.till.sale_record(receipt_no)
        entries = self.till.receipt_entries(receipt_no)
        taken = -sum(e.points for e in entries if e.kind == "reverse" and e.points < 0)
        given = sum(e.points for e in entries if e.kind == "reverse" and e.points > 0)
        return wire.RefundAnswer(
            req.pos_refund_id, req.pos_sale_id, receipt_no, str(record["refund_of"]),
            int(str(record["total_minor"])), taken, given, self.block(receipt_no, now),
        )  # fmt: skip
