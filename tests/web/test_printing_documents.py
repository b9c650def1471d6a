"""Permit and letter PDFs read back as the post room, the customer and an enforcement scanner would:
text with pdftotext, fonts with pdffonts, the page with pdftoppm, the QR code module by module."""
from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
import segno
from PIL import Image

from intranet.extensions import db
from intranet.permits import casework
from intranet.permits.models import Refund
from intranet.printing import documents, letters
from intranet.service_rules import rules_in_force
from intranet.sla import RulesError, load_rules
from tests import casework_factories as cf
from tests.permit_factories import issue_permit

NAME = "Zoë Brontë-Ó Súilleabháin"
MM = 72 / 25.4  # PDF points per millimetre


# ---------------------------------------------------------------- helpers other printing tests use

def pdf_text(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "read.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", *args, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    report = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in report.splitlines()[2:] if line.strip()]


def assert_fonts_embedded(pdf: bytes, tmp_path: Path) -> None:
    rows = pdf_fonts(pdf, tmp_path)
    assert rows
    for row in rows:
        assert row[-5] == "yes", f"not embedded: {row}"
    assert all("DejaVu" in row[0] for row in rows), rows


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def word_box(pdf: bytes, tmp_path: Path, word: str, page: int = 1) -> tuple[float, float]:
    """(x, y) of the top left of the first occurrence of `word` on `page`, in millimetres."""
    html = pdf_text(pdf, tmp_path, "-bbox", "-f", str(page), "-l", str(page))
    match = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>' + re.escape(word) + "</word>", html)
    assert match, f"{word!r} not on page {page}"
    return float(match.group(1)) / MM, float(match.group(2)) / MM


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def advisor(make_user):
    return make_user("advisor")


@pytest.fixture
def permit(app, advisor):
    zone = cf.zone("JR", "Jericho")
    customer = cf.customer(advisor, zone, name=NAME, postcode="OX2 6AA")
    return issue_permit(advisor, customer, vrm="AB12CDE", payment_reference="PAY-9")


# ---------------------------------------------------------------- permits

def test_resident_permit_reads_back_with_zone_vrm_number_dates_and_holder(app, permit, tmp_path):
    pdf = documents.render_single("resident_permit", rules_in_force(), permit=documents.permit_doc(permit))
    text = pdf_text(pdf, tmp_path)
    assert "Residents’ parking permit" in text
    assert permit.number in text and "AB12CDE" in text
    assert "JR – Jericho" in text
    valid = f"{permit.valid_from.day} {permit.valid_from:%B %Y} – {permit.valid_to.day} {permit.valid_to:%B %Y}"
    assert valid in text
    assert NAME in text
    assert "Oxfordshire County Council" in text  # the sender, from the rules
    assert_fonts_embedded(pdf, tmp_path)


def test_resident_permit_qr_code_holds_the_permit_number(app, permit, tmp_path):
    """Reads the QR image back out of the PDF and compares it, module by module, with the permit number's code."""
    pdf = documents.render_single("resident_permit", rules_in_force(), permit=documents.permit_doc(permit))
    (tmp_path / "qr.pdf").write_bytes(pdf)
    subprocess.run(["pdfimages", "-png", str(tmp_path / "qr.pdf"), str(tmp_path / "img")], check=True)
    [png] = list(tmp_path.glob("img-*.png"))
    image = Image.open(png).convert("L")
    expected = segno.make(permit.number, error="m")
    size = expected.symbol_size(scale=1, border=2)[0]
    assert image.width % size == 0, (image.width, size)
    scale = image.width // size
    read = [[image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) < 128 for x in range(size)]
            for y in range(size)]
    wanted = [[bool(v) for v in row] for row in expected.matrix_iter(scale=1, border=2)]
    assert read == wanted
    other = [[bool(v) for v in row] for row in segno.make("RP-999999", error="m").matrix_iter(scale=1, border=2)]
    assert read != other


def test_visitor_permit_has_panels_to_complete(app, advisor, tmp_path):
    zone = cf.zone("HD", "Headington")
    customer = cf.customer(advisor, zone, name="Ann Ó Brien", postcode="OX3 7AA")
    visitor = issue_permit(advisor, customer, kind="visitor", quantity=2)
    pdf = documents.render_single("visitor_permit", rules_in_force(), permit=documents.permit_doc(visitor))
    text = pdf_text(pdf, tmp_path)
    assert "Visitor parking permit" in text and visitor.number in text
    assert "HD – Headington" in text
    for panel in ("Date of arrival", "Time of arrival", "Visitor’s vehicle registration"):
        assert panel in text
    assert_fonts_embedded(pdf, tmp_path)


