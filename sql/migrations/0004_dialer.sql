-- The dialer's bookkeeping on contacts.
-- open_attempt_id: the attempt (contact_history row) in progress. Set in the same transaction
-- that writes the attempt's history row before the Originate is sent, cleared in the one that
-- closes it; a contact with an open attempt is never claimed, so a crash can never lead to a
-- second call before reconciliation has closed the first.
ALTER TABLE contacts ADD COLUMN open_attempt_id bigint;

CREATE INDEX contacts_open_attempt ON contacts (open_attempt_id) WHERE open_attempt_id IS NOT NULL;
-- Leases held by one instance (renewed while its calls run, released on close).
CREATE INDEX contacts_claimed_by ON contacts (claimed_by) WHERE claimed_by IS NOT NULL;
