"""Compliance rules of the campaign: pure functions of records, a calendar and `now`."""
