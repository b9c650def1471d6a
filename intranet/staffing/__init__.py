"""The SLA's staffing model (issue 9): volumes x handling times -> hours -> FTE, against the funded posts;
fed with the SLA's own figures, a what-if, or the app's own volumes for a period."""
