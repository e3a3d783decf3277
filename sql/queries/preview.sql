-- name: drop_stale_offers
-- Offers whose contact's claim is no longer their engine's (it crashed and the lease ran out,
-- or another engine took the contact's open attempt over): gone.
WITH gone AS (
    DELETE FROM preview_offers o
    USING contacts c
    WHERE c.id = o.contact_id
      AND (c.claimed_by IS DISTINCT FROM o.instance_id OR c.lease_until < now())
    RETURNING o.user_id
)
SELECT pg_notify('dialerd_live', 'agent ' || user_id) FROM gone

-- name: unready_offers
-- Engine $1's offers not yet called whose agent is no longer ready (paused, signed out),
-- locked for their withdrawal.
SELECT o.user_id, o.contact_id, o.campaign_id, o.slot, o.number, o.instance_id, o.offered_at,
       o.attempt_id, o.callback, o.manual
FROM preview_offers o
WHERE o.instance_id = $1 AND o.attempt_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM agent_states s
                  WHERE s.user_id = o.user_id AND s.ended_at IS NULL AND s.state = 'ready')
FOR UPDATE OF o

-- name: offer_of_user
-- Agent $1's offer.
SELECT o.user_id, o.contact_id, o.campaign_id, o.slot, o.number, o.instance_id, o.offered_at,
       o.attempt_id, o.callback, o.manual
FROM preview_offers o WHERE o.user_id = $1

-- name: lock_offer_of_user
-- Agent $1's offer, locked (the workspace's Skip and manual call change it).
SELECT o.user_id, o.contact_id, o.campaign_id, o.slot, o.number, o.instance_id, o.offered_at,
       o.attempt_id, o.callback, o.manual
FROM preview_offers o WHERE o.user_id = $1
FOR UPDATE

-- name: offer_of_endpoint
-- The offer of the agent whose phone is $1.
SELECT o.user_id, o.contact_id, o.campaign_id, o.slot, o.number, o.instance_id, o.offered_at,
       o.attempt_id, o.callback, o.manual
FROM preview_offers o JOIN users u ON u.id = o.user_id
WHERE u.endpoint = $1 AND u.role = 'agent'

-- name: delete_offer
-- Withdraws agent $1's offer and tells its workspace.
WITH gone AS (DELETE FROM preview_offers WHERE user_id = $1 RETURNING user_id)
SELECT pg_notify('dialerd_live', 'agent ' || user_id) FROM gone

-- name: release_offered_contact
-- Gives back contact $1, held for an offer by engine $2, due at $3 (NULL: as it was); with $4,
-- its agent's own callback goes to anyone.
UPDATE contacts
SET claimed_by = NULL, lease_until = NULL, dt_next_try = coalesce($3, dt_next_try),
    callback_user_id = CASE WHEN $4 THEN NULL ELSE callback_user_id END, updated_at = now()
WHERE id = $1 AND claimed_by = $2 AND open_attempt_id IS NULL

