"""Contacts (issue 9): the enquiries log with its reply queue, and cash payments taken by exception
for enforcement, with their approval and the daily cash-up."""
