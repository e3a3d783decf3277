-- The console's call task search: pages in keyset order, counts, the ids an action on a
-- search acts on. $1 campaign, $2 client (a campaign of another client matches nothing),
-- $3..$9 contact_matches' conditions (migration 0010: $4 the ids of contact_ids_with_number;
-- migration 0013: the campaign's callback grace, for "due"); in a page the position after (asc)
-- or before (desc) which it starts, null for the first: $10 sort key and $11 id ($10 the id by
-- id), then how many rows.
-- Each page reads the index of its order (contacts_campaign, contacts_campaign_name,
-- contacts_campaign_next_try) or, for a condition that matches few, that condition's index.

-- name: contact_page_id_asc
SELECT c.* FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($10::bigint IS NULL OR c.id > $10)
ORDER BY c.id LIMIT $11

-- name: contact_page_id_desc
SELECT c.* FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($10::bigint IS NULL OR c.id < $10)
ORDER BY c.id DESC LIMIT $11

-- name: contact_page_name_asc
SELECT c.*, lower(c.name) AS sort_key FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($11::bigint IS NULL OR (lower(c.name) COLLATE "C", c.id) > ($10::text, $11))
ORDER BY lower(c.name) COLLATE "C", c.id LIMIT $12

-- name: contact_page_name_desc
SELECT c.*, lower(c.name) AS sort_key FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($11::bigint IS NULL OR (lower(c.name) COLLATE "C", c.id) < ($10::text, $11))
ORDER BY lower(c.name) COLLATE "C" DESC, c.id DESC LIMIT $12

-- name: contact_page_next_try_asc
SELECT c.*, coalesce(c.dt_next_try, '-infinity')::text AS sort_key FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($11::bigint IS NULL
       OR (coalesce(c.dt_next_try, '-infinity'), c.id) > ($10::text::timestamptz, $11))
ORDER BY coalesce(c.dt_next_try, '-infinity'), c.id LIMIT $12

-- name: contact_page_next_try_desc
SELECT c.*, coalesce(c.dt_next_try, '-infinity')::text AS sort_key FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))
  AND ($11::bigint IS NULL
       OR (coalesce(c.dt_next_try, '-infinity'), c.id) < ($10::text::timestamptz, $11))
ORDER BY coalesce(c.dt_next_try, '-infinity') DESC, c.id DESC LIMIT $12

-- name: contact_count_matching
-- How many contacts a search matches, and of them how many are being called: what the
-- confirmation of an action on them says.
SELECT count(*) AS matching, count(*) FILTER (WHERE c.open_attempt_id IS NOT NULL) AS calling
FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))

-- name: contact_ids_matching
-- The contacts an action on a search acts on (in the action's transaction).
SELECT c.id FROM contacts c
WHERE c.campaign_id = (SELECT k.id FROM campaigns k WHERE k.id = $1 AND k.client_id = $2)
  AND contact_matches(c, $3, $4, $5, $6, $7, $8, $9,
                      (SELECT k.callback_grace_s FROM campaigns k WHERE k.id = $1))

-- name: force_custom_plans
-- For this transaction, plan each search with its arguments known: contact_matches' null
-- conditions then fold away, and the planner sees which index fits (a generic plan of the
-- prepared statement cannot know either).
SET LOCAL plan_cache_mode = force_custom_plan

-- name: contact_ids_with_number
-- The contacts of campaign $1 with number $2 (E.164) in any slot: contacts_phone_numbers.
SELECT array_agg(c.id) FROM contacts c WHERE c.phone_numbers @> ARRAY[$2::text] AND c.campaign_id = $1
