-- The console's call task search (dialerd/contacts/search.py): one predicate shared by the
-- search pages, the counts and the actions on everything a search matches, and the indexes
-- that keep every page of a million-contact campaign under 200 ms (bench/contact_search.py).

-- Does contact c match a search? A null argument is no condition. The planner inlines this
-- (a single expression, STABLE, no subquery), so with the arguments known each condition
-- either folds away or becomes an index condition. name_like: a LIKE pattern matched
-- against the lower-cased name; ids: the contacts with the number searched for (the store
-- finds them first with contacts_phone_numbers: the planner cannot estimate how few an
-- array containment matches, guesses 0.5%, and would walk a whole campaign in sort order
-- rather than sort the few); customer: UserData or
-- extCustId; state: open (not locked), locked, done, finished, due (what the dialer may
-- claim now, the campaign and its call window aside); connres: the last attempt's; the next
-- try in [next_from, next_to), a contact without one counting as due since ever.
CREATE FUNCTION contact_matches(
    c contacts, name_like text, ids bigint[], customer text, state text, connres integer,
    next_from timestamptz, next_to timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT (name_like IS NULL OR lower(c.name) COLLATE "C" LIKE lower(name_like))
       AND (ids IS NULL OR c.id = ANY(ids))
       AND (customer IS NULL OR c.user_data = customer OR c.ext_cust_id = customer)
       AND (state IS DISTINCT FROM 'open' OR (c.state = 'open' AND NOT c.locked))
       AND (state IS DISTINCT FROM 'locked' OR c.locked)
       AND (state IS DISTINCT FROM 'done' OR c.state = 'done')
       AND (state IS DISTINCT FROM 'finished' OR c.state = 'finished')
       AND (state IS DISTINCT FROM 'due' OR (
            c.state = 'open' AND NOT c.locked AND c.open_attempt_id IS NULL
            AND coalesce(c.dt_next_try, '-infinity') <= now()
            AND c.attempts < c.max_attempts
            -- a number left to dial (the claim's condition), without a subquery: some slot
            -- not marked invalid is not an empty one
            AND NOT array_positions(c.number_invalid, false) <@ array_positions(c.phone_numbers, NULL)))
       AND (connres IS NULL OR c.last_connres = connres)
       AND (next_from IS NULL OR coalesce(c.dt_next_try, '-infinity') >= next_from)
       AND (next_to IS NULL OR coalesce(c.dt_next_try, '-infinity') < next_to)
$$;

-- Sort by name (lower-cased, byte order: the LIKE prefix above can use it) and by next try;
-- by id is contacts_campaign.
CREATE INDEX contacts_campaign_name ON contacts (campaign_id, (lower(name) COLLATE "C"), id);
CREATE INDEX contacts_campaign_next_try
    ON contacts (campaign_id, coalesce(dt_next_try, '-infinity'), id);
-- The same order for the contacts done, and for those finished (a fifth of a campaign that
-- has been dialled for a while): a search of them by next try walks these, not every open
-- contact in between. Imports write nothing to it (a new contact is open).
CREATE INDEX contacts_closed_next_try
    ON contacts (campaign_id, state, coalesce(dt_next_try, '-infinity'), id)
    WHERE state <> 'open';
-- A number in any slot; UserData has contacts_user_data.
CREATE INDEX contacts_phone_numbers ON contacts USING gin (phone_numbers);
CREATE INDEX contacts_ext_cust_id ON contacts (ext_cust_id) WHERE ext_cust_id IS NOT NULL;
-- A last CONNRES, by next try (the sort it cannot otherwise follow: the contacts never called,
-- with no next try, come first and have none), and the states few contacts have (locked),
-- with the extended statistics that tell the planner how few: without them it multiplies
-- the fractions of state and last CONNRES as if unrelated, and may walk a whole campaign
-- looking for 50 contacts that are not there. Only contacts called at least once are in the
-- first, so an import writes nothing to it; and no index of the open contacts leads with
-- campaign and state: with the statistics of a bulk import not yet taken, the calltask
-- import's key probe (calltask_open_ids) took one and scanned every open contact per key.
CREATE INDEX contacts_campaign_outcome
    ON contacts (campaign_id, last_connres, coalesce(dt_next_try, '-infinity'), id)
    WHERE last_connres IS NOT NULL;
CREATE INDEX contacts_locked ON contacts (campaign_id) WHERE locked;
CREATE STATISTICS contacts_search_stats (mcv) ON state, locked, last_connres FROM contacts;
