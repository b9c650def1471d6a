"""Change requests, the notice clock, assessment, sign-off, SLA variations, the review calendar
and system change notices ("What we need from service users" and "Varying the SLA")."""
