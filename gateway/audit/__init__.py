"""The tamper-evident log: every write of a record (events, alarms, police deliveries, tests,
people's actions) leaves a digest in `audit_entries`, sealed into a hash chain; `verify`
finds the first broken link, and any row changed or removed behind the gateway's back."""
