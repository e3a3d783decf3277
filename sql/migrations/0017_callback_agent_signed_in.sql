-- An agent's callback goes to anyone only while its agent is not signed in
-- (docs/result-codes.md): signed in is an open agent_states period (migration 0016) that is
-- not 'out'. The grace is counted from the callback's time or from the agent's sign-out,
-- whichever is later, so an agent who signs out and in again (a browser closed) does not lose
-- its callbacks at once.

-- Since when agent u has been signed out: 'infinity' while it is signed in, '-infinity' if it
-- never signed in. One lookup on agent_states_open; contact_due asks it only for the
-- callbacks of one agent whose time and grace have passed.
CREATE FUNCTION agent_signed_out_since(u bigint) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT CASE WHEN s.state = 'out' THEN s.started_at ELSE 'infinity' END
                     FROM agent_states s WHERE s.user_id = u AND s.ended_at IS NULL),
                    '-infinity')
$$;

-- May contact d be called now by somebody (who aside)? Open, not locked, no attempt in
-- progress, not leased by a live instance, its next try passed, a try left or a callback
-- promised (a promised callback is made even when the tries are used up), a valid number
-- left. An agent's own callback is this with its agent (next_callback_for_agent). A single
-- expression without a subquery, so the planner inlines it.
CREATE FUNCTION contact_callable(d contacts) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT d.state = 'open' AND NOT d.locked AND d.open_attempt_id IS NULL
       AND (d.claimed_by IS NULL OR d.lease_until < now())
       AND coalesce(d.dt_next_try, '-infinity') <= now()
       AND (d.attempts < d.max_attempts OR d.callback_at IS NOT NULL)
       -- some slot not marked invalid is not an empty one
       AND NOT array_positions(d.number_invalid, false) <@ array_positions(d.phone_numbers, NULL)
$$;

-- May the dialer give contact d to anyone now (its campaign's pause and call window aside)?
-- Callable, and no agent's callback, or one whose agent has been signed out for
-- callback_grace_s past its time. The claim, the wallboard's hopper and the search's "due"
-- all ask this. Still a single expression without a subquery (the lookup is a function's),
-- so the planner inlines it: the claim still walks contacts_callbacks and contacts_due.
CREATE OR REPLACE FUNCTION contact_due(d contacts, callback_grace_s integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT contact_callable(d)
       AND (d.callback_user_id IS NULL
            OR greatest(d.callback_at, agent_signed_out_since(d.callback_user_id))
               + make_interval(secs => callback_grace_s) <= now())
$$;
