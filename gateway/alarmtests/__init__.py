"""Monthly alarm tests: notices filed in advance, the testers, the police receipts, the month."""
