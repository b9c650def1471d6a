"""Print batches: issued-but-unprinted permits (and letters waiting) into one PDF for the post room.

How a batch is made (`produce_batch`), all inside one savepoint of the caller's transaction:

1. choose active permits with `printed_at IS NULL` by kind, zone and issue date (London days),
   plus, unless left out, every letter waiting for a batch (in the chosen zone, if one is);
2. group them by customer: one envelope each, ordered by postcode for the post room;
3. claim them with conditional UPDATEs (`... WHERE printed_at IS NULL`) and check the row counts,
   so two people pressing the button at once cannot both print the same permit;
4. render the posted envelopes into ONE PDF (covering letter, then the permits, then other letters),
   and each emailing customer's envelope into its own PDF;
5. record the batch with its PDF, the envelopes, the postage, the stock used and the audit entries.

If any PDF cannot be made (PdfError), the savepoint rolls back: no permit is marked printed, no
letter leaves the queue, no email is queued. Customers who prefer email (preferred channel email
and an address on file) are not in the paper PDF: they are emailed their envelope as a PDF and
their permits are marked printed (sent) in the same batch, so the batch is the one record of what
went out and how. Reprints (a permit or a whole batch) need a reason, are audited, keep a record
and use stock; they add no postage, as the sheets they replace were never posted.
"""
from __future__ import annotations

import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, select, union, update
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..mail import queue_email
from ..money import format_pence
from ..pdf import PdfError
from ..permits.models import Customer, Permit
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import documents, letters, postage, stationery
from .documents import EnvelopeDoc, addressee_for, permit_doc
from .models import PendingLetter, PrintBatch, PrintEnvelope, Reprint

CHUNK = 40  # envelopes per xhtml2pdf run: keeps memory flat on big batches; the parts are joined with pypdf
IN_CHUNK = 500  # ids per IN (...) list


