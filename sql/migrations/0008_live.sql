-- Supervisors' actions on an agent (force pause, sign out, listen / whisper / barge) from any
-- dialerd's wallboard: a row for the engine that sees the agent, which a NOTIFY wakes; it
-- carries the action out through its AMI connection and records how it went.

CREATE TABLE agent_commands (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id text NOT NULL,            -- the engine whose live view shows the agent
    client_id integer NOT NULL,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL CHECK (action IN ('pause', 'sign_out', 'listen', 'whisper', 'barge')),
    queue text NOT NULL,
    agent text NOT NULL,                  -- the queue member's interface
    reason text NOT NULL DEFAULT '',      -- a pause's reason
    phone text NOT NULL DEFAULT '',       -- the supervisor's phone, as a dial string
    created_at timestamptz NOT NULL DEFAULT now(),
    taken_at timestamptz,
    done_at timestamptz,
    error text                            -- NULL once done: it worked
);
CREATE INDEX agent_commands_waiting ON agent_commands (instance_id, id) WHERE taken_at IS NULL;
