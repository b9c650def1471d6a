"""The daily permits-by-zone report to the Parking inbox and NSL, and the send log its KPI is measured from."""
