-- A never-called number's state, defined once for every statement that writes one (a new
-- contact, a new call task, a reset); dialerd.domain.NumberSlot's defaults say the same for
-- the rows Python writes (tests/integration/test_number_state.py checks that they agree).
CREATE FUNCTION fresh_number_state(
    numbers text[],
    OUT tries integer[], OUT last_cause integer[], OUT end_reason integer[], OUT invalid boolean[]
)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_fill(0, ARRAY[cardinality(numbers)]),
           array_fill(NULL::integer, ARRAY[cardinality(numbers)]),
           array_fill(NULL::integer, ARRAY[cardinality(numbers)]),
           array_fill(false, ARRAY[cardinality(numbers)])
$$;

-- A re-sent call task keeps the state of each number it still has in the same slot; the
-- others get the new row's (fresh) state.
CREATE FUNCTION number_state_merged(
    old_numbers text[], new_numbers text[], old_state anycompatiblearray,
    new_state anycompatiblearray
) RETURNS anycompatiblearray
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN old_numbers = new_numbers THEN old_state  -- a plain re-send: no per-number work
    ELSE ARRAY(
        SELECT CASE WHEN old_numbers[i] = new_numbers[i] THEN old_state[i] ELSE new_state[i] END
        FROM generate_subscripts(new_numbers, 1) AS i
        ORDER BY i)
    END
$$;

DROP FUNCTION number_state_kept(text[], text[], anycompatiblearray, anycompatible);
