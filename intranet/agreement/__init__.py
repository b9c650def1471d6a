"""The Service Level Agreement as staff see it: the rules page, the deadline calculator,
business-continuity declarations, and the `sla` commands."""
