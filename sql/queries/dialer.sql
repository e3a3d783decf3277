-- name: claim_contacts
-- Claims up to $4 due contacts (contact_due, migration 0013) of campaign $1, while it is
-- active, for instance $2 with a lease of $3 seconds: the callbacks whose time has come first,
-- in their time order (contacts_callbacks), then the others by next try, never tried first
-- (contacts_due, whose range up to now is what contact_due lets through: migration 0020).
-- No agent is on the line before the callee answers, so contacts in their abandon after-care
-- are left (migration 0023). wallboard's next_due_contacts shows the same list. dnc: which of
-- each contact's numbers are on a do-not-call list of the campaign's client (migration 0022).
WITH cp AS (
    SELECT id, client_id, callback_grace_s AS grace FROM campaigns WHERE id = $1 AND active
), callbacks AS (
    SELECT d.id FROM contacts d
    WHERE d.campaign_id = (SELECT id FROM cp) AND d.callback_at IS NOT NULL
      AND contact_due(d, (SELECT grace FROM cp)) AND contact_after_care_over(d)
    ORDER BY d.dt_next_try, d.id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
), others AS (
    SELECT d.id FROM contacts d
    WHERE d.campaign_id = (SELECT id FROM cp) AND d.callback_at IS NULL
      AND contact_due(d, (SELECT grace FROM cp)) AND contact_after_care_over(d)
    ORDER BY coalesce(d.dt_next_try, '-infinity'), d.id
    LIMIT greatest($4 - (SELECT count(*) FROM callbacks), 0)
    FOR UPDATE SKIP LOCKED
)
UPDATE contacts c
SET claimed_by = $2, lease_until = now() + make_interval(secs => $3)
WHERE c.id IN (SELECT id FROM callbacks UNION ALL SELECT id FROM others)
RETURNING c.id, c.phone_numbers, c.number_invalid, c.next_number,
          dnc_slots(c.phone_numbers, (SELECT client_id FROM cp)) AS dnc

-- name: release_contacts
-- Gives back claimed contacts that were not dialled ($1 ids), due again at $2 (per id).
UPDATE contacts c
SET claimed_by = NULL, lease_until = NULL, dt_next_try = r.due, updated_at = now()
FROM unnest($1::bigint[], $2::timestamptz[]) AS r(id, due)
WHERE c.id = r.id AND c.claimed_by = $3 AND c.open_attempt_id IS NULL

-- name: start_attempts
-- Writes the history rows of new attempts (pending) and marks their contacts as having an
-- attempt in progress, in one statement, before any Originate is sent. Contacts that were
-- locked, closed, deleted or lost to another instance since the claim are left out, and so
-- are those whose number was put on a do-not-call list since (the last check before the call).
-- $1 contact ids, $2 numbers, $3 1-based offsets, $4 A number, $5 instance, $6 lease seconds,
-- $7 the PBX the calls go through.
WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[]) AS r(contact_id, number, slot)
), ins AS (
    INSERT INTO contact_history (contact_id, campaign_id, client_id, user_data, phone_number,
                                 phone_number_offset, a_number, b_number, instance_id, pbx)
    SELECT c.id, c.campaign_id, cp.client_id, c.user_data, r.number, r.slot, $4, r.number, $5,
           $7
    FROM r
    JOIN contacts c ON c.id = r.contact_id
    JOIN campaigns cp ON cp.id = c.campaign_id
    WHERE c.claimed_by = $5 AND c.state = 'open' AND NOT c.locked AND c.open_attempt_id IS NULL
      AND NOT dnc_listed(r.number, cp.client_id)
    ORDER BY c.id
    FOR UPDATE OF c
    RETURNING id, contact_id, dt_call_start
), upd AS (
    UPDATE contacts c
    SET open_attempt_id = ins.id, dt_last_try = ins.dt_call_start,
        lease_until = now() + make_interval(secs => $6), updated_at = now()
    FROM ins WHERE c.id = ins.contact_id
)
SELECT id, contact_id, dt_call_start FROM ins

