"""Users, roles, sign-in and the access rules every other area declares against."""
