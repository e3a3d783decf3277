-- name: insert_token
-- Stores a new API token's hash for a client.
INSERT INTO api_tokens (client_id, token_hash) VALUES ($1, $2)

-- name: client_for_token
-- The client of a valid (not revoked) token.
SELECT client_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL

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
-- A client's API tokens, newest first (never the token: only its hash is stored).
SELECT id, created_at, revoked_at FROM api_tokens WHERE client_id = $1 ORDER BY id DESC

-- name: revoke_token
-- Revokes a live token of a client.
UPDATE api_tokens SET revoked_at = now()
WHERE client_id = $1 AND id = $2 AND revoked_at IS NULL
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
