-- Result codes and callbacks (docs/result-codes.md): what an agent records of a call, what
-- that does to the contact, and the one definition of a contact the dialer may claim now.

-- A campaign's result codes; the id is the contacts API's DiallerCampaignsResultCodesID and
-- type_id a dialerd.domain.ResultCodeType (DiallerResultCodesTypesID). Only a retry code has
-- minutes. A code some attempt was recorded with cannot be deleted (the foreign key of
-- contact_history below): it is deactivated instead, and history keeps its name.
CREATE TABLE campaign_result_codes (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id    integer NOT NULL REFERENCES campaigns (id),
    name           text NOT NULL CHECK (name <> ''),
    type_id        integer NOT NULL CHECK (type_id BETWEEN 1 AND 6),
    retry_minutes  integer CHECK (retry_minutes BETWEEN 1 AND 525600),
    position       integer NOT NULL DEFAULT 0,   -- the order agents are offered the codes in
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, name),
    CHECK ((type_id = 3) = (retry_minutes IS NOT NULL))
);

-- The history row's result code is null when the row is written (one row per call): the
-- key's check looks nothing up for the dialer. The partial index serves the delete's check.
ALTER TABLE contact_history
    ADD FOREIGN KEY (result_code_id) REFERENCES campaign_result_codes (id);
CREATE INDEX contact_history_result_code ON contact_history (result_code_id)
    WHERE result_code_id IS NOT NULL;

-- An agent whose callback it is may be away: after this many seconds past its time, the
-- dialer gives it to anyone.
ALTER TABLE campaigns
    ADD COLUMN callback_grace_s integer NOT NULL DEFAULT 300
        CHECK (callback_grace_s BETWEEN 0 AND 86400);

-- The contact's recorded result (a reset deletes it; its attempt's history row keeps it) and
-- its callback: at callback_at (also its dt_next_try), by the agent callback_user_id (users.id)
-- or by anyone (null). No foreign keys, as for the contact's other parents (migration 0005):
-- the result code is also its last attempt's, which has the key.
ALTER TABLE contacts
    ADD COLUMN result_code_id integer,
    ADD COLUMN callback_at timestamptz,
    ADD COLUMN callback_user_id integer,
    ADD CHECK (callback_user_id IS NULL OR callback_at IS NOT NULL);

-- The callbacks the claim takes first, in time order; few rows, so an import writes nothing
-- to it.
CREATE INDEX contacts_callbacks ON contacts (campaign_id, dt_next_try, id)
    WHERE callback_at IS NOT NULL AND state = 'open' AND NOT locked;

-- May the dialer claim contact d now (its campaign's pause and call window aside)? Open, not
-- locked, no attempt in progress, not leased by a live instance, its next try passed, a try
-- left or a callback promised (a promised callback is made even when the tries are used up),
-- a valid number left; one agent's callback only callback_grace_s after its time (until then
-- it is that agent's, next_callback_for_agent). The claim, the wallboard's hopper and the
-- search's "due" all ask this. A single expression without a subquery, so the planner inlines
-- it: the claim still walks contacts_due, and the search's next try is an index condition on
-- contacts_campaign_next_try.
CREATE FUNCTION contact_due(d contacts, callback_grace_s integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT d.state = 'open' AND NOT d.locked AND d.open_attempt_id IS NULL
       AND (d.claimed_by IS NULL OR d.lease_until < now())
       AND coalesce(d.dt_next_try, '-infinity') <= now()
       AND (d.attempts < d.max_attempts OR d.callback_at IS NOT NULL)
       AND (d.callback_user_id IS NULL
            OR d.callback_at + make_interval(secs => callback_grace_s) <= now())
       -- some slot not marked invalid is not an empty one
       AND NOT array_positions(d.number_invalid, false) <@ array_positions(d.phone_numbers, NULL)
$$;

-- The search's "due" is now contact_due, which needs the campaign's grace: one argument more.
DROP FUNCTION contact_matches(contacts, text, bigint[], text, text, integer, timestamptz,
                              timestamptz);
CREATE FUNCTION contact_matches(
    c contacts, name_like text, ids bigint[], customer text, state text, connres integer,
    next_from timestamptz, next_to timestamptz, callback_grace_s integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (name_like IS NULL OR lower(c.name) COLLATE "C" LIKE lower(name_like))
       AND (ids IS NULL OR c.id = ANY(ids))
       AND (customer IS NULL OR c.user_data = customer OR c.ext_cust_id = customer)
       AND (state IS DISTINCT FROM 'open' OR (c.state = 'open' AND NOT c.locked))
       AND (state IS DISTINCT FROM 'locked' OR c.locked)
       AND (state IS DISTINCT FROM 'done' OR c.state = 'done')
       AND (state IS DISTINCT FROM 'finished' OR c.state = 'finished')
       AND (state IS DISTINCT FROM 'due' OR contact_due(c, callback_grace_s))
       AND (connres IS NULL OR c.last_connres = connres)
       AND (next_from IS NULL OR coalesce(c.dt_next_try, '-infinity') >= next_from)
       AND (next_to IS NULL OR coalesce(c.dt_next_try, '-infinity') < next_to)
$$;