class BatchError(ValueError):
    """The batch cannot be made as asked; the message is fit to show, `field` says where."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BatchFilter:
    kind: str = ""  # "" = resident and visitor
    zone_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    include_letters: bool = True

    def check(self) -> None:
        if self.kind not in ("", "resident", "visitor"):
            raise BatchError("Choose resident, visitor or both", "kind")
        if self.issued_from and self.issued_to and self.issued_from > self.issued_to:
            raise BatchError("Issued from must be on or before issued to", "issued_from")


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON)


def _prefers_email():
    return and_(Customer.preferred_channel == "email", Customer.email != "")


def _permit_conditions(f: BatchFilter) -> list:
    conditions = [Permit.printed_at.is_(None), Permit.status == "active"]
    if f.kind:
        conditions.append(Permit.kind == f.kind)
    if f.zone_id:
        conditions.append(Permit.zone_id == f.zone_id)
    if f.issued_from:
        conditions.append(Permit.issued_at >= _london_midnight(f.issued_from))
    if f.issued_to:
        conditions.append(Permit.issued_at < _london_midnight(f.issued_to + timedelta(days=1)))
    return conditions


def _letter_conditions(f: BatchFilter) -> list:
    conditions = [PendingLetter.print_batch_id.is_(None)]
    if f.zone_id:
        conditions.append(PendingLetter.customer_id.in_(select(Customer.id).where(Customer.zone_id == f.zone_id)))
    return conditions


# ---------------------------------------------------------------- preview

@dataclass(frozen=True)
class StockAfter:
    level: stationery.StockLevel
    used: int

    @property
    def after(self) -> int:
        return self.level.level - self.used

    @property
    def low_after(self) -> bool:
        return self.after <= self.level.item.reorder_level


@dataclass(frozen=True)
class Preview:
    counts: dict[str, dict[str, int]]  # kind -> channel -> permits
    letters: int
    envelopes: dict[str, int]  # channel -> customers
    postage_class: str
    postage_pence: int
    stock: list[StockAfter] = field(default_factory=list)

    @property
    def permits(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def empty(self) -> bool:
        return not self.permits and not self.letters


def preview(f: BatchFilter) -> Preview:
    """What a batch with these filters would hold, from three aggregate queries (no row is loaded)."""
    f.check()
    channel = case((_prefers_email(), "email"), else_="post")
    counts: dict[str, dict[str, int]] = {"resident": {"post": 0, "email": 0}, "visitor": {"post": 0, "email": 0}}
    for kind, ch, n in db.session.execute(
            select(Permit.kind, channel, func.count(Permit.id)).join(Customer, Customer.id == Permit.customer_id)
            .where(*_permit_conditions(f)).group_by(Permit.kind, channel)):
        counts.setdefault(kind, {"post": 0, "email": 0})[ch] = n
    letter_count = 0
    customers = select(Permit.customer_id.label("cid")).where(*_permit_conditions(f))
    if f.include_letters:
        letter_count = db.session.scalar(select(func.count(PendingLetter.id)).where(*_letter_conditions(f))) or 0
        customers = union(customers, select(PendingLetter.customer_id.label("cid")).where(*_letter_conditions(f)))
    sub = customers.subquery()
    envelopes = {"post": 0, "email": 0}
    for ch, n in db.session.execute(select(channel, func.count()).select_from(sub)
                                    .join(Customer, Customer.id == sub.c.cid).group_by(channel)):
        envelopes[ch] = n
    rules = rules_in_force()
    postage_class = rules.printing.batch_postage_class
    unit = rules.finance.postage.prices_pence.get(postage_class, 0)
    posted = {kind: c.get("post", 0) for kind, c in counts.items()}
    stock = [StockAfter(level, posted.get(level.item.used_for or "", 0)) for level in stationery.stock_levels()]
    return Preview(counts, letter_count, envelopes, postage_class, envelopes["post"] * unit, stock)


# ---------------------------------------------------------------- producing

def postcode_key(postcode: str) -> tuple:
    """OX1 before OX2 before OX10, as the post room sorts (district numbers compared as numbers)."""
    text = (postcode or "").upper().replace(" ", "")
    match = re.match(r"^([A-Z]{1,2})(\d{1,2})([A-Z]?)(\d[A-Z]{2})?$", text)
    if not match:
        return ("~", 0, "", text)
    area, district, sub, inward = match.groups()
    return (area, int(district), sub or "", inward or "")


@dataclass
class _Envelope:
    customer: Customer
    permits: list[Permit] = field(default_factory=list)
    letters: list[PendingLetter] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return "email" if letters.prefers_email(self.customer) else "post"

    @property
    def category(self) -> str:
        if not self.permits and self.letters and all(l.kind == "renewal_reminder" for l in self.letters):
            return postage.REMINDER_LETTERS
        return postage.PERMITS_AND_LETTERS


def _chunks(ids: list[int]):
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i:i + IN_CHUNK]


def render_post_pdf(envelopes: list[EnvelopeDoc], rules, title: str) -> tuple[bytes, int]:
    """The post room's PDF and its page count; big batches are made in parts and joined."""
    from pypdf import PdfReader, PdfWriter

    parts = [documents.render_envelopes(envelopes[i:i + CHUNK], rules, title=title)
             for i in range(0, len(envelopes), CHUNK)]
    if len(parts) == 1:
        return parts[0], len(PdfReader(io.BytesIO(parts[0])).pages)
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)


def _load(f: BatchFilter) -> tuple[list[Permit], list[PendingLetter]]:
    permits = list(db.session.scalars(
        select(Permit).where(*_permit_conditions(f))
        .options(selectinload(Permit.customer), selectinload(Permit.zone)).order_by(Permit.number)))
    pending: list[PendingLetter] = []
    if f.include_letters:
        pending = list(db.session.scalars(
            select(PendingLetter).where(*_letter_conditions(f))
            .options(selectinload(PendingLetter.customer), selectinload(PendingLetter.application),
                     selectinload(PendingLetter.evidence_request),
                     selectinload(PendingLetter.permit).selectinload(Permit.zone),
                     selectinload(PendingLetter.permit).selectinload(Permit.customer),
                     selectinload(PendingLetter.refund))
            .order_by(PendingLetter.id)))
    return permits, pending


