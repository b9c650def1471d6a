"""The one place that decides between a whole page and an htmx fragment.

A fragment is only for a plain htmx request: boosted navigation and history restores need the
whole page, or the browser ends up showing a bare fragment as the page.
"""
from __future__ import annotations

from flask import Request, Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def is_htmx(req: Request | None = None) -> bool:
    req = req or request
    return req.headers.get("HX-Request") == "true"


def is_partial(req: Request | None = None) -> bool:
    req = req or request
    return (is_htmx(req)
            and req.headers.get("HX-Boosted") != "true"
            and req.headers.get("HX-History-Restore-Request") != "true")


def render(template: str, block: str | None = None, *, status: int = 200, **context) -> Response:
    """Renders `block` of `template` alone for htmx, the whole page otherwise; sets `Vary`."""
    if block and is_partial():
        body = render_block(template, block, **context)
        if "<title" not in body:
            body = _title_for(template, context) + body
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def _title_for(template: str, context: dict) -> str:
    """A <title> for the fragment, so the browser title says "Error: " after a failed htmx submit
    just as after a full-page one (htmx 2 moves a top-level <title> into the document)."""
    from flask import current_app
    from markupsafe import escape

    form = context.get("form")
    if form is None or not getattr(form, "errors", None):
        return ""  # only a failed submit changes the title; filters and searches keep it
    try:
        title = render_block(template, "page_title", **context).strip()  # already escaped by Jinja
    except Exception:  # a template without a page_title block keeps the current title
        return ""
    return (f"<title>Error: {title} – Parking Permits Desk – "
            f"{escape(current_app.config['COUNCIL_NAME'])}</title>\n")


def redirect_response(location: str, *, status: int = 303) -> Response:
    """After a POST: htmx follows HX-Redirect with a full navigation; browsers follow 303."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
    else:
        response = make_response("", status)
        response.headers["Location"] = location
    response.vary.add("HX-Request")
    return response


def push_url(response: Response, url: str) -> Response:
    response.headers["HX-Push-Url"] = url
    return response


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response
