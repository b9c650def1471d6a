"""Letters to customers, and getting them there by the customer's preferred channel.

A customer who prefers email (and has an address) gets the letter at once as an email with the
PDF attached, through the outbox, in the caller's transaction. Anyone else gets a `PendingLetter`
that the next print batch prints and posts, in the same envelope as any permits of theirs in that
batch. Other areas call:

    send_or_queue_evidence_request(actor, application, request)  # from casework.request_evidence
    send_or_queue_refund_letter(actor, refund)                     # when a refund is approved or paid

and `evidence_request_letter` / `refund_letter` / `renewal_reminder_letter` for the bytes alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .. import audit
from ..extensions import db
from ..mail import queue_email
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import documents
from .documents import Addressee, LetterDoc, addressee_for
from .models import PendingLetter

KIND_WORDS = {"resident": "residents’ parking permit", "visitor": "visitor parking permits"}


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


def prefers_email(customer) -> bool:
    return customer.preferred_channel == "email" and bool((customer.email or "").strip())


# ---------------------------------------------------------------- what each letter says

def evidence_request_doc(application, request, *, dated: date | None = None) -> LetterDoc:
    rules = rules_in_force(request.requested_at)
    codes = [c for c in (request.items or "").split(",") if c]
    wording = rules.permits.evidence_types
    return LetterDoc(
        kind="evidence_request", addressee=addressee_for(application.customer), dated=dated or today(),
        subject=f"Your application {application.reference}: we need more evidence",
        data={"reference": application.reference, "kind_words": KIND_WORDS.get(application.kind, "parking permit"),
              "received_on": application.received_at, "items": [wording.get(c, c.replace("_", " ")) for c in codes],
              "note": request.note or "", "clock_words": rules.clock("permit_issue").describe})


def renewal_reminder_doc(permit, *, dated: date | None = None) -> LetterDoc:
    rules = rules_in_force(dated or today())
    resident = rules.permits.resident
    return LetterDoc(
        kind="renewal_reminder", addressee=addressee_for(permit.customer), dated=dated or today(),
        subject=f"Your residents’ parking permit {permit.number} expires on {permit.valid_to.day} "
                f"{permit.valid_to:%B %Y}",
        data={"number": permit.number, "vrm": permit.vrm, "zone": f"{permit.zone.code} – {permit.zone.name}",
              "valid_to": permit.valid_to, "price_pence": resident.price_pence,
              "validity_months": resident.validity_months,
              "evidence": [rules.permits.evidence_types.get(c, c) for c in resident.evidence_required]})


def refund_doc(refund, *, dated: date | None = None) -> LetterDoc:
    permit = refund.permit
    return LetterDoc(
        kind="refund", addressee=addressee_for(permit.customer), dated=dated or today(),
        subject=f"Refund for permit {permit.number}",
        data={"number": permit.number, "zone": f"{permit.zone.code} – {permit.zone.name}",
              "amount_pence": refund.amount_pence, "paid": refund.status == "paid",
              "calculation": [line for line in (refund.calculation or "").splitlines() if line.strip()],
              "payment_reference": refund.payment_reference or ""})


def doc_for(letter: PendingLetter, *, dated: date | None = None) -> LetterDoc:
    """The letter a pending row stands for, as it reads on the day it is printed."""
    if letter.kind == "evidence_request":
        return evidence_request_doc(letter.application, letter.evidence_request, dated=dated)
    if letter.kind == "renewal_reminder":
        return renewal_reminder_doc(letter.permit, dated=dated)
    if letter.kind == "refund":
        return refund_doc(letter.refund, dated=dated)
    raise ValueError(f"unknown letter kind {letter.kind!r}")


def render_letter(doc: LetterDoc) -> bytes:
    return documents.render_single(doc.kind, rules_in_force(doc.dated), letter=doc)


def evidence_request_letter(application, request) -> bytes:
    return render_letter(evidence_request_doc(application, request))


def renewal_reminder_letter(permit) -> bytes:
    return render_letter(renewal_reminder_doc(permit))


def refund_letter(refund) -> bytes:
    return render_letter(refund_doc(refund))


# ---------------------------------------------------------------- delivery

def email_body(addressee: Addressee, subject: str, attachment_words: str, rules) -> str:
    sender = rules.printing.sender
    contact = " or ".join(x for x in (sender.phone and f"phone {sender.phone}", sender.email) if x)
    return (f"Dear {addressee.name},\n\n{subject}.\n\n{attachment_words}\n\n"
            f"If you have a question, {'contact us: ' + contact if contact else 'contact us'}, "
            f"quoting reference {addressee.reference}.\n\n{sender.department}\n{sender.organisation}\n")


@dataclass(frozen=True)
class Delivery:
    channel: str  # email / post
    outbox_message_id: int | None = None
    pending_letter_id: int | None = None


def deliver(actor, customer, doc: LetterDoc, *, subject_type: str, subject_id, related: dict,
            method: str | None = None) -> Delivery:
    """Emails the letter now (via the outbox) or queues it for the next print batch.

    `related` names the record the letter is about (application_id, evidence_request_id, permit_id,
    refund_id), kept on the pending letter so the batch can print it as it then reads.
    """
    rules = rules_in_force(doc.dated)
    # The advisor's choice ("email" / "letter") wins; otherwise the customer's preference decides.
    by_email = (method == "email" and bool(customer.email)) if method else prefers_email(customer)
    if by_email:
        pdf = render_letter(doc)
        message = queue_email(customer.email, doc.subject,
                              email_body(doc.addressee, doc.subject, "Our letter is attached as a PDF.", rules),
                              attachments=[(f"{doc.kind.replace('_', '-')}-{doc.addressee.reference}.pdf",
                                            "application/pdf", pdf)],
                              related_type=subject_type, related_id=subject_id)
        db.session.flush()
        audit.record(actor, f"{doc.kind}_letter_emailed", subject_type, subject_id,
                     after={"to": customer.email, "outbox_message_id": message.id},
                     summary=f"Emailed the {doc.kind.replace('_', ' ')} letter to {customer.email}")
        return Delivery("email", outbox_message_id=message.id)
    letter = PendingLetter(kind=doc.kind, customer_id=customer.id, created_at=utcnow(),
                           created_by_name=getattr(actor, "username", None) or str(actor or "system"), **related)
    db.session.add(letter)
    db.session.flush()
    audit.record(actor, f"{doc.kind}_letter_queued", subject_type, subject_id, after={"pending_letter_id": letter.id},
                 summary=f"{doc.kind.replace('_', ' ').capitalize()} letter waiting for the next print batch")
    return Delivery("post", pending_letter_id=letter.id)


def send_or_queue_evidence_request(actor, application, request) -> str:
    """Call from casework.request_evidence once the request is flushed; returns "email" or "post"."""
    doc = evidence_request_doc(application, request)
    return deliver(actor, application.customer, doc, subject_type="application", subject_id=application.id,
                   related={"application_id": application.id, "evidence_request_id": request.id},
                   method=request.method).channel


def send_or_queue_refund_letter(actor, refund) -> str:
    """Call when a refund is approved (or paid); returns "email" or "post"."""
    doc = refund_doc(refund)
    return deliver(actor, refund.permit.customer, doc, subject_type="refund", subject_id=refund.id,
                   related={"refund_id": refund.id, "permit_id": refund.permit_id}).channel


def send_or_queue_renewal_reminder(actor, permit, *, dated: date | None = None) -> Delivery:
    doc = renewal_reminder_doc(permit, dated=dated)
    return deliver(actor, permit.customer, doc, subject_type="permit", subject_id=permit.id,
                   related={"permit_id": permit.id})


def _on_evidence_requested(actor, application, request, **_):
    send_or_queue_evidence_request(actor, application, request)


def _on_refund_approved(actor, refund, **_):
    send_or_queue_refund_letter(actor, refund)


def connect_signals() -> None:
    """Casework announces requests and approvals; printing answers with the letters (called once at start)."""
    from ..permits import signals

    signals.evidence_requested.connect(_on_evidence_requested, weak=False)
    signals.refund_approved.connect(_on_refund_approved, weak=False)
