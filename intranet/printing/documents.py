"""What goes on paper: the data of each permit and letter, and turning it into PDF bytes.

Templates get plain, frozen records built here (never ORM objects) so rendering cannot query the
database, and the same records serve the print batch, the reprint and the emailed copy. Sender
details, prices and evidence wording come from the rules in force on the day of the document.

Layout for the post room: every letter puts the customer's address where a DL window envelope
shows it (about 20 mm from the left edge, 45-50 mm from the top: see `_documents.html`).
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date

import segno

from ..pdf import render_pdf
from ..sla import Rules

# Template names, in one place so a test can point a batch at a template that fails.
TEMPLATES = {
    "resident_permit": "printing/permit_resident.html",
    "visitor_permit": "printing/permit_visitor.html",
    "covering_letter": "printing/letter_covering.html",
    "evidence_request": "printing/letter_evidence_request.html",
    "renewal_reminder": "printing/letter_renewal_reminder.html",
    "refund": "printing/letter_refund.html",
    "batch": "printing/batch.html",
}


@dataclass(frozen=True)
class Addressee:
    name: str
    lines: tuple[str, ...]
    reference: str


@dataclass(frozen=True)
class PermitDoc:
    number: str
    kind: str
    zone_code: str
    zone_name: str
    vrm: str
    holder: str
    valid_from: date
    valid_to: date
    qr: str = ""  # data: URI of a PNG QR code of the permit number, for enforcement scanners


@dataclass(frozen=True)
class LetterDoc:
    """A letter other than the covering letter; `kind` picks the template section."""

    kind: str
    addressee: Addressee
    dated: date
    subject: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EnvelopeDoc:
    """Everything one customer gets in one envelope (or one email): covering letter, permits, letters."""

    addressee: Addressee
    dated: date
    permits: tuple[PermitDoc, ...]
    letters: tuple[LetterDoc, ...]
    by_email: bool = False
    marker: str = ""  # "PB-00012 · 37 of 120" for the post room; empty for single documents


def sender_context(rules: Rules) -> dict:
    return {"sender": rules.printing.sender, "organisation": rules.printing.sender.organisation}


def qr_data_uri(text: str) -> str:
    """A QR code as an inline PNG: xhtml2pdf's resource policy allows data: URIs and no files."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def addressee_for(customer) -> Addressee:
    return Addressee(name=customer.name, lines=tuple(customer.address_lines), reference=customer.reference)


def permit_doc(permit, *, with_qr: bool = True) -> PermitDoc:
    return PermitDoc(number=permit.number, kind=permit.kind, zone_code=permit.zone.code, zone_name=permit.zone.name,
                     vrm=permit.vrm or "", holder=permit.customer.name, valid_from=permit.valid_from,
                     valid_to=permit.valid_to, qr=qr_data_uri(permit.number) if with_qr else "")


def render_envelopes(envelopes: list[EnvelopeDoc], rules: Rules, *, title: str = "Print batch") -> bytes:
    """One PDF of many envelopes, in the order given (covering letter, permits, then other letters)."""
    return render_pdf(TEMPLATES["batch"], envelopes=envelopes, title=title, rules=rules, **sender_context(rules))


def render_single(kind: str, rules: Rules, **context) -> bytes:
    """One permit or one letter on its own (a preview, an emailed letter)."""
    return render_pdf(TEMPLATES[kind], rules=rules, **sender_context(rules), **context)
