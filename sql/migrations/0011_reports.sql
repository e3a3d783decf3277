-- The campaign list's figures, read every few seconds (docs/reports.md, bench/reports.py):
-- with 1,000,000 contacts and 1,200,000 attempts in 30 days, this turns its largest part into
-- an index-only walk of one campaign's rows. No index on contacts (campaign_id, state): with a
-- bulk import's statistics not yet taken, the calltask import's key probe (calltask_open_ids)
-- takes it instead of contacts_open_ext_key and scans every open contact once per key.

-- Live answers and abandons over the pacer's 30 days, and the reports' abandon rates.
CREATE INDEX contact_history_live_answers ON contact_history (campaign_id, dt_call_end)
    INCLUDE (abandoned)
    WHERE status = 'closed' AND dt_call_connect IS NOT NULL AND NOT machine;
