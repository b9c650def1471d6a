"""Vehicle registration marks: normalised (upper case, no spaces) and checked against the UK
formats in the rules (current, prefix, suffix, dateless, Northern Ireland)."""
from __future__ import annotations

import re
from collections.abc import Mapping


def normalise(text: str | None) -> str:
    return re.sub(r"[\s-]+", "", (text or "")).upper()


def format_of(vrm: str, formats: Mapping[str, str]) -> str | None:
    """The name of the first format the (normalised) VRM matches, or None."""
    for name, pattern in formats.items():
        if re.fullmatch(pattern, vrm):
            return name
    return None


def check(text: str | None, formats: Mapping[str, str]) -> str:
    """Returns the normalised VRM or raises ValueError with a message fit for the form."""
    vrm = normalise(text)
    if not vrm:
        raise ValueError("Enter the vehicle registration")
    if len(vrm) > 8 or format_of(vrm, formats) is None:
        raise ValueError(f"{vrm} is not a UK vehicle registration format, for example AB12 CDE")
    return vrm