def produce_batch(actor, f: BatchFilter, *, now: datetime | None = None) -> PrintBatch:
    """Makes the batch described in the module docstring; raises BatchError or PdfError, having changed nothing."""
    f.check()
    now = now or utcnow()
    dated = now.astimezone(LONDON).date()
    rules = rules_in_force(dated)
    permits, pending = _load(f)
    if not permits and not pending:
        raise BatchError("There is nothing to print with these filters", "kind")
    groups: dict[int, _Envelope] = {}
    for p in permits:
        groups.setdefault(p.customer_id, _Envelope(p.customer)).permits.append(p)
    for letter in pending:
        groups.setdefault(letter.customer_id, _Envelope(letter.customer)).letters.append(letter)
    ordered = sorted(groups.values(), key=lambda e: (postcode_key(e.customer.postcode), e.customer.name_key,
                                                     e.customer.id))
    posted = [e for e in ordered if e.channel == "post"]
    emailed = [e for e in ordered if e.channel == "email"]
    postage_class = rules.printing.batch_postage_class
    unit = rules.finance.postage.prices_pence.get(postage_class)
    if posted and unit is None:
        raise BatchError(f"The rules give no price for the postage class {postage_class!r}", "kind")
    actor_name = getattr(actor, "username", None) or str(actor)

    with db.session.begin_nested():
        batch = PrintBatch(created_at=now, created_by_id=actor.id, kind=f.kind, zone_id=f.zone_id,
                           issued_from=f.issued_from, issued_to=f.issued_to, included_letters=f.include_letters)
        db.session.add(batch)
        db.session.flush()
        _claim(Permit, [p.id for p in permits], Permit.printed_at.is_(None) & (Permit.status == "active"),
               dict(printed_at=now, print_batch_id=batch.id))
        _claim(PendingLetter, [l.id for l in pending], PendingLetter.print_batch_id.is_(None),
               dict(printed_at=now, print_batch_id=batch.id))

        def doc(e: _Envelope, marker: str = "") -> EnvelopeDoc:
            return EnvelopeDoc(addressee=addressee_for(e.customer), dated=dated,
                               permits=tuple(permit_doc(p) for p in e.permits),
                               letters=tuple(letters.doc_for(l, dated=dated) for l in e.letters),
                               by_email=e.channel == "email", marker=marker)

        title = f"Print batch {batch.number}"
        if posted:
            docs = [doc(e, f"{batch.number} · envelope {i} of {len(posted)} · {e.customer.postcode}")
                    for i, e in enumerate(posted, 1)]
            batch.pdf, batch.page_count = render_post_pdf(docs, rules, title)
            batch.pdf_sha256 = hashlib.sha256(batch.pdf).hexdigest()
            batch.pdf_size = len(batch.pdf)
        emails = [(e, documents.render_envelopes([doc(e)], rules, title=f"Your permits from {rules.printing.sender.organisation}"))
                  for e in emailed]  # all rendered before anything is queued: a PdfError leaves no email behind

        position = 0
        for e in posted:
            position += 1
            db.session.add(PrintEnvelope(batch_id=batch.id, position=position, customer_id=e.customer.id,
                                         channel="post", postcode=e.customer.postcode,
                                         permit_numbers=",".join(p.number for p in e.permits),
                                         letter_count=len(e.letters), category=e.category))
        for e, pdf in emails:
            position += 1
            message = _email_envelope(e, pdf, batch, rules)
            db.session.add(PrintEnvelope(batch_id=batch.id, position=position, customer_id=e.customer.id,
                                         channel="email", postcode=e.customer.postcode,
                                         permit_numbers=",".join(p.number for p in e.permits),
                                         letter_count=len(e.letters), category=e.category,
                                         outbox_message_id=message.id))

        kinds_posted = defaultdict(int)
        for e in posted:
            for p in e.permits:
                kinds_posted[p.kind] += 1
        by_category = defaultdict(int)
        for e in posted:
            by_category[e.category] += 1
        batch.permit_count, batch.letter_count = len(permits), len(pending)
        batch.posted_envelopes, batch.emailed_customers = len(posted), len(emailed)
        batch.posted_resident, batch.posted_visitor = kinds_posted["resident"], kinds_posted["visitor"]
        batch.postage_class = postage_class if posted else ""
        batch.postage_pence = postage.record_batch_postage(
            batch_id=batch.id, day=dated, counts=dict(by_category), postage_class=postage_class,
            unit_pence=unit or 0, actor_name=actor_name) if posted else 0
        stationery.use_stock(dict(kinds_posted), actor_name=actor_name, batch_id=batch.id, note=batch.number)
        db.session.flush()
        audit.record(actor, "print_batch_produced", "print_batch", batch.id, after=batch.audit_view(),
                     summary=f"Produced {batch.number}: {len(permits)} permits and {len(pending)} letters; "
                             f"{len(posted)} envelopes to post ({format_pence(batch.postage_pence)}), "
                             f"{len(emailed)} customers emailed")
        emailed_ids = {p.id for e in emailed for p in e.permits}
        for p in permits:
            how = "emailed" if p.id in emailed_ids else "printed"
            audit.record(actor, "permit_printed", "permit", p.id,
                         after={"printed_at": now, "print_batch_id": batch.id, "sent_by": how},
                         summary=f"{how.capitalize()} in print batch {batch.number}")
    return batch