-- name: stop_dnc_contacts
-- Contacts claimed by instance $4 whose every number left is on a do-not-call list ($1 ids,
-- $2 the number that would have been dialled, $3 its 1-based offset): a closed history row
-- each, CONNRES 0 with the detail $5, and the contact finished and released; nothing dialled.
WITH r AS (
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[]) AS r(contact_id, number, slot)
), ins AS (
    INSERT INTO contact_history (contact_id, campaign_id, client_id, user_data, phone_number,
                                 phone_number_offset, b_number, instance_id, status,
                                 dt_call_end, connres, detail)
    SELECT c.id, c.campaign_id, cp.client_id, c.user_data, r.number, r.slot, r.number, $4,
           'closed', now(), 0, $5
    FROM r
    JOIN contacts c ON c.id = r.contact_id
    JOIN campaigns cp ON cp.id = c.campaign_id
    WHERE c.claimed_by = $4 AND c.state = 'open' AND c.open_attempt_id IS NULL
    ORDER BY c.id
    FOR UPDATE OF c
    RETURNING contact_id, dt_call_end
)
UPDATE contacts c
SET state = 'finished', last_connres = 0, last_cause = NULL, dt_last_try = ins.dt_call_end,
    claimed_by = NULL, lease_until = NULL, updated_at = now()
FROM ins WHERE c.id = ins.contact_id

-- name: mark_dialing
-- Attempts whose Originate Asterisk acknowledged.
UPDATE contact_history SET status = 'dialing' WHERE id = ANY($1::bigint[]) AND status = 'pending'

-- name: contacts_for_close
-- The dialer state of contacts whose attempts are being closed, locked for the update.
SELECT c.id, c.phone_numbers, c.number_tries, c.number_last_cause, c.number_end_reason,
       c.number_invalid, c.state, c.attempts, c.max_attempts, c.min_call_interval_h,
       coalesce(c.dt_next_try = 'infinity', false) AS never_due,
       c.open_attempt_id, cp.retry_minutes
FROM contacts c JOIN campaigns cp ON cp.id = c.campaign_id
WHERE c.id = ANY($1::bigint[])
ORDER BY c.id
FOR UPDATE OF c

-- name: close_attempt
-- Completes an attempt's history row (once). UsersID: the agent user whose phone the agent
-- interface $9 is, if any.
UPDATE contact_history
SET status = 'closed', dt_call_alert = $2, dt_call_connect = $3, dt_agent_connect = $4,
    dt_call_end = $5, connres = $6, cause_code = $7, caller_hangup = $8, agent = $9,
    users_id = (SELECT u.id FROM users u
                WHERE u.endpoint = $9 AND u.role = 'agent' AND u.client_id = contact_history.client_id),
    abandoned = $10, machine = $11, detail = $12, channel = coalesce($13, channel)
WHERE id = $1 AND status <> 'closed'

-- name: update_contact_after_attempt
-- Moves a contact on after its attempt $12 (see dialerd/dialer/rules.py) and releases it; $14:
-- its callback, if it had one, was made; $15: its abandon after-care's end, if one began.
UPDATE contacts
SET number_tries = $2, number_last_cause = $3, number_end_reason = $4, number_invalid = $5,
    next_number = $6, state = $7, attempts = $8, dt_next_try = $9, last_connres = $10,
    last_cause = $11, last_result_mailbox = $13, open_attempt_id = NULL, claimed_by = NULL,
    lease_until = NULL, updated_at = now(),
    callback_at = CASE WHEN $14 THEN NULL ELSE callback_at END,
    callback_user_id = CASE WHEN $14 THEN NULL ELSE callback_user_id END,
    after_care_until = greatest(after_care_until, $15)
WHERE id = $1 AND open_attempt_id = $12

-- name: renew_leases
-- Keeps the leases of instance $1's contacts alive: those with a call in progress (its open
-- attempts, contact_history_open) and those held for one of its preview offers. Found
-- without an index on contacts' claimed_by or open_attempt_id, which would make every
-- claim, attempt start and renewal a non-HOT update (migration 0024).
UPDATE contacts c SET lease_until = now() + make_interval(secs => $2)
WHERE c.claimed_by = $1
  AND c.id IN (SELECT h.contact_id FROM contact_history h
               WHERE h.instance_id = $1 AND h.status <> 'closed'
               UNION ALL
               SELECT o.contact_id FROM preview_offers o WHERE o.instance_id = $1)

