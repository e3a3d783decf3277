-- Compliance rules (docs/compliance.md).

-- Abandon after-care: NULL is the campaign region's default (on for GB, dialerd/compliance.py).
ALTER TABLE campaigns ADD COLUMN abandon_after_care boolean;
-- An admin let the campaign's call window reach outside its country's calling hours.
ALTER TABLE campaigns ADD COLUMN call_hours_override boolean NOT NULL DEFAULT false;

-- Until when a contact whose call was abandoned is called only with an agent on the line
-- (a preview call, an agent's own callback); set at the attempt's close.
ALTER TABLE contacts ADD COLUMN after_care_until timestamptz;

-- An active campaign that can place calls sends a caller ID: those without are paused.
UPDATE campaigns SET active = false, updated_at = now()
WHERE active AND dial_string IS NOT NULL AND coalesce(caller_id, '') = '';

-- May the pacer call contact d, with no agent on the line before the callee answers? Not in
-- its abandon after-care. A single expression, so the planner inlines it into the claim.
CREATE FUNCTION contact_after_care_over(d contacts) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(d.after_care_until, '-infinity') <= now()
$$;
