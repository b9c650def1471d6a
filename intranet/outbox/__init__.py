"""The outbox page and commands: what the mailer (intranet/mail.py) has waiting, sent and failed."""
