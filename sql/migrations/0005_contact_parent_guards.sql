-- Contacts without per-row foreign-key checks on campaign_id and system_code.
--
-- A calltask import writes 100,000 contacts in one request, all of one campaign and one calling
-- system, and the per-row checks of these two foreign keys took 1.6 s of a 3.5 s COPY. The
-- same guarantee is kept at the two other ends instead:
-- * every statement that adds contacts first takes FOR KEY SHARE on its campaign (and calling
--   system) row: the lock a foreign-key check takes, taken once per import instead of per row,
--   so a concurrent delete or key change of the parent waits for the import to commit;
-- * deleting a campaign or calling system that contacts refer to, or changing its key, fails
--   with foreign_key_violation (23503), as the foreign key would.
-- (Neither the API nor the command line deletes campaigns or calling systems; this guards hand-
-- written SQL. The calling-system guard scans contacts: there is no index on system_code alone,
-- which every import would have to maintain for an operation that is not offered.)
-- TRUNCATE of either parent is refused while contacts has rows. contact_history keeps its
-- foreign keys: it is written a row per call.

ALTER TABLE contacts
    DROP CONSTRAINT contacts_campaign_id_fkey,
    DROP CONSTRAINT contacts_system_code_fkey;

CREATE FUNCTION campaigns_keep_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM contacts WHERE campaign_id = OLD.id) THEN
        RAISE EXCEPTION 'campaign % still has contacts', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER campaigns_keep_referenced
    BEFORE DELETE OR UPDATE OF id ON campaigns
    FOR EACH ROW
    EXECUTE FUNCTION campaigns_keep_referenced();

CREATE FUNCTION calling_systems_keep_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.code = OLD.code THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM contacts WHERE system_code = OLD.code) THEN
        RAISE EXCEPTION 'calling system % still has contacts', OLD.code
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER calling_systems_keep_referenced
    BEFORE DELETE OR UPDATE OF code ON calling_systems
    FOR EACH ROW
    EXECUTE FUNCTION calling_systems_keep_referenced();

CREATE FUNCTION contact_parents_keep_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM contacts) THEN
        RAISE EXCEPTION 'cannot truncate %: contacts refer to it', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER campaigns_keep_referenced_truncate
    BEFORE TRUNCATE ON campaigns
    FOR EACH STATEMENT
    EXECUTE FUNCTION contact_parents_keep_referenced();

CREATE TRIGGER calling_systems_keep_referenced_truncate
    BEFORE TRUNCATE ON calling_systems
    FOR EACH STATEMENT
    EXECUTE FUNCTION contact_parents_keep_referenced();
