-- The call task search's number index (contacts_phone_numbers, migration 0010) cost a
-- calltask import of 100,000 two-number tasks more than any other index: GIN adds new
-- entries to a pending list and, past gin_pending_list_limit (4 MB by default), the inserting
-- statement merges the list into the index, so a large import merged most of its own numbers
-- while it ran. Here the list holds a whole large import (100,000 two-number tasks take
-- 5.4 MB) and is merged in bulk by autovacuum after the import: a search meanwhile also reads
-- the unmerged list (docs/calltask-search.md has what that costs). Btree or hash indexes per
-- number slot were slower to keep up with random numbers (every entry a random page).
ALTER INDEX contacts_phone_numbers SET (gin_pending_list_limit = 16384);
-- A vacuum (which merges the list) after every 100,000 new contacts, however large the table:
-- by the default 20% of it, a large table's list would fill first and an import pay the merge.
ALTER TABLE contacts SET (autovacuum_vacuum_insert_threshold = 100000,
                          autovacuum_vacuum_insert_scale_factor = 0);

-- What an abandon rate counts, defined once for the pacer's start-up and the wallboards
-- (abandon_counts) and the reports and the campaign list (reports.sql): of campaign c's
-- attempts closed in [since, until), the live answers (answered, not by a machine) and those
-- of them abandoned (no agent in time). A single SELECT, so the planner inlines it: an
-- index-only walk of contact_history_live_answers (migration 0011).
CREATE FUNCTION abandons(c integer, since timestamptz, until timestamptz)
    RETURNS TABLE (answered bigint, abandoned bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT count(*), count(*) FILTER (WHERE h.abandoned)
    FROM contact_history h
    WHERE h.campaign_id = c AND h.status = 'closed'
      AND h.dt_call_connect IS NOT NULL AND NOT h.machine
      AND h.dt_call_end >= since AND h.dt_call_end < until
$$;
