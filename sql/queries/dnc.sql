-- name: dnc_add
-- Puts the numbers $2 (E.164) on the list of client $1 (NULL: the installation's), from
-- source $3; a number already on it keeps its entry. How many were new.
WITH ins AS (
    INSERT INTO dnc_numbers (client_id, number, source)
    SELECT $1::integer, n, $3 FROM (SELECT DISTINCT unnest($2::text[]) AS n) AS sent
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM ins

-- name: dnc_remove
-- Takes the numbers $2 off the list of client $1 (NULL: the installation's): those removed.
DELETE FROM dnc_numbers
WHERE coalesce(client_id, -1) = coalesce($1::integer, -1) AND number = ANY($2::text[])
RETURNING number

-- name: dnc_entries
-- The entries of the numbers $2 on the list of client $1 (NULL: the installation's).
SELECT client_id, number, source, added_at FROM dnc_numbers
WHERE coalesce(client_id, -1) = coalesce($1::integer, -1) AND number = ANY($2::text[])
ORDER BY number

-- name: dnc_page
-- A page of the list of client $1 (NULL: the installation's) in number order: the numbers
-- that start with $2 (a LIKE prefix pattern, '' for all), $4 of them after the first $3.
SELECT client_id, number, source, added_at FROM dnc_numbers
WHERE coalesce(client_id, -1) = coalesce($1::integer, -1) AND number LIKE $2 || '%'
ORDER BY number
LIMIT $4 OFFSET $3

-- name: dnc_count
-- How many numbers of the list of client $1 (NULL: the installation's) start with $2.
SELECT count(*) FROM dnc_numbers
WHERE coalesce(client_id, -1) = coalesce($1::integer, -1) AND number LIKE $2 || '%'

-- name: dnc_load_table
-- Where a file's numbers are copied first (dropped with the load's transaction).
CREATE TEMPORARY TABLE dnc_load (number text COLLATE "C" NOT NULL) ON COMMIT DROP

-- name: dnc_load_lock
-- A load's numbers go in without ON CONFLICT (its speculative insertion per row would make a
-- million-number load four times slower): adds and removes wait for the load's end instead;
-- the dialer's reads do not.
LOCK TABLE dnc_numbers IN SHARE ROW EXCLUSIVE MODE

-- name: dnc_load_insert
-- The copied numbers (distinct) put on the list of client $1 (NULL: the installation's) from
-- source $2, those not on it yet. How many were new.
INSERT INTO dnc_numbers (client_id, number, source)
SELECT $1::integer, l.number, $2 FROM dnc_load l
WHERE NOT EXISTS (SELECT 1 FROM dnc_numbers d
                  WHERE coalesce(d.client_id, -1) = coalesce($1::integer, -1)
                    AND d.number = l.number)
ORDER BY l.number  -- the index's order: its pages are filled one after the other
