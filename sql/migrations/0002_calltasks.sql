-- The calltask API re-imports an open call task in place. Where the number at a position stays
-- the same, that number's dialing state (tries, last cause, …) stays too; a new number at a
-- position starts fresh. Used once per state array by calltask_upsert.
CREATE FUNCTION number_state_kept(
    old_numbers text[], new_numbers text[], old_state anycompatiblearray, fresh anycompatible
) RETURNS anycompatiblearray
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY(
        SELECT CASE WHEN old_numbers[i] = new_numbers[i] THEN old_state[i] ELSE fresh END
        FROM generate_subscripts(new_numbers, 1) AS i
        ORDER BY i)
$$;
