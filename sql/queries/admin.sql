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
