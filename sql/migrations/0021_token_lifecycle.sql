-- API tokens get a name (what system uses it), an optional expiry and the time they were last
-- used. last_used_at is written at most once a minute per token (admin.sql's
-- client_for_token), not on every request.
ALTER TABLE api_tokens ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;
