-- Do-not-call lists (docs/compliance.md): a client's own, and the installation's (client_id
-- NULL), which every client's calls obey. A number on either is never dialled: the claim marks
-- its slots (dnc_slots) and the attempt's start refuses it (dnc_listed), right before the
-- Originate.
CREATE TABLE dnc_numbers (
    client_id integer CHECK (client_id >= 0),     -- NULL: the installation's list
    -- E.164, normalised by dialerd (a regular expression here would double a load's time);
    -- "C": a prefix search walks the index.
    number text COLLATE "C" NOT NULL CHECK (number LIKE '+%'),
    source text NOT NULL CHECK (source <> ''),    -- api, console, cli, or "file <name>"
    added_at timestamptz NOT NULL DEFAULT now()
);
-- One row per list and number; the lookups and the list's pages in number order. A list is
-- addressed as coalesce(client_id, -1) (no client's ID is negative), so that one index serves
-- the installation's list as a client's.
CREATE UNIQUE INDEX dnc_numbers_key ON dnc_numbers ((coalesce(client_id, -1)), number);

-- Whether number n is on client's list or on the installation's.
CREATE FUNCTION dnc_listed(n text, client integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM dnc_numbers d
                   WHERE coalesce(d.client_id, -1) IN (client, -1) AND d.number = n)
$$;

-- For each of a contact's numbers (phone_numbers), whether it is on a list of client's.
CREATE FUNCTION dnc_slots(numbers text[], client integer) RETURNS boolean[]
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT array_agg(n IS NOT NULL AND dnc_listed(n, client) ORDER BY i)
    FROM unnest(numbers) WITH ORDINALITY AS u(n, i)
$$;
