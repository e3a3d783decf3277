-- The campaign list's figures, read every few seconds (docs/reports.md, bench/reports.py):
-- with 1,000,000 contacts and 1,200,000 attempts in 30 days, these two turn its two largest
-- parts into index-only walks of one campaign's rows.

-- Contacts left, done and finished per campaign.
CREATE INDEX contacts_campaign_state ON contacts (campaign_id, state);

-- Live answers and abandons over the pacer's 30 days, and the reports' abandon rates.
CREATE INDEX contact_history_live_answers ON contact_history (campaign_id, dt_call_end)
    INCLUDE (abandoned)
    WHERE status = 'closed' AND dt_call_connect IS NOT NULL AND NOT machine;
