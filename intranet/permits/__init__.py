"""Permit casework: zones and addresses, households, applications and evidence, the SLA queue,
issuing resident and visitor permits, renewals, changes after issue, refunds and partner collections."""
