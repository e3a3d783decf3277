-- A claim writes only claimed_by and lease_until, an attempt's start open_attempt_id,
-- dt_last_try and lease_until, a lease's renewal lease_until. With an index on none of them,
-- and room left on each page for a row's new version, those updates are HOT: the new version
-- stays on its page and no index of contacts gets an entry for it. With contacts_claimed_by
-- every claimed contact got a new entry in each of the 15 indexes: a claim of 50 with 1% due
-- took 124 ms on 10,000,000 contacts (bench/scale.py). The two indexes served renew_leases,
-- take_over_open_attempts and the campaign list's count of contacts in a call, which now
-- find the calls in progress in the history (contact_history_open) instead.
DROP INDEX contacts_claimed_by;
DROP INDEX contacts_open_attempt;
-- Pages written from now on keep a tenth free; those written before get it when the table
-- is rewritten (VACUUM FULL contacts, docs/operations.md), else as updates free their rows.
ALTER TABLE contacts SET (fillfactor = 90);