-- name: skip_due
-- When a skipped contact $1 is due again: after its retry interval (min_call_interval_h, the
-- campaign's unless its import said), from now.
SELECT now() + make_interval(secs => min_call_interval_h * 3600) FROM contacts WHERE id = $1

-- name: delete_manual_contact
-- A manual call's contact that was never called (its offer withdrawn or skipped).
DELETE FROM contacts WHERE id = $1 AND open_attempt_id IS NULL AND attempts = 0
  AND NOT EXISTS (SELECT 1 FROM contact_history h WHERE h.contact_id = $1)

-- name: ready_agents
-- The enabled workspace agents ready now who work any of campaigns $1 (of their client),
-- with those campaigns, whether they hold an offer, and whether one of their own callbacks
-- is due in them (else an agent of paced campaigns only is not looked at further).
SELECT u.id, u.client_id, u.endpoint, s.started_at,
       array_agg(ac.campaign_id ORDER BY ac.campaign_id) AS campaign_ids,
       EXISTS (SELECT 1 FROM preview_offers o WHERE o.user_id = u.id) AS has_offer,
       EXISTS (SELECT 1 FROM contacts d
               WHERE d.campaign_id = ANY(array_agg(ac.campaign_id)) AND d.callback_at IS NOT NULL
                 AND d.callback_user_id = u.id AND contact_callable(d)) AS callback_due
FROM agent_states s
JOIN users u ON u.id = s.user_id AND u.role = 'agent' AND NOT u.disabled
JOIN agent_campaigns ac ON ac.user_id = u.id
JOIN campaigns c ON c.id = ac.campaign_id AND c.client_id = u.client_id
WHERE s.ended_at IS NULL AND s.state = 'ready' AND ac.campaign_id = ANY($1::integer[])
GROUP BY u.id, u.client_id, u.endpoint, s.started_at

-- name: claim_for_agent
-- Claims one contact for agent $1 (engine $4, lease $5 s): its own due callback in campaigns
-- $2 (contact_callable: it is the agent's, no grace to wait; migration 0017), else the next
-- due contact of the preview campaigns $3 as claim_contacts orders them: callbacks first, by
-- time, then the others by next try, never tried first. Only active campaigns. dnc: as
-- claim_contacts'.
WITH own AS (
    SELECT d.id FROM contacts d JOIN campaigns cp ON cp.id = d.campaign_id AND cp.active
    WHERE d.campaign_id = ANY($2::integer[]) AND d.callback_user_id = $1
      AND contact_callable(d)
    ORDER BY d.dt_next_try, d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
), callbacks AS (
    SELECT d.id FROM contacts d JOIN campaigns cp ON cp.id = d.campaign_id AND cp.active
    WHERE d.campaign_id = ANY($3::integer[]) AND d.callback_at IS NOT NULL
      AND contact_due(d, cp.callback_grace_s) AND NOT EXISTS (SELECT 1 FROM own)
    ORDER BY d.dt_next_try, d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
), others AS (
    SELECT d.id FROM contacts d JOIN campaigns cp ON cp.id = d.campaign_id AND cp.active
    WHERE d.campaign_id = ANY($3::integer[]) AND d.callback_at IS NULL
      AND contact_due(d, cp.callback_grace_s)
      AND NOT EXISTS (SELECT 1 FROM own) AND NOT EXISTS (SELECT 1 FROM callbacks)
    ORDER BY coalesce(d.dt_next_try, '-infinity'), d.id
    LIMIT 1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE contacts c
SET claimed_by = $4, lease_until = now() + make_interval(secs => $5)
WHERE c.id IN (SELECT id FROM own UNION ALL SELECT id FROM callbacks UNION ALL SELECT id FROM others)
RETURNING c.id, c.campaign_id, c.phone_numbers, c.number_invalid, c.next_number,
          c.callback_user_id IS NOT DISTINCT FROM $1 AS callback,
          dnc_slots(c.phone_numbers, (SELECT client_id FROM campaigns WHERE id = c.campaign_id))
              AS dnc

-- name: insert_offer
-- Offers contact $3 to agent $1 (client $2) if it holds none, and tells its workspace.
WITH ins AS (
    INSERT INTO preview_offers (user_id, client_id, contact_id, campaign_id, slot, number,
                                instance_id, callback, manual)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT DO NOTHING
    RETURNING user_id
)
SELECT user_id, pg_notify('dialerd_live', 'agent ' || user_id) FROM ins

-- name: offer_calling
-- Agent $1's offer is called: attempt $2.
WITH upd AS (
    UPDATE preview_offers SET attempt_id = $2 WHERE user_id = $1 AND attempt_id IS NULL
    RETURNING user_id
)
SELECT pg_notify('dialerd_live', 'agent ' || user_id) FROM upd

-- name: delete_called_offers
-- The offers whose attempts ($1) closed.
WITH gone AS (DELETE FROM preview_offers WHERE attempt_id = ANY($1::bigint[]) RETURNING user_id)
SELECT pg_notify('dialerd_live', 'agent ' || user_id) FROM gone

-- name: insert_manual_contact
-- A manual call's contact: in campaign $1, named $2, number $3 (E.164), claimed by engine $4
-- for $5 s. One attempt, and never due by itself (dt_next_try infinity): the agent's call is
-- its only one.
INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries, number_last_cause,
                      number_end_reason, number_invalid, max_attempts, min_call_interval_h,
                      dt_next_try, claimed_by, lease_until)
SELECT c.id, $2, ARRAY[$3], f.tries, f.last_cause, f.end_reason, f.invalid, 1,
       c.min_call_interval_h, 'infinity', $4, now() + make_interval(secs => $5)
FROM campaigns c, fresh_number_state(ARRAY[$3]) AS f
WHERE c.id = $1
FOR KEY SHARE OF c  -- what a foreign-key check would lock (migration 0005)
RETURNING id
