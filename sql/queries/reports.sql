-- Reports and the campaign list's figures (docs/reports.md). Every query is scoped to client $1
-- through its campaigns. An attempt counts once it is closed, on the day its call ended in the
-- campaign's time zone. Live answers and abandoned calls are counted by abandons (migration
-- 0012), as the pacer counts them (abandon_counts in dialer.sql). Days $3..$4 are dates, both
-- included; $2 is a campaign ID or NULL for all.

-- name: report_abandon_by_day
-- Live answers and abandoned calls per campaign and day, and over the 30 days ending with
-- that day (the day and the 29 before it), with the campaign's limit. Every day of the range
-- has a row, a day without calls too. Walks contact_history_live_answers.
WITH cp AS (
    SELECT id, name, abandon_limit, timezone FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
), rolling AS (
    SELECT cp.id AS campaign_id, d.day, daily.answered, daily.abandoned,
           sum(daily.answered) OVER w AS answered_30d,
           sum(daily.abandoned) OVER w AS abandoned_30d
    FROM cp
    CROSS JOIN LATERAL (
        SELECT g::date AS day, g AT TIME ZONE cp.timezone AS starts,
               (g + interval '1 day') AT TIME ZONE cp.timezone AS ends
        FROM generate_series(($3::date - 29)::timestamp, $4::date, interval '1 day') g
    ) d
    CROSS JOIN LATERAL abandons(cp.id, d.starts, d.ends) daily
    WINDOW w AS (PARTITION BY cp.id ORDER BY d.day ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
)
SELECT r.campaign_id, cp.name AS campaign, cp.abandon_limit, r.day, r.answered, r.abandoned,
       r.answered_30d::bigint AS answered_30d, r.abandoned_30d::bigint AS abandoned_30d
FROM rolling r
JOIN cp ON cp.id = r.campaign_id
WHERE r.day >= $3
ORDER BY cp.name, r.campaign_id, r.day

-- name: report_outcomes_by_day
-- Closed attempts per day, CONNRES and Q.850 cause.
WITH cp AS (
    SELECT id, timezone, $3::date::timestamp AT TIME ZONE timezone AS starts,
           ($4::date + 1)::timestamp AT TIME ZONE timezone AS ends
    FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
)
SELECT (h.dt_call_end AT TIME ZONE cp.timezone)::date AS day, h.connres,
       h.cause_code AS cause, count(*) AS attempts
FROM cp
JOIN contact_history h
  ON h.campaign_id = cp.id AND h.dt_call_end >= cp.starts AND h.dt_call_end < cp.ends
WHERE h.status = 'closed'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 4 DESC, 3

-- name: report_agents
-- Per agent: calls an agent took and their talk time (agent answer to hang-up) from history;
-- seconds in each state from agent_minutes, by the minute's day.
WITH cp AS (
    SELECT id, $3::date::timestamp AT TIME ZONE timezone AS starts,
           ($4::date + 1)::timestamp AT TIME ZONE timezone AS ends
    FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
), calls AS (
    SELECT h.agent, count(*) AS calls,
           sum(extract(epoch FROM h.dt_call_end - h.dt_agent_connect)) AS talk_s
    FROM cp
    JOIN contact_history h
      ON h.campaign_id = cp.id AND h.dt_call_end >= cp.starts AND h.dt_call_end < cp.ends
    WHERE h.status = 'closed' AND h.agent IS NOT NULL AND h.dt_agent_connect IS NOT NULL
    GROUP BY h.agent
), states AS (
    SELECT m.agent, sum(m.talk_s) AS talk_s, sum(m.wrapup_s) AS wrapup_s,
           sum(m.ready_s) AS ready_s, sum(m.paused_s) AS paused_s
    FROM cp
    JOIN agent_minutes m ON m.campaign_id = cp.id AND m.minute >= cp.starts AND m.minute < cp.ends
    GROUP BY m.agent
)
SELECT agent, coalesce(calls.calls, 0) AS calls, coalesce(calls.talk_s, 0)::float8 AS talk_s,
       coalesce(states.talk_s, 0)::float8 AS state_talk_s,
       coalesce(states.wrapup_s, 0)::float8 AS wrapup_s,
       coalesce(states.ready_s, 0)::float8 AS ready_s,
       coalesce(states.paused_s, 0)::float8 AS paused_s
FROM calls
FULL JOIN states USING (agent)
ORDER BY agent

-- name: report_attempts
-- The closed attempts of the range, for export: in the order their calls ended.
SELECT h.id, h.campaign_id, cp.name AS campaign, cp.timezone, h.contact_id, h.user_data,
       h.phone_number, h.phone_number_offset, h.dt_call_start, h.dt_call_alert,
       h.dt_call_connect, h.dt_agent_connect, h.dt_call_end, h.connres, h.cause_code,
       h.agent, h.abandoned, h.machine, h.caller_hangup
FROM (
    SELECT id, name, timezone, $3::date::timestamp AT TIME ZONE timezone AS starts,
           ($4::date + 1)::timestamp AT TIME ZONE timezone AS ends
    FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
) cp
JOIN contact_history h
  ON h.campaign_id = cp.id AND h.dt_call_end >= cp.starts AND h.dt_call_end < cp.ends
WHERE h.status = 'closed'
ORDER BY h.dt_call_end, h.id

-- name: campaign_figures
-- The campaign list's figures for every campaign of the client, in one statement, each part
-- a walk of an index over one campaign's rows. Contacts: due now (open, not locked,
-- dt_next_try passed, no attempt in progress: the scheduler's claim but for the two checks
-- the engine keeps true of open contacts, attempts and a valid number left; see
-- docs/reports.md), left (open), done, finished. Today is from the campaign's local
-- midnight; the 30 days are the pacer's window, the 30 × 24 hours up to now. Placed:
-- attempts that called someone (CONNRES 0: nobody was called). Talk: agent answer to
-- hang-up of the attempts ended today; agent time: every state's seconds in agent_minutes.
WITH cp AS (
    SELECT id, abandon_limit,
           date_trunc('day', now() AT TIME ZONE timezone) AT TIME ZONE timezone AS midnight
    FROM campaigns
    WHERE client_id = $1
), in_progress AS (
    SELECT c.campaign_id, count(*) AS contacts
    FROM contact_history h  -- contact_history_open: as many as calls in flight
    JOIN contacts c ON c.id = h.contact_id AND c.open_attempt_id = h.id
    WHERE h.status <> 'closed' AND c.state = 'open' AND NOT c.locked
      AND coalesce(c.dt_next_try, '-infinity') <= now()
    GROUP BY c.campaign_id
)
SELECT cp.id AS campaign_id, cp.abandon_limit,
       due.waiting - coalesce(in_progress.contacts, 0) AS due_now,
       states.open, states.done, states.finished,
       today.placed_today, live_today.answered AS answered_today,
       live_today.abandoned AS abandoned_today,
       window30.answered AS answered_30d, window30.abandoned AS abandoned_30d,
       coalesce(today.talk_s_today, 0)::float8 AS talk_s_today,
       coalesce(agents.agent_s_today, 0)::float8 AS agent_s_today