def _claim(model, ids: list[int], condition, values: dict) -> None:
    """Conditional UPDATE with a row count check: the claim pattern that works on SQLite and PostgreSQL."""
    claimed = 0
    for part in _chunks(ids):
        claimed += db.session.execute(update(model).where(model.id.in_(part), condition).values(**values)
                                      .execution_options(synchronize_session=False)).rowcount
    if claimed != len(ids):
        raise BatchError("Some of these were printed by someone else a moment ago: check the count and try again",
                         "kind")


def _email_envelope(e: _Envelope, pdf: bytes, batch: PrintBatch, rules):
    org = rules.printing.sender.organisation
    what = "parking permit" if len(e.permits) == 1 else "parking permits"
    subject = f"Your {what} from {org}" if e.permits else f"A letter from {org}"
    attachment_words = ("Your permit and our covering letter are attached as a PDF: print it on white A4 paper at "
                        "full size and display the permit as the letter explains." if e.permits
                        else "Our letter is attached as a PDF.")
    addressee = addressee_for(e.customer)
    return queue_email(e.customer.email, subject, letters.email_body(addressee, subject, attachment_words, rules),
                       attachments=[(f"permits-{addressee.reference}.pdf", "application/pdf", pdf)],
                       related_type="print_batch", related_id=batch.id)


# ---------------------------------------------------------------- pages and downloads

def get_batch(batch_id: int) -> PrintBatch | None:
    return db.session.get(PrintBatch, batch_id)


def batch_pdf(batch: PrintBatch) -> bytes | None:
    return db.session.scalar(select(PrintBatch.pdf).where(PrintBatch.id == batch.id))


def batches_stmt():
    return select(PrintBatch).options(selectinload(PrintBatch.created_by), selectinload(PrintBatch.zone))


def envelopes_of(batch: PrintBatch) -> list[PrintEnvelope]:
    return list(db.session.scalars(select(PrintEnvelope).where(PrintEnvelope.batch_id == batch.id)
                                   .options(selectinload(PrintEnvelope.customer)).order_by(PrintEnvelope.position)))


