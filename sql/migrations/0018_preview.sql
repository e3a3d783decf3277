-- Preview dialling: a campaign mode in which the dialer reserves the next due contact for a
-- ready agent, who sees it and calls or skips it; an agent's own callbacks are offered to it
-- the same way; a manual call from the workspace is a contact of the campaign it is made in.

ALTER TABLE campaigns DROP CONSTRAINT campaigns_dial_mode_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_dial_mode_check
    CHECK (dial_mode IN ('progressive', 'ratio', 'predictive', 'preview'));

-- One offer per agent at most, one agent per contact. The contact is claimed by the engine
-- that made the offer (claimed_by = instance_id, its lease renewed like every claim): an offer
-- whose contact's claim is another's or expired is gone (the engine deletes it).
CREATE TABLE preview_offers (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    client_id integer NOT NULL,
    contact_id bigint NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    slot integer NOT NULL CHECK (slot BETWEEN 0 AND 5),  -- 0-based, the number offered
    number text NOT NULL,
    instance_id text NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT now(),
    attempt_id bigint,            -- set once the agent pressed Call: its attempt
    callback boolean NOT NULL,    -- the agent's own callback
    manual boolean NOT NULL       -- a manual call: a contact made for it
);

ALTER TABLE agent_commands DROP CONSTRAINT agent_commands_action_check;
ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_action_check CHECK (action IN (
    'pause', 'sign_out', 'listen', 'whisper', 'barge', 'sign_in', 'ready', 'hangup', 'call'));
