"""The monthly report for inspectors and the police monthly statistics form, and the
quarterly school rating."""
