"""Home pages, health check and the accessibility statement."""