-- name: hold_campaigns
-- The campaigns of $4 (ids) that instance $1 paces on PBX $2 for the next $3 seconds: its own
-- leases renewed, free ones and lapsed ones (their engine died) taken; those another live
-- engine of that PBX holds are left to it. Two engines racing for one campaign meet on its
-- row, and the second sees the first's lease (migration 0026).
INSERT INTO campaign_pacers AS p (campaign_id, pbx, instance_id, lease_until)
SELECT cp.id, $2, $1, now() + make_interval(secs => $3)
FROM campaigns cp WHERE cp.id = ANY($4::integer[])
ON CONFLICT (campaign_id, pbx) DO UPDATE
SET instance_id = excluded.instance_id, lease_until = excluded.lease_until
WHERE p.instance_id = excluded.instance_id OR p.lease_until < now()
RETURNING p.campaign_id

-- name: release_campaigns
-- Instance $1 stops: the campaigns it paced go to the next engine at once, not after the lease.
DELETE FROM campaign_pacers WHERE instance_id = $1

-- name: take_over_open_attempts
-- Attempts left open by this instance ($1) or by one of its PBX ($3) whose lease expired (it
-- crashed): takes over their contacts' leases and returns them for reconciliation with
-- Asterisk. Another PBX's are left to an engine of that PBX, whose channels can tell. The
-- open attempts are found in the history (contact_history_open), whose contact's open
-- attempt each is (migration 0024).
WITH c AS (
    UPDATE contacts c
    SET claimed_by = $1, lease_until = now() + make_interval(secs => $2)
    WHERE c.id IN (
        SELECT d.id FROM contact_history o
        JOIN contacts d ON d.id = o.contact_id AND d.open_attempt_id = o.id
        WHERE o.status <> 'closed'
          AND (d.claimed_by = $1
               OR ((d.claimed_by IS NULL OR d.lease_until < now())
                   AND (o.pbx IS NULL OR o.pbx = $3)))
        FOR UPDATE OF d SKIP LOCKED)
    RETURNING c.id, c.open_attempt_id
)
UPDATE contact_history h SET instance_id = $1
FROM c
WHERE h.id = c.open_attempt_id AND h.status <> 'closed'
RETURNING h.id, h.contact_id, h.campaign_id, h.phone_number_offset, h.status, h.dt_call_start

-- name: abandon_counts
-- Live answers and abandoned calls per campaign since $1 (the pacing window) and since the
-- campaign's local midnight: CallStats.restore at start-up. The reports' definition
-- (abandons, migration 0012).
SELECT cp.id AS campaign_id,
       w.answered AS answered_window, w.abandoned AS abandoned_window,
       t.answered AS answered_today, t.abandoned AS abandoned_today
FROM campaigns cp
CROSS JOIN LATERAL abandons(cp.id, $1, 'infinity') w
CROSS JOIN LATERAL abandons(
    cp.id,
    greatest($1, date_trunc('day', now() AT TIME ZONE cp.timezone) AT TIME ZONE cp.timezone),
    'infinity') t

-- name: insert_demo_call_tasks
-- A few call tasks for the demo campaign $1 ($2 names, $3 numbers), only while it has none.
INSERT INTO contacts (campaign_id, name, phone_numbers, number_tries, number_last_cause,
                      number_end_reason, number_invalid, max_attempts, min_call_interval_h)
SELECT c.id, t.name, ARRAY[t.number], f.tries, f.last_cause, f.end_reason, f.invalid,
       c.max_attempts, c.min_call_interval_h
FROM campaigns c, unnest($2::text[], $3::text[]) AS t(name, number),
     fresh_number_state(ARRAY[t.number]) AS f
WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = $1)
FOR KEY SHARE OF c  -- what a foreign-key check would lock (migration 0005)
