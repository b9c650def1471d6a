"""The one PDF renderer, read back with poppler as a person (or a scanner) would read the paper."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, FileSystemLoader, TemplateNotFound
from PIL import Image

from intranet.pdf import PdfError, html_to_pdf, pdf_response, render_pdf

HERE = Path(__file__).parent
NAME = "Zoë Brontë-Ó Súilleabháin"


@pytest.fixture
def pdf_app(app):
    """The app, with this folder's test-only templates after the real ones."""
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(HERE / "templates"))])
    app.jinja_env.cache = {}
    return app


def _sample(**overrides) -> bytes:
    context = dict(number="RP-004211", holder=NAME, zone="OX3 – Headington", valid="1 April 2026 – 31 March 2027",
                   fee="£12.50")
    context.update(overrides)
    return render_pdf("pdf_sample.html", **context)


def _poppler(tool: str, pdf: bytes, *args: str, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, *args, str(path)],
                          check=True, capture_output=True, text=True).stdout


def test_text_reads_back_with_pound_en_dash_and_accents(pdf_app, tmp_path):
    pdf = _sample()
    assert pdf.startswith(b"%PDF-")
    text = _poppler("pdftotext", pdf, "-layout", tmp_path=tmp_path)
    assert "Resident permit RP-004211" in text
    assert NAME in text
    assert "£12.50" in text
    assert "OX3 – Headington" in text
    assert "1 April 2026 – 31 March 2027" in text
    assert "Oxfordshire County Council" in text  # header and footer from the shared base
    assert "Page 1 of 1" in text


def test_fonts_are_embedded_dejavu(pdf_app, tmp_path):
    report = _poppler("pdffonts", _sample(), tmp_path=tmp_path)
    rows = [line.split() for line in report.splitlines()[2:] if line.strip()]
    assert rows, report
    names = {re.sub(r"^[A-Z]{6}\+", "", row[0]) for row in rows}
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= names, report
    for row in rows:  # name, type..., then emb sub uni: every font is embedded, none falls back
        assert row[-5] == "yes", f"not embedded: {row}"


def test_first_page_is_not_blank(pdf_app, tmp_path):
    (tmp_path / "doc.pdf").write_bytes(_sample())
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(tmp_path / "doc.pdf"),
                    str(tmp_path / "page")], check=True)
    [png] = list(tmp_path.glob("page*.png"))
    image = Image.open(png).convert("L")
    dark = sum(1 for value in image.get_flattened_data() if value < 128)
    assert dark > 200, dark


def test_local_files_outside_the_fonts_folder_are_refused(pdf_app, tmp_path, caplog):
    text = _poppler("pdftotext", _sample(), tmp_path=tmp_path)
    assert "root:" not in text
    assert any("/etc/passwd" in r.getMessage() for r in caplog.records)


def test_broken_document_raises_pdf_error(pdf_app):
    nested = "<div>" * 300 + "x" + "</div>" * 300  # past the policy's depth limit: xhtml2pdf gives up
    with pytest.raises(PdfError, match="broken.html: the PDF could not be made"):
        html_to_pdf(f"<html><body>{nested}</body></html>", name="broken.html")


def test_missing_template_is_the_template_error(pdf_app):
    with pytest.raises(TemplateNotFound):
        render_pdf("printing/no-such-template.html")


def test_one_page_renders_quickly(pdf_app):
    _sample()  # the first render in a process parses the fonts
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        _sample()
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.05, timings


def test_pdf_response_is_a_download(pdf_app):
    with pdf_app.test_request_context():
        response = pdf_response(b"%PDF-1.4 test", "permit RP-1 Zoë")
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="permit_RP-1_Zo_.pdf"')
    assert "filename*=UTF-8''permit%20RP-1%20Zo%C3%AB.pdf" in disposition
    assert response.get_data() == b"%PDF-1.4 test"
