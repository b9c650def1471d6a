"""KPIs of the SLA measured from the app's own records, the monthly KPI pack and service reviews (issue 8)."""
