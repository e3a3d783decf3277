-- The operator console: users of a client (as API tokens are), their server-side sessions,
-- sign-in throttling, the audit log of console actions; and what every engine publishes of
-- its live state, so that any dialerd's console shows the truth of all of them.

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id integer NOT NULL,
    login text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('admin', 'supervisor', 'viewer')),
    password_hash text NOT NULL,          -- argon2id, in its PHC string form
    disabled boolean NOT NULL DEFAULT false,
    phone text,                           -- the supervisor's own SIP phone (listen/whisper/barge)
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One sign-in name for the whole installation: the sign-in page has no client field.
CREATE UNIQUE INDEX users_login ON users (lower(login));

CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,         -- sha256 of the cookie's value; the value is not stored
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    address text,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- Failed sign-ins per account ('login:<name>') and per address ('address:<ip>'): the next try
-- waits longer the more there were; a success clears the account's row.
CREATE TABLE sign_in_failures (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_at timestamptz NOT NULL
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    client_id integer NOT NULL,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    login text NOT NULL,                  -- kept: the user may be deleted later
    action text NOT NULL,                 -- e.g. 'campaign.pause', 'contact.reset', 'import.start'
    target text NOT NULL DEFAULT '',      -- e.g. 'campaign 123'
    detail jsonb NOT NULL DEFAULT '{}',
    address text
);
CREATE INDEX audit_log_client_at ON audit_log (client_id, at DESC, id DESC);

-- Each engine's live view (agents, calls in flight, pacer figures, PBX state), replaced every
-- time it changes; a view not updated for a while belongs to a process that is gone.
CREATE TABLE live_views (
    instance_id text PRIMARY KEY,
    updated_at timestamptz NOT NULL,
    view jsonb NOT NULL
);

-- Seconds each agent spent in each state, per campaign and minute, as an engine saw them: the
-- reports' wrap-up and occupancy, the campaign list's agent-hours, the wallboard's chart.
CREATE TABLE agent_minutes (
    minute timestamptz NOT NULL,
    instance_id text NOT NULL,
    campaign_id integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    agent text NOT NULL,                  -- the queue member's interface, as history's agent
    talk_s real NOT NULL DEFAULT 0,
    wrapup_s real NOT NULL DEFAULT 0,
    ready_s real NOT NULL DEFAULT 0,
    paused_s real NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, minute, agent, instance_id)
);
