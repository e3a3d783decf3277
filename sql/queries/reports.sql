-- Reports and the campaign list's figures (docs/reports.md). Every query is scoped to client $1
-- through its campaigns. An attempt counts once it is closed, on the day its call ended in the
-- campaign's time zone; a live answer is an answer that was not a machine, and an abandoned
-- call is one the engine marked abandoned: the pacer's definitions (abandon_counts in
-- dialer.sql). Days $3..$4 are dates, both included; $2 is a campaign ID or NULL for all.

-- name: report_abandon_by_day
-- Live answers and abandoned calls per campaign and day, and over the 30 days ending with
-- that day (the day and the 29 before it), with the campaign's limit. Every day of the range
-- has a row, a day without calls too.
WITH cp AS (
    SELECT id, name, abandon_limit, timezone FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
), daily AS (
    SELECT cp.id AS campaign_id, (h.dt_call_end AT TIME ZONE cp.timezone)::date AS day,
           count(*) FILTER (WHERE h.dt_call_connect IS NOT NULL AND NOT h.machine) AS answered,
           count(*) FILTER (WHERE h.abandoned) AS abandoned
    FROM cp
    JOIN contact_history h ON h.campaign_id = cp.id
    WHERE h.status = 'closed'
      AND h.dt_call_end >= ($3::date - 29)::timestamp AT TIME ZONE cp.timezone
      AND h.dt_call_end < ($4::date + 1)::timestamp AT TIME ZONE cp.timezone
    GROUP BY 1, 2
), rolling AS (
    SELECT cp.id AS campaign_id, d.day,
           coalesce(daily.answered, 0) AS answered, coalesce(daily.abandoned, 0) AS abandoned,
           sum(coalesce(daily.answered, 0)) OVER w AS answered_30d,
           sum(coalesce(daily.abandoned, 0)) OVER w AS abandoned_30d
    FROM cp
    CROSS JOIN LATERAL (
        SELECT g::date AS day FROM generate_series($3::date - 29, $4::date, interval '1 day') g
    ) d
    LEFT JOIN daily ON daily.campaign_id = cp.id AND daily.day = d.day
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
SELECT (h.dt_call_end AT TIME ZONE cp.timezone)::date AS day, h.connres, h.cause_code AS cause,
       count(*) AS attempts
FROM campaigns cp
JOIN contact_history h ON h.campaign_id = cp.id
WHERE cp.client_id = $1 AND ($2::integer IS NULL OR cp.id = $2)
  AND h.status = 'closed'
  AND h.dt_call_end >= $3::date::timestamp AT TIME ZONE cp.timezone
  AND h.dt_call_end < ($4::date + 1)::timestamp AT TIME ZONE cp.timezone
GROUP BY 1, 2, 3
ORDER BY 1, 2, 4 DESC, 3

-- name: report_agents
-- Per agent: calls an agent took and their talk time (agent answer to hang-up) from history;
-- seconds in each state from agent_minutes, by the minute's day.
WITH cp AS (
    SELECT id, timezone FROM campaigns
    WHERE client_id = $1 AND ($2::integer IS NULL OR id = $2)
), calls AS (
    SELECT h.agent, count(*) AS calls,
           sum(extract(epoch FROM h.dt_call_end - h.dt_agent_connect)) AS talk_s
    FROM cp
    JOIN contact_history h ON h.campaign_id = cp.id
    WHERE h.status = 'closed' AND h.agent IS NOT NULL AND h.dt_agent_connect IS NOT NULL
      AND h.dt_call_end >= $3::date::timestamp AT TIME ZONE cp.timezone
      AND h.dt_call_end < ($4::date + 1)::timestamp AT TIME ZONE cp.timezone
    GROUP BY h.agent
), states AS (
    SELECT m.agent, sum(m.talk_s) AS talk_s, sum(m.wrapup_s) AS wrapup_s,
           sum(m.ready_s) AS ready_s, sum(m.paused_s) AS paused_s
    FROM cp
    JOIN agent_minutes m ON m.campaign_id = cp.id
    WHERE m.minute >= $3::date::timestamp AT TIME ZONE cp.timezone
      AND m.minute < ($4::date + 1)::timestamp AT TIME ZONE cp.timezone
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
FROM campaigns cp
JOIN contact_history h ON h.campaign_id = cp.id
WHERE cp.client_id = $1 AND ($2::integer IS NULL OR cp.id = $2)
  AND h.status = 'closed'
  AND h.dt_call_end >= $3::date::timestamp AT TIME ZONE cp.timezone
  AND h.dt_call_end < ($4::date + 1)::timestamp AT TIME ZONE cp.timezone
ORDER BY h.dt_call_end, h.id

-- name: campaign_figures
-- The campaign list's figures for every campaign of the client, in one statement. Contacts:
-- due now (what the scheduler's claim_contacts would take, whether or not the campaign is
-- active or another instance holds a lease), left (open), done, finished. Today is from the
-- campaign's local midnight; the 30 days are the pacer's window, the 30 × 24 hours up to now.
-- Placed: attempts that called someone (CONNRES 0: nobody was called). Talk: agent answer to
-- hang-up of the attempts ended today; agent time: every state's seconds in agent_minutes.
WITH cp AS (
    SELECT id, abandon_limit,
           date_trunc('day', now() AT TIME ZONE timezone) AT TIME ZONE timezone AS midnight
    FROM campaigns
    WHERE client_id = $1
), contact_counts AS (
    SELECT c.campaign_id,
           count(*) FILTER (
               WHERE c.state = 'open' AND NOT c.locked
                 AND (c.dt_next_try IS NULL OR c.dt_next_try <= now())
                 AND c.attempts < c.max_attempts
                 AND c.open_attempt_id IS NULL
                 AND EXISTS (SELECT 1 FROM unnest(c.phone_numbers, c.number_invalid) AS u(n, invalid)
                             WHERE n IS NOT NULL AND NOT invalid)) AS due_now,
           count(*) FILTER (WHERE c.state = 'open') AS open,
           count(*) FILTER (WHERE c.state = 'done') AS done,
           count(*) FILTER (WHERE c.state = 'finished') AS finished
    FROM contacts c
    WHERE c.campaign_id IN (SELECT id FROM cp)
    GROUP BY c.campaign_id
), attempt_counts AS (
    SELECT h.campaign_id,
           count(*) FILTER (WHERE h.dt_call_end >= cp.midnight AND h.connres <> 0) AS placed_today,
           count(*) FILTER (WHERE h.dt_call_connect IS NOT NULL AND NOT h.machine
                              AND h.dt_call_end >= cp.midnight) AS answered_today,
           count(*) FILTER (WHERE h.abandoned AND h.dt_call_end >= cp.midnight) AS abandoned_today,
           count(*) FILTER (WHERE h.dt_call_connect IS NOT NULL AND NOT h.machine) AS answered_30d,
           count(*) FILTER (WHERE h.abandoned) AS abandoned_30d,
           sum(extract(epoch FROM h.dt_call_end - h.dt_agent_connect))
               FILTER (WHERE h.dt_call_end >= cp.midnight) AS talk_s_today
    FROM cp
    JOIN contact_history h ON h.campaign_id = cp.id
    WHERE h.status = 'closed' AND h.dt_call_end >= now() - interval '30 days'
    GROUP BY h.campaign_id
), agent_time AS (
    SELECT m.campaign_id, sum(m.talk_s + m.wrapup_s + m.ready_s + m.paused_s) AS agent_s_today
    FROM cp
    JOIN agent_minutes m ON m.campaign_id = cp.id AND m.minute >= cp.midnight
    GROUP BY m.campaign_id
)
SELECT cp.id AS campaign_id, cp.abandon_limit,
       coalesce(cc.due_now, 0) AS due_now, coalesce(cc.open, 0) AS open,
       coalesce(cc.done, 0) AS done, coalesce(cc.finished, 0) AS finished,
       coalesce(ac.placed_today, 0) AS placed_today,
       coalesce(ac.answered_today, 0) AS answered_today,
       coalesce(ac.abandoned_today, 0) AS abandoned_today,
       coalesce(ac.answered_30d, 0) AS answered_30d,
       coalesce(ac.abandoned_30d, 0) AS abandoned_30d,
       coalesce(ac.talk_s_today, 0)::float8 AS talk_s_today,
       coalesce(at.agent_s_today, 0)::float8 AS agent_s_today
FROM cp
LEFT JOIN contact_counts cc ON cc.campaign_id = cp.id
LEFT JOIN attempt_counts ac ON ac.campaign_id = cp.id
LEFT JOIN agent_time at ON at.campaign_id = cp.id
ORDER BY cp.id
