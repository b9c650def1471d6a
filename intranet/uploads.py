"""Scans of evidence and attachments: checked by content and size before anything is stored.

Files live under UPLOAD_DIR (in `instance/`, never `static/`) with random names, and are only
ever sent back by a route that has checked the user's role; the original name is kept for display.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, send_file
from werkzeug.datastructures import FileStorage

MAX_BYTES = 10 * 1024 * 1024
# Types are decided by the file's first bytes, never by its name or the browser's claim.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


class UploadError(ValueError):
    """Says what is wrong with the file, in words fit for a GOV.UK error message."""


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    mime_type: str
    size: int


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, mime, ext in SIGNATURES:
        if head.startswith(magic):
            return mime, ext
    return None


def upload_dir() -> Path:
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_and_read(upload: FileStorage | None) -> tuple[bytes, str, str]:
    """Reads at most 10 MB + 1 byte; returns (content, mime, extension) or raises UploadError."""
    if upload is None or not upload.filename:
        raise UploadError("Select a file")
    content = upload.stream.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise UploadError("The selected file must be smaller than 10 MB")
    if not content:
        raise UploadError("The selected file is empty")
    kind = sniff(content[:16])
    if kind is None:
        raise UploadError("The selected file must be a PDF, JPG or PNG")
    return content, kind[0], kind[1]


def save_upload(upload: FileStorage | None) -> StoredFile:
    """Checks, then writes under a random name. Call before the database change; if the
    transaction later fails, `discard` the file so nothing is half-written."""
    content, mime, ext = check_and_read(upload)
    name = secrets.token_hex(16) + ext
    target = upload_dir() / name
    with open(target, "xb") as handle:
        handle.write(content)
    original = os.path.basename(upload.filename or "upload")[:200]
    return StoredFile(name, original, mime, len(content))


def discard(stored: StoredFile | None) -> None:
    if stored:
        (upload_dir() / stored.stored_name).unlink(missing_ok=True)


def send_upload(stored_name: str, original_name: str, mime_type: str):
    """Sends a stored file as a download; the caller has already checked the user may see it."""
    path = upload_dir() / os.path.basename(stored_name)
    if not path.is_file():
        from flask import abort

        abort(404)
    return send_file(path, mimetype=mime_type, as_attachment=True, download_name=original_name)