def test_first_page_of_a_permit_is_not_blank(app, permit, tmp_path):
    pdf = documents.render_single("resident_permit", rules_in_force(), permit=documents.permit_doc(permit))
    (tmp_path / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(tmp_path / "p.pdf"),
                    str(tmp_path / "page")], check=True)
    [png] = list(tmp_path.glob("page*.png"))
    dark = sum(1 for v in Image.open(png).convert("L").get_flattened_data() if v < 128)
    assert dark > 500, dark


# ---------------------------------------------------------------- letters

def test_covering_letter_puts_the_address_in_the_window_and_the_sender_from_the_rules(app, permit, tmp_path):
    env = documents.EnvelopeDoc(addressee=documents.addressee_for(permit.customer), dated=date(2026, 4, 13),
                                permits=(documents.permit_doc(permit),), letters=())
    pdf = documents.render_single("covering_letter", rules_in_force(), envelope=env)
    text = pdf_text(pdf, tmp_path)
    sender = rules_in_force().printing.sender
    for line in (sender.organisation, sender.department, *sender.address, sender.phone, sender.email, sender.web):
        assert line in text, line
    assert "Date: 13 April 2026" in text
    assert f"Dear {NAME}," in text
    x, y = word_box(pdf, tmp_path, "Zoë")
    assert 19 <= x <= 22, x  # DL window: about 20 mm from the left edge
    assert 45 <= y <= 60, y  # and its top 45-50 mm down; the name sits under the return line
    x, y = word_box(pdf, tmp_path, "OX2")
    assert y < 45 + 45, y  # the whole address fits a 45 mm tall window
    assert page_count(pdf, tmp_path) == 2  # the letter, then the permit
    assert_fonts_embedded(pdf, tmp_path)


def test_evidence_request_letter_lists_the_missing_evidence_in_the_rules_words(app, advisor, tmp_path):
    zone = cf.zone()
    customer = cf.customer(advisor, zone, name=NAME)
    application = cf.application(advisor, customer)
    request = casework.request_evidence(advisor, application, method="letter",
                                        items=["proof_of_residency", "vehicle_registration"], note="Page 2 was missing.")
    db.session.commit()
    text = pdf_text(letters.evidence_request_letter(application, request), tmp_path)
    wording = rules_in_force().permits.evidence_types
    flat = " ".join(text.split())
    assert " ".join(wording["proof_of_residency"].split()) in flat
    assert " ".join(wording["vehicle_registration"].split()) in flat
    assert application.reference in text and "Page 2 was missing." in text
    assert "within 2 working days" in flat  # the clock, described from the rules


def test_renewal_reminder_letter_gives_expiry_and_price_from_the_rules(app, permit, tmp_path):
    pdf = letters.renewal_reminder_letter(permit)
    flat = " ".join(pdf_text(pdf, tmp_path).split())
    assert f"expires on {permit.valid_to.day} {permit.valid_to:%B %Y}" in flat
    assert "£60.00" in flat  # permits.resident.price_pence
    assert permit.number in flat and "AB12CDE" in flat
    assert_fonts_embedded(pdf, tmp_path)


def test_refund_letter_shows_the_amount_in_pounds(app, advisor, permit, tmp_path):
    refund = Refund(permit_id=permit.id, requested_by_id=advisor.id, reason="Moved away", paid_pence=6000,
                    amount_pence=4500, calculation="Paid £60.00\nUnused whole months: 9 of 12\nRefund due £45.00",
                    status="approved")
    db.session.add(refund)
    db.session.commit()
    flat = " ".join(pdf_text(letters.refund_letter(refund), tmp_path).split())
    assert "refund of £45.00 for permit " + permit.number in flat
    assert "Unused whole months: 9 of 12" in flat and "Refund due £45.00" in flat


# ---------------------------------------------------------------- the rules behind the letters

def test_printing_rules_are_validated_with_the_key_named(tmp_path):
    site = tmp_path / "sla.yaml"
    site.write_text("printing:\n  postage:\n    batch_class: pigeon\n  sender:\n    email: not-an-address\n"
                    "  stock:\n    blanks:\n      title: Blanks\n      used_for: lorry\n      reorder_level: -1\n")
    with pytest.raises(RulesError) as caught:
        load_rules(site_path=site)
    errors = "\n".join(caught.value.errors)
    assert "printing.postage.batch_class: unknown postage class 'pigeon'" in errors
    assert "printing.sender.email: expected an email address" in errors
    assert "printing.stock.blanks.used_for: expected one of resident, visitor" in errors
    assert "printing.stock.blanks.reorder_level" in errors


def test_printing_rules_default_when_a_document_has_none():
    from intranet.sla.rules import DEFAULT_PATH, rules_from_mapping
    import yaml

    doc = yaml.safe_load(DEFAULT_PATH.read_text())
    doc.pop("printing")
    doc["assumptions"] = {k: v for k, v in doc["assumptions"].items() if not k.startswith("printing")}
    rules = rules_from_mapping(doc)
    assert rules.printing.batch_postage_class == "second_class" and rules.printing.stock == ()
