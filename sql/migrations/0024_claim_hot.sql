-- A claim writes only claimed_by and lease_until, a lease's renewal only lease_until. With
-- an index on neither, and room left on each page for a row's new version, those updates
-- are HOT: the new version stays on its page and no index of contacts gets an entry for
-- it. With contacts_claimed_by every claimed contact got a new entry in each of the 15
-- indexes: a claim of 50 with 1% due took 124 ms on 10,000,000 contacts (bench/scale.py).
-- The index served only renew_leases, which now finds an instance's contacts by their
-- calls in progress (contacts_open_attempt) and its preview offers.
DROP INDEX contacts_claimed_by;
-- Pages written from now on keep a tenth free; those written before get it when the table
-- is rewritten (VACUUM FULL contacts, docs/operations.md), else as updates free their rows.
ALTER TABLE contacts SET (fillfactor = 90);
