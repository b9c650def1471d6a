"""Printing and posting: permit and letter PDFs, print batches, reprints, letters by post or email,
renewal reminders, the postage ledger, stationery orders and stock (issue 5).

Services are split by subject (documents, letters, batches, reminders, postage, stationery); the
routes only read forms and call them. Other areas call `letters.send_or_queue_evidence_request`
and `letters.send_or_queue_refund_letter`; cron calls `flask --app wsgi reminders send`.
"""