def permits_of(batch: PrintBatch) -> list[Permit]:
    return list(db.session.scalars(select(Permit).where(Permit.print_batch_id == batch.id)
                                   .options(selectinload(Permit.customer), selectinload(Permit.zone))
                                   .order_by(Permit.number)))


def reprints_of(batch: PrintBatch) -> list[Reprint]:
    in_batch = select(Permit.id).where(Permit.print_batch_id == batch.id)
    return list(db.session.scalars(select(Reprint).where((Reprint.batch_id == batch.id) | Reprint.permit_id.in_(in_batch))
                                   .options(selectinload(Reprint.created_by), selectinload(Reprint.permit))
                                   .order_by(Reprint.id.desc())))


def pending_letters_count() -> int:
    return db.session.scalar(select(func.count(PendingLetter.id)).where(PendingLetter.print_batch_id.is_(None))) or 0


# ---------------------------------------------------------------- reprints

def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise BatchError("Enter the reason for the reprint (at least 5 characters)", "reason")
    return reason


def reprint_permit(actor, permit: Permit, reason: str, *, now: datetime | None = None) -> Reprint:
    """Prints one permit again with its covering letter; the PDF is kept on the reprint record."""
    reason = _reason(reason)
    if permit.status != "active":
        raise BatchError(f"Permit {permit.number} is {permit.status}: only an active permit can be reprinted", "reason")
    if permit.printed_at is None:
        raise BatchError(f"Permit {permit.number} has not been printed yet: it will go in the next print batch",
                         "reason")
    now = now or utcnow()
    dated = now.astimezone(LONDON).date()
    rules = rules_in_force(dated)
    envelope = EnvelopeDoc(addressee=addressee_for(permit.customer), dated=dated, permits=(permit_doc(permit),),
                           letters=(), marker=f"Reprint of {permit.number}")
    pdf = documents.render_envelopes([envelope], rules, title=f"Reprint of permit {permit.number}")
    reprint = Reprint(permit_id=permit.id, batch_id=None, reason=reason, created_at=now, created_by_id=actor.id, pdf=pdf)
    db.session.add(reprint)
    db.session.flush()
    stationery.use_stock({permit.kind: 1}, actor_name=actor.username, reprint_id=reprint.id,
                         note=f"Reprint of {permit.number}")
    audit.record(actor, "permit_reprinted", "permit", permit.id, after=reprint.audit_view(),
                 summary=f"Reprinted permit {permit.number}: {reason}")
    return reprint


def reprint_batch(actor, batch: PrintBatch, reason: str, *, now: datetime | None = None) -> Reprint:
    """Records that the whole batch PDF is printed again (its stored PDF is the one printed)."""
    reason = _reason(reason)
    if not batch.posted_envelopes:
        raise BatchError(f"{batch.number} had nothing on paper (every customer was emailed)", "reason")
    reprint = Reprint(batch_id=batch.id, permit_id=None, reason=reason, created_at=now or utcnow(),
                      created_by_id=actor.id)
    db.session.add(reprint)
    db.session.flush()
    stationery.use_stock({"resident": batch.posted_resident, "visitor": batch.posted_visitor},
                         actor_name=actor.username, reprint_id=reprint.id, note=f"Reprint of {batch.number}")
    audit.record(actor, "print_batch_reprinted", "print_batch", batch.id, after=reprint.audit_view(),
                 summary=f"Reprinted {batch.number}: {reason}")
    return reprint


def reprint_pdf(reprint: Reprint) -> bytes | None:
    if reprint.batch_id:
        return db.session.scalar(select(PrintBatch.pdf).where(PrintBatch.id == reprint.batch_id))
    return db.session.scalar(select(Reprint.pdf).where(Reprint.id == reprint.id))


__all__ = ["BatchError", "BatchFilter", "PdfError", "Preview", "preview", "produce_batch", "reprint_batch",
           "reprint_permit"]
