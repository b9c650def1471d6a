"""The one PDF renderer: a Jinja template and its context in, the bytes of a PDF out.

Every permit, letter and batch goes through `render_pdf`, so the three things that are easy to
get wrong are settled here once:

- Fonts. xhtml2pdf draws with ReportLab's base-14 fonts (Helvetica, Times, Courier), which are
  never embedded and have no glyphs beyond Latin-1 in practice. We register Debian's DejaVu faces
  with ReportLab *under the base-14 names*, so whatever family a template asks for (sans-serif,
  Arial, serif, monospace...) is drawn in an embedded DejaVu subset and names like
  "Zoë Brontë-Ó Súilleabháin", "£" and "–" come out right. The one exception is the disc bullet of
  `<ul>`, which xhtml2pdf always draws in base-14 Symbol: use numbered lists or
  `list-style-type: none` in documents that must embed every font.
- Resources. xhtml2pdf 0.2.28 confines what a document may read with a resource policy. Ours
  allows nothing from the network and, locally, only the fonts folder (for a template that wants
  another DejaVu face through @font-face). A template cannot read /etc/passwd or reach the intranet.
- Errors. A PDF that xhtml2pdf reports as broken raises `PdfError`, so a print batch is never
  marked printed against a half-made document.

Templates are rendered with the app's Jinja environment, not `render_template`, because PDFs are
also made by cron jobs, where the page context processors (which expect a signed-in request)
cannot run. `council_name` is supplied from config; templates live under templates/printing/.
"""
from __future__ import annotations

import io
import logging
import threading
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app

log = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# base-14 name -> DejaVu file, for every weight and slant a template can ask for.
_FACES: dict[str, str] = {
    "Helvetica": "DejaVuSans",
    "Helvetica-Bold": "DejaVuSans-Bold",
    "Helvetica-Oblique": "DejaVuSans-Oblique",
    "Helvetica-BoldOblique": "DejaVuSans-BoldOblique",
    "Times-Roman": "DejaVuSerif",
    "Times-Bold": "DejaVuSerif-Bold",
    "Times-Italic": "DejaVuSerif-Italic",
    "Times-BoldItalic": "DejaVuSerif-BoldItalic",
    "Courier": "DejaVuSansMono",
    "Courier-Bold": "DejaVuSansMono-Bold",
    "Courier-Oblique": "DejaVuSansMono-Oblique",
    "Courier-BoldOblique": "DejaVuSansMono-BoldOblique",
}
# family -> (regular, bold, italic, bold italic), as ReportLab picks a face for <b> and <i>.
_FAMILIES: dict[str, tuple[str, str, str, str]] = {
    "helvetica": ("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique"),
    "times": ("Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic"),
    "times-roman": ("Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic"),
    "courier": ("Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique"),
}

_fonts_lock = threading.Lock()
_fonts_ready = False
_policy = None


class PdfError(Exception):
    """The PDF could not be made; the message says why, for the log and the person who asked."""


def _prepare() -> None:
    """Parses the font files once per process (about 90 ms) rather than once per document."""
    global _fonts_ready, _policy
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        from xhtml2pdf.config.resources import ResourceAccessPolicy

        missing = [f"{f}.ttf" for f in _FACES.values() if not (FONT_DIR / f"{f}.ttf").is_file()]
        if missing:
            raise PdfError(f"fonts missing from {FONT_DIR}: {', '.join(missing)} "
                           "(install the Debian package fonts-dejavu-core)")
        for name, file in _FACES.items():
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{file}.ttf")))
        # Registering a TrueType font maps all four styles of its name to itself; put the
        # family's real bold and italic faces back afterwards.
        for family, faces in _FAMILIES.items():
            for (bold, italic), face in zip(((0, 0), (1, 0), (0, 1), (1, 1)), faces):
                addMapping(family, bold, italic, face)
                addMapping(faces[0], bold, italic, face)
        _policy = ResourceAccessPolicy.server(base_dir=None, extra_roots=(FONT_DIR,), allow_remote=False)
        _fonts_ready = True


def html_to_pdf(html: str, *, name: str = "document") -> bytes:
    """Converts finished HTML; `name` only labels errors and log lines."""
    from xhtml2pdf import pisa

    _prepare()
    out = io.BytesIO()
    try:
        status = pisa.pisaDocument(html, dest=out, resource_policy=_policy, raise_exception=True)
    except Exception as exc:  # xhtml2pdf raises anything from its parsers and ReportLab
        raise PdfError(f"{name}: the PDF could not be made: {exc}") from exc
    problems = [f"line {line}: {msg}" for mode, line, msg, _ in status.log if mode == "error"]
    if status.err or problems:
        raise PdfError(f"{name}: the PDF could not be made: {'; '.join(problems) or 'xhtml2pdf reported errors'}")
    for mode, line, msg, _ in status.log:
        if mode == "warning":
            log.warning("PDF %s, line %s: %s", name, line, msg)
    return out.getvalue()


def render_pdf(template_name: str, **context) -> bytes:
    """Renders a template from templates/ (e.g. "printing/permit.html") to PDF bytes.

    Needs an app context (for the templates and `council_name`), not a request.
    """
    app = current_app
    context.setdefault("council_name", app.config.get("COUNCIL_NAME", ""))
    html = app.jinja_env.get_template(template_name).render(**context)
    return html_to_pdf(html, name=template_name)


def pdf_response(pdf_bytes: bytes, filename: str) -> Response:
    """A download of the PDF; the name is made safe for the header (ASCII fallback + UTF-8)."""
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    response = Response(pdf_bytes, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}")
    response.headers["Content-Length"] = str(len(pdf_bytes))
    response.headers["Cache-Control"] = "no-store"  # permits and letters carry personal data
    return response
