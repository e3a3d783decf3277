-- name: insert_user
-- A new console user; the login is unique regardless of case (users_login).
INSERT INTO users (
    client_id, login, display_name, role, password_hash, phone, endpoint, installation_admin
)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, client_id, login, display_name, role, disabled, phone, endpoint, installation_admin

-- name: user_by_login
-- A user and its password hash, by sign-in name (any case).
SELECT id, client_id, login, display_name, role, disabled, phone, endpoint, installation_admin,
    password_hash
FROM users WHERE lower(login) = lower($1)

-- name: users_of_client
-- A client's users, by login.
SELECT id, client_id, login, display_name, role, disabled, phone, endpoint, installation_admin
FROM users WHERE client_id = $1 ORDER BY lower(login)

-- name: set_password
-- A new password hash; every session of the user ends with it. The login's client, if given
-- ($3), must match.
WITH changed AS (
    UPDATE users SET password_hash = $2, updated_at = now()
    WHERE lower(login) = lower($1) AND ($3::integer IS NULL OR client_id = $3)
    RETURNING id
), ended AS (
    DELETE FROM console_sessions WHERE user_id IN (SELECT id FROM changed)
)
SELECT id FROM changed

-- name: set_disabled
-- Disables (ending every session) or enables a user. The login's client, if given ($3), must
-- match.
WITH changed AS (
    UPDATE users SET disabled = $2, updated_at = now()
    WHERE lower(login) = lower($1) AND ($3::integer IS NULL OR client_id = $3)
    RETURNING id
), ended AS (
    DELETE FROM console_sessions WHERE $2 AND user_id IN (SELECT id FROM changed)
)
SELECT id FROM changed

-- name: set_installation_admin
-- Grants ($2 true) or revokes an admin's installation admin; a user of another role is not
-- changed (the CHECK users_installation_admin). Its role, or nothing when there is no such user.
WITH found AS (
    SELECT id, role FROM users WHERE lower(login) = lower($1)
), changed AS (
    UPDATE users SET installation_admin = $2, updated_at = now()
    WHERE id IN (SELECT id FROM found WHERE role = 'admin')
)
SELECT role FROM found

-- name: rehash_password
-- Stores a hash made with newer argon2 parameters after a successful sign-in.
UPDATE users SET password_hash = $2 WHERE id = $1

-- name: insert_session
-- A new session of a user.
INSERT INTO console_sessions (token_hash, user_id, csrf_token, address, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))

-- name: session_user
-- The user and CSRF token of a live session, sliding its expiry (idle timeout $2 seconds); a
-- disabled user has no session.
UPDATE console_sessions s
SET seen_at = now(), expires_at = now() + make_interval(secs => $2)
FROM users u
WHERE s.token_hash = $1 AND s.expires_at > now() AND u.id = s.user_id AND NOT u.disabled
RETURNING u.id, u.client_id, u.login, u.display_name, u.role, u.disabled, u.phone, u.endpoint,
    u.installation_admin, s.csrf_token

-- name: delete_session
-- Signs a session out.
DELETE FROM console_sessions WHERE token_hash = $1

-- name: delete_expired_sessions
-- Sessions past their expiry.
DELETE FROM console_sessions WHERE expires_at <= now()

-- name: sign_in_failures
-- The failed sign-ins recorded under each key ($1: text[]) and seconds since the last one.
SELECT key, failures, extract(epoch FROM now() - last_failure_at)::float8 AS since_s
FROM sign_in_failures WHERE key = ANY($1)

-- name: record_sign_in_failure
-- One more failed sign-in under each key; a count older than $2 seconds starts again.
INSERT INTO sign_in_failures (key, failures, last_failure_at)
SELECT k, 1, now() FROM unnest($1::text[]) AS k
ON CONFLICT (key) DO UPDATE
SET failures = CASE
        WHEN sign_in_failures.last_failure_at < now() - make_interval(secs => $2) THEN 1
        ELSE sign_in_failures.failures + 1
    END,
    last_failure_at = now()

-- name: clear_sign_in_failures
-- A successful sign-in clears its account's count (not its address's).
DELETE FROM sign_in_failures WHERE key = $1

-- name: insert_audit
-- One console action, with who did it from where.
INSERT INTO audit_log (client_id, user_id, login, action, target, detail, address)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)

-- name: audit_page
-- A client's audit log, newest first, in pages before a (at, id) cursor.
SELECT id, at, login, action, target, detail, address
FROM audit_log
WHERE client_id = $1 AND ($2::timestamptz IS NULL OR (at, id) < ($2, $3))
ORDER BY at DESC, id DESC
LIMIT $4

-- name: set_agent_campaigns
-- The campaigns agent $1 works: exactly those of $3 (int[]) that are its client's ($2).
WITH gone AS (
    DELETE FROM agent_campaigns WHERE user_id = $1 AND NOT campaign_id = ANY($3::integer[])
)
INSERT INTO agent_campaigns (user_id, campaign_id)
SELECT $1, c.id FROM campaigns c WHERE c.client_id = $2 AND c.id = ANY($3::integer[])
ON CONFLICT DO NOTHING

-- name: agent_campaigns_of_client
-- Each agent of client $1 and the campaigns it works.
SELECT ac.user_id, array_agg(ac.campaign_id ORDER BY ac.campaign_id) AS campaign_ids
FROM agent_campaigns ac JOIN users u ON u.id = ac.user_id
WHERE u.client_id = $1
GROUP BY ac.user_id

-- name: client_campaign_ids
-- Which of the ids $2 (int[]) are campaigns of client $1.
SELECT id FROM campaigns WHERE client_id = $1 AND id = ANY($2::integer[])
