"""The complaint log: "Complaints & Resolution of Issues" in the SLA.

Internal complaints (customers, end users and partner organisations against the CSC) climb the
SLA's own ladder; public complaints follow the council's two-stage procedure. Both ladders, every
clock and every length come from `rules.escalation` and `rules.clocks`; nothing here knows "2
working days" or who the Deputy Director is.
"""
