-- name: publish_live_view
-- Replaces instance $1's live view with $2 and tells the wallboards (channel dialerd_live,
-- the instance as payload; delivered when the statement commits).
WITH up AS (
    INSERT INTO live_views (instance_id, updated_at, view) VALUES ($1, now(), $2)
    ON CONFLICT (instance_id) DO UPDATE SET updated_at = now(), view = excluded.view
    RETURNING instance_id
)
SELECT pg_notify('dialerd_live', instance_id) FROM up

-- name: withdraw_live_view
-- Instance $1 stops: its view goes, and the wallboards are told.
WITH gone AS (DELETE FROM live_views WHERE instance_id = $1 RETURNING instance_id)
SELECT pg_notify('dialerd_live', instance_id) FROM gone

-- name: live_views
-- Every instance's live view and its age by the database's clock (one clock for all).
SELECT instance_id, view, extract(epoch FROM now() - updated_at)::float8 AS age_s
FROM live_views ORDER BY instance_id

-- name: add_agent_seconds
-- Adds seconds per agent, state, campaign and minute for instance $1 ($2.. one array each).
INSERT INTO agent_minutes (instance_id, minute, campaign_id, agent, talk_s, wrapup_s, ready_s,
                           paused_s)
SELECT $1, r.* FROM unnest($2::timestamptz[], $3::integer[], $4::text[], $5::real[],
                           $6::real[], $7::real[], $8::real[]) AS r
ON CONFLICT (campaign_id, minute, agent, instance_id) DO UPDATE
SET talk_s = agent_minutes.talk_s + excluded.talk_s,
    wrapup_s = agent_minutes.wrapup_s + excluded.wrapup_s,
    ready_s = agent_minutes.ready_s + excluded.ready_s,
    paused_s = agent_minutes.paused_s + excluded.paused_s

-- name: insert_agent_command
-- A supervisor's or an agent's action for instance $1, which the NOTIFY on
-- dialerd_agent_commands wakes.
WITH ins AS (
    INSERT INTO agent_commands (instance_id, client_id, user_id, action, queue, agent, reason,
                                phone, member_name, transfer_kind, transfer_target,
                                transfer_attempt_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    RETURNING id, instance_id
)
SELECT id, pg_notify('dialerd_agent_commands', instance_id) FROM ins

-- name: take_agent_commands
-- The actions for instance $1 not yet taken and younger than $2 seconds (an older one is
-- not done at all: a listen-in minutes late would surprise the supervisor), each once.
UPDATE agent_commands SET taken_at = now()
WHERE id IN (
    SELECT id FROM agent_commands
    WHERE instance_id = $1 AND taken_at IS NULL AND created_at > now() - make_interval(secs => $2)
    ORDER BY id
    FOR UPDATE SKIP LOCKED)
RETURNING id, action, queue, agent, reason, phone, member_name, transfer_kind, transfer_target,
          transfer_attempt_id

-- name: finish_agent_command
-- How action $1 went: $2 is NULL when it worked, else why not.
UPDATE agent_commands SET done_at = now(), error = $2 WHERE id = $1

-- name: agent_command
-- Action $1 of client $2 as it stands.
SELECT id, action, queue, agent, taken_at, done_at, error
FROM agent_commands WHERE id = $1 AND client_id = $2

-- name: next_due_contacts
-- The wallboard's hopper: the next $2 contacts campaign $1 would claim, in claim_contacts'
-- order and by its rules, contact_due and contact_after_care_over (tests/integration/
-- test_wallboard.py holds the two to the same list): the callbacks whose time has come, then
-- the others.
WITH cp AS (
    SELECT id, callback_grace_s AS grace FROM campaigns WHERE id = $1
), due AS (
    (SELECT d.*, 0 AS rank FROM contacts d
     WHERE d.campaign_id = (SELECT id FROM cp) AND d.callback_at IS NOT NULL
       AND contact_due(d, (SELECT grace FROM cp)) AND contact_after_care_over(d)
     ORDER BY d.dt_next_try, d.id
     LIMIT $2)
    UNION ALL
    (SELECT d.*, 1 AS rank FROM contacts d
     WHERE d.campaign_id = (SELECT id FROM cp) AND d.callback_at IS NULL
       AND contact_due(d, (SELECT grace FROM cp)) AND contact_after_care_over(d)
     ORDER BY coalesce(d.dt_next_try, '-infinity'), d.id
     LIMIT $2)
)
SELECT id, name, phone_numbers, number_invalid, next_number, dt_next_try
FROM due
ORDER BY rank, dt_next_try NULLS FIRST, id
LIMIT $2

-- name: dialable_left
-- Per campaign of $1: open, unlocked contacts with attempts and a valid number left, due now
-- or later (none left, with agents logged in, is the wallboard's alert); a callback promised
-- is a try left (contact_due).
SELECT d.campaign_id, count(*) AS dialable
FROM contacts d
WHERE d.campaign_id = ANY($1::integer[]) AND d.state = 'open' AND NOT d.locked
  AND (d.attempts < d.max_attempts OR d.callback_at IS NOT NULL)
  AND EXISTS (SELECT 1 FROM unnest(d.phone_numbers, d.number_invalid) AS u(n, invalid)
              WHERE n IS NOT NULL AND NOT invalid)
GROUP BY d.campaign_id

-- name: occupancy_by_bin
-- The day's chart: agent seconds of campaigns $1 since $2 in bins of $3 seconds.
SELECT date_bin(make_interval(secs => $3), minute, $2) AS at,
       sum(talk_s)::float8 AS talk_s, sum(wrapup_s)::float8 AS wrapup_s,
       sum(ready_s)::float8 AS ready_s
FROM agent_minutes
WHERE campaign_id = ANY($1::integer[]) AND minute >= $2
GROUP BY 1 ORDER BY 1

-- name: abandons_by_bin
-- The day's chart: live answers and abandoned calls of campaigns $1 since $2 in bins of $3 s.
SELECT date_bin(make_interval(secs => $3), dt_call_end, $2) AS at,
       count(*) FILTER (WHERE dt_call_connect IS NOT NULL AND NOT machine) AS answered,
       count(*) FILTER (WHERE abandoned) AS abandoned
FROM contact_history
WHERE campaign_id = ANY($1::integer[]) AND dt_call_end >= $2 AND status = 'closed'
GROUP BY 1 ORDER BY 1
