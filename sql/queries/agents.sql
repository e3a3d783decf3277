-- name: lock_agent
-- Serialises the changes of one agent's state (the workspace's and the engines').
SELECT id FROM users WHERE id = $1 AND role = 'agent' FOR UPDATE

-- name: agent_state_now
-- An agent's open state period: its state now (none: never signed in).
SELECT id, state, reason, campaign_id, attempt_id, started_at, ended_at
FROM agent_states WHERE user_id = $1 AND ended_at IS NULL

-- name: end_agent_state
-- Ends an agent's open state period.
UPDATE agent_states SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL

-- name: insert_agent_state
-- Opens a new state period of an agent, and tells the workspaces (as the engines' views do:
-- on dialerd_live, delivered at commit).
WITH ins AS (
    INSERT INTO agent_states (user_id, client_id, state, reason, campaign_id, attempt_id)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id, user_id, state, reason, campaign_id, attempt_id, started_at, ended_at
)
SELECT id, state, reason, campaign_id, attempt_id, started_at, ended_at,
       pg_notify('dialerd_live', 'agent ' || user_id)
FROM ins

-- name: agent_state_history
-- An agent's state periods, newest first; client $2 must be the agent's.
SELECT id, state, reason, campaign_id, attempt_id, started_at, ended_at
FROM agent_states WHERE user_id = $1 AND client_id = $2
ORDER BY started_at DESC, id DESC
LIMIT $3

-- name: campaigns_of_agent
-- The campaigns agent $1 works, with their queues, by name.
SELECT c.id, c.name, c.queue, c.wrapup_limit_s, c.default_region
FROM agent_campaigns ac JOIN campaigns c ON c.id = ac.campaign_id
JOIN users u ON u.id = ac.user_id AND u.client_id = c.client_id
WHERE ac.user_id = $1
ORDER BY c.name, c.id

-- name: agent_by_endpoint
-- The enabled agent whose phone is the queue member interface $1.
SELECT id, client_id FROM users WHERE endpoint = $1 AND role = 'agent' AND NOT disabled

-- name: after_calls_over
-- Agents in after-call work for longer than their call's campaign's wrap-up limit.
SELECT s.id, s.user_id, s.client_id, u.endpoint
FROM agent_states s
JOIN campaigns c ON c.id = s.campaign_id
JOIN users u ON u.id = s.user_id
WHERE s.ended_at IS NULL AND s.state = 'after_call'
  AND s.started_at <= now() - make_interval(secs => c.wrapup_limit_s)

-- name: client_queues
-- The queues of client $1's campaigns, each once, with the names of its campaigns: where an
-- agent can transfer a call to.
SELECT queue, string_agg(name, ', ' ORDER BY name, id) AS campaigns
FROM campaigns WHERE client_id = $1 AND queue IS NOT NULL
GROUP BY queue ORDER BY queue

-- name: pause_reasons
-- Client $1's pause reasons, in the order they were added.
SELECT reason FROM pause_reasons WHERE client_id = $1 ORDER BY id

-- name: add_pause_reason
-- One more pause reason of a client; nothing if it has it already (any case).
INSERT INTO pause_reasons (client_id, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING

-- name: delete_pause_reason
-- Removes a pause reason of a client.
DELETE FROM pause_reasons WHERE client_id = $1 AND reason = $2 RETURNING id

-- name: attempt_contact
-- The contact of attempt $1 if it is client $2's.
SELECT contact_id FROM contact_history WHERE id = $1 AND client_id = $2

-- name: after_call_periods
-- The after-call work that began in [$2, $3), of campaign $1 (NULL: every campaign), oldest
-- first: its length in seconds (NULL: still open), its campaign's wrap-up limit now, and the
-- result code recorded for its call (NULL: none yet). For the simulator's wrap-up.
SELECT s.campaign_id,
       extract(epoch FROM s.ended_at - s.started_at)::float8 AS seconds,
       c.wrapup_limit_s,
       h.result_code_id,
       r.name AS result_code
FROM agent_states s
JOIN campaigns c ON c.id = s.campaign_id
LEFT JOIN contact_history h ON h.id = s.attempt_id
LEFT JOIN campaign_result_codes r ON r.id = h.result_code_id
WHERE s.state = 'after_call'
  AND ($1::integer IS NULL OR s.campaign_id = $1)
  AND s.started_at >= $2 AND s.started_at < $3
ORDER BY s.started_at, s.id

-- name: attempt_for_result_form
-- Attempt $1 of client $2 as the result form shows it: the number called, its campaign's time
-- zone (a callback's time may be meant in it) and whether it has a result already.
SELECT h.phone_number, k.timezone, h.result_code_id IS NOT NULL AS recorded
FROM contact_history h JOIN campaigns k ON k.id = h.campaign_id
WHERE h.id = $1 AND h.client_id = $2
