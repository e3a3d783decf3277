"""Results: an agent's result code recorded for an attempt, what it does to the contact (by
the dialer's rule, dialer/results.py), and the callbacks an agent promised
(docs/result-codes.md)."""
