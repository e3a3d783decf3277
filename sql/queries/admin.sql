-- name: insert_token
-- Stores a new API token's hash for a client, with its name and expiry (NULL: never).
INSERT INTO api_tokens (client_id, token_hash, name, expires_at) VALUES ($1, $2, $3, $4)
RETURNING id

-- name: client_for_token
-- The client of a valid token (not revoked, not expired), read from the table on every request
-- so that a revoke on any node counts at once; its last use is written only when the one
-- recorded is a minute old or more, so a busy token costs one write a minute, not one a request.
WITH valid AS (
    SELECT id, client_id, last_used_at FROM api_tokens
    WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
), used AS (
    UPDATE api_tokens t SET last_used_at = now()
    FROM valid
    WHERE t.id = valid.id
      AND (valid.last_used_at IS NULL OR valid.last_used_at <= now() - interval '1 minute')
    RETURNING t.id
)
SELECT client_id FROM valid

-- name: insert_calling_system
-- Registers a calling system (the calltask API's systemCode); nothing if it exists.
INSERT INTO calling_systems (code) VALUES ($1) ON CONFLICT (code) DO NOTHING

-- name: upsert_info_field
-- Defines (or renames) an info field that call task properties may set (emprId).
INSERT INTO info_fields (id, name) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name

-- name: insert_demo_campaign
-- The demo campaign of the README's run command (id 123 = the calltask spec's callCode), on the
-- lab's agent queue (scripts/lab.sh). A demo database from an earlier run gets the PBX settings
-- back, so that a re-run dials too.
WITH ins AS (
    INSERT INTO campaigns (id, name, queue, dial_string, caller_id, window_start, window_end,
                           window_days, min_call_interval_h, amd_enabled)
    VALUES (123, 'Demo', 'lab-agents', 'PJSIP/{number}@farend', '"dialerd" <4700000000>',
            '00:00', '23:59:59', '{1,2,3,4,5,6,7}', 0, true)
    ON CONFLICT (id) DO UPDATE
        SET queue = EXCLUDED.queue, dial_string = EXCLUDED.dial_string,
            window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,
            window_days = EXCLUDED.window_days, amd_enabled = EXCLUDED.amd_enabled,
            min_call_interval_h = EXCLUDED.min_call_interval_h, active = true, updated_at = now()
        WHERE campaigns.name = 'Demo'
    RETURNING id
)
SELECT setval(pg_get_serial_sequence('campaigns', 'id'),
              greatest((SELECT max(id) FROM campaigns), (SELECT max(id) FROM ins), 123))

-- name: tokens_of_client
-- A client's API tokens (NULL: every client's), newest first (never the token: only its hash is stored); expired:
-- its expiry has passed.
SELECT id, client_id, name, created_at, expires_at, last_used_at, revoked_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
FROM api_tokens WHERE $1::integer IS NULL OR client_id = $1 ORDER BY id DESC

-- name: revoke_token
-- Revokes a live token of a client (NULL: of any client, the operator's command).
UPDATE api_tokens SET revoked_at = now()
WHERE ($1::integer IS NULL OR client_id = $1) AND id = $2 AND revoked_at IS NULL
RETURNING id

-- name: calling_systems
-- Every calling system (shared by all clients, as the calltask API's systemCode is), with its
-- CRM link template.
SELECT code, created_at, crm_url_template FROM calling_systems ORDER BY code

-- name: set_crm_url_template
-- A calling system's CRM link template (NULL: none).
UPDATE calling_systems SET crm_url_template = $2 WHERE code = $1 RETURNING code

-- name: info_fields
-- Every info field (shared by all clients, as the calltask API's emprId is).
SELECT id, name FROM info_fields ORDER BY id
