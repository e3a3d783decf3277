-- An agent's transfer of its call from the workspace (docs/workspace.md): an agent_commands
-- row of kind 'transfer', with where to (a number or a queue) and which call.
ALTER TABLE agent_commands DROP CONSTRAINT agent_commands_action_check;
ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_action_check CHECK (action IN (
    'pause', 'sign_out', 'listen', 'whisper', 'barge', 'sign_in', 'ready', 'hangup',
    'call', 'skip', 'transfer'));

-- 'number': transfer_target is an E.164 number, dialled through the call's campaign's dial
-- string; 'queue': the name of a queue of one of the client's campaigns.
ALTER TABLE agent_commands ADD COLUMN transfer_kind text
    CHECK (transfer_kind IN ('number', 'queue'));
ALTER TABLE agent_commands ADD COLUMN transfer_target text;
-- The attempt the agent is on: the engine transfers that call, never a later one.
ALTER TABLE agent_commands ADD COLUMN transfer_attempt_id bigint;
ALTER TABLE agent_commands ADD CONSTRAINT agent_commands_transfer_check CHECK (
    CASE WHEN action = 'transfer'
         THEN transfer_kind IS NOT NULL AND coalesce(transfer_target, '') <> ''
              AND transfer_attempt_id IS NOT NULL
         ELSE transfer_kind IS NULL AND transfer_target IS NULL AND transfer_attempt_id IS NULL
    END);
