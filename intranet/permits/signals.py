"""Moments in casework other areas act on (letters, emails), without casework importing them.

Receivers run inside the sender's transaction, so a letter queued for a request is committed, or
rolled back, with the request itself.
"""
from blinker import Namespace

_signals = Namespace()

evidence_requested = _signals.signal("evidence-requested")  # sender: actor; application=, request=
refund_approved = _signals.signal("refund-approved")  # sender: actor; refund=
