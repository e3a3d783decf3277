-- The agent's workspace. Agents are console users with the role 'agent', each tied to its
-- phone (the queue member interface the engine and history use, e.g. PJSIP/agent1) and to the
-- campaigns whose queues it works. What an agent does there (signed in and ready, paused with
-- a reason, in after-call work, signed out) is kept with its times; pause reasons are each
-- client's list; a calling system may link into its CRM; a campaign limits after-call work.

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'supervisor', 'viewer', 'agent'));
ALTER TABLE users ADD COLUMN endpoint text;  -- an agent's phone as queue member interface
ALTER TABLE users ADD CONSTRAINT users_agent_endpoint CHECK ((role = 'agent') = (endpoint IS NOT NULL));
-- One phone, one agent: history's agent column names the phone, UsersID the agent behind it.
CREATE UNIQUE INDEX users_endpoint ON users (endpoint) WHERE endpoint IS NOT NULL;

CREATE TABLE agent_campaigns (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    campaign_id integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, campaign_id)
);

-- One row per period in a state; the open one (ended_at NULL) is the agent's state now. No
-- row yet: signed out.
CREATE TABLE agent_states (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id integer NOT NULL,
    state text NOT NULL CHECK (state IN ('ready', 'paused', 'after_call', 'out')),
    reason text NOT NULL DEFAULT '',      -- a pause's reason, as given to QueuePause
    campaign_id integer,                  -- after-call work: the call's campaign (its limit)
    attempt_id bigint,                    -- after-call work: the call
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz
);
CREATE UNIQUE INDEX agent_states_open ON agent_states (user_id) WHERE ended_at IS NULL;
CREATE INDEX agent_states_user ON agent_states (user_id, started_at);
CREATE INDEX agent_states_after_call ON agent_states (started_at)
    WHERE ended_at IS NULL AND state = 'after_call';

CREATE TABLE pause_reasons (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id integer NOT NULL,
    reason text NOT NULL
);
CREATE UNIQUE INDEX pause_reasons_client ON pause_reasons (client_id, lower(reason));

-- e.g. https://crm.example/customer?id={systemLookupCode}; values are URL-encoded when filled.
ALTER TABLE calling_systems ADD COLUMN crm_url_template text;

-- After-call work ends by itself after this many seconds (the agent is ready again).
ALTER TABLE campaigns ADD COLUMN wrapup_limit_s integer NOT NULL DEFAULT 60
    CHECK (wrapup_limit_s BETWEEN 1 AND 3600);

-- The workspace's actions go the supervisors' way: to the engine that sees the agent.
ALTER TABLE agent_commands DROP CONSTRAINT agent_commands_action_check;
ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_action_check CHECK (action IN (
    'pause', 'sign_out', 'listen', 'whisper', 'barge', 'sign_in', 'ready', 'hangup'));
ALTER TABLE agent_commands ADD COLUMN member_name text NOT NULL DEFAULT '';  -- QueueAdd's
