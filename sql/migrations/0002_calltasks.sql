-- The calltask API re-imports an open call task in place. Where the number at a position stays
-- the same, that number's dialing state (tries, last cause, …) stays too; a new number at a
-- position starts fresh. Used once per state array by calltask_upsert.
CREATE FUNCTION number_state_kept(
    old_numbers text[], new_numbers text[], old_state anycompatiblearray, fresh anycompatible
) RETURNS anycompatiblearray
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN old_numbers = new_numbers THEN old_state  -- a plain re-send: no per-number work
    ELSE ARRAY(
        SELECT CASE WHEN old_numbers[i] = new_numbers[i] THEN old_state[i] ELSE fresh END
        FROM generate_subscripts(new_numbers, 1) AS i
        ORDER BY i)
    END
$$;

-- An async import's request and result as json, not jsonb: the poll answers the very text the
-- synchronous call would have (keys in their order), and a request with \u0000 in a string,
-- which jsonb rejects, is stored and then answered per task like the synchronous call does.
ALTER TABLE import_jobs
    ALTER COLUMN request TYPE json USING request::json,
    ALTER COLUMN result TYPE json USING result::json;