FROM cp
LEFT JOIN in_progress ON in_progress.campaign_id = cp.id
CROSS JOIN LATERAL (
    SELECT count(*) AS waiting
    FROM contacts c  -- contacts_due, its range of those due (migration 0020)
    WHERE c.campaign_id = cp.id AND c.state = 'open' AND NOT c.locked
      AND coalesce(c.dt_next_try, '-infinity') <= now()
) due
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE c.state = 'open') AS open,
           count(*) FILTER (WHERE c.state = 'done') AS done,
           count(*) FILTER (WHERE c.state = 'finished') AS finished
    FROM contacts c  -- contacts_campaign_state, index only
    WHERE c.campaign_id = cp.id
) states
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE h.connres <> 0) AS placed_today,
           sum(extract(epoch FROM h.dt_call_end - h.dt_agent_connect)) AS talk_s_today
    FROM contact_history h
    WHERE h.campaign_id = cp.id AND h.status = 'closed' AND h.dt_call_end >= cp.midnight
) today
CROSS JOIN LATERAL abandons(cp.id, cp.midnight, 'infinity') live_today
CROSS JOIN LATERAL abandons(cp.id, now() - interval '30 days', 'infinity') window30
CROSS JOIN LATERAL (
    SELECT sum(m.talk_s + m.wrapup_s + m.ready_s + m.paused_s) AS agent_s_today
    FROM agent_minutes m
    WHERE m.campaign_id = cp.id AND m.minute >= cp.midnight
) agents
ORDER BY cp.id

-- name: reports_without_jit
-- For the transaction the reports run in: compiling them (their estimates are large) took
-- 0.3-0.7 s of queries that run in tens to hundreds of milliseconds.
SET LOCAL jit = off

-- name: metrics_abandons
-- /metrics: every campaign's name, client and abandon limit, with its live answers and abandoned
-- calls today (from its local midnight) and over the 30 days, by the reports' definition
-- (abandons, migration 0012).
WITH cp AS (
    SELECT id, client_id, name, abandon_limit,
           date_trunc('day', now() AT TIME ZONE timezone) AT TIME ZONE timezone AS midnight
    FROM campaigns
)
SELECT cp.id AS campaign_id, cp.client_id, cp.name, cp.abandon_limit,
       today.answered AS answered_today, today.abandoned AS abandoned_today,
       window30.answered AS answered_30d, window30.abandoned AS abandoned_30d
FROM cp
CROSS JOIN LATERAL abandons(cp.id, cp.midnight, 'infinity') today
CROSS JOIN LATERAL abandons(cp.id, now() - interval '30 days', 'infinity') window30
ORDER BY cp.id

-- name: abandon_window
-- The pacer's window of client $1's campaign $2: its live answers and abandoned calls of the
-- 30 x 24 hours up to now (as campaign_figures and abandon_counts count them), and its limit.
SELECT cp.abandon_limit, w.answered, w.abandoned
FROM campaigns cp
CROSS JOIN LATERAL abandons(cp.id, now() - interval '30 days', 'infinity') w
WHERE cp.client_id = $1 AND cp.id = $2
