-- The schema that sql/migrations gives an empty database: pg_dump --schema-only, without its
-- comments, SET lines and session keys. Generated, do not edit: tests/integration/test_schema.py
-- fails when it and the migrations differ, and with DIALERD_WRITE_SCHEMA=1 writes it anew.

CREATE FUNCTION public.abandons(c integer, since timestamp with time zone, until timestamp with time zone) RETURNS TABLE(answered bigint, abandoned bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT count(*), count(*) FILTER (WHERE h.abandoned)
    FROM contact_history h
    WHERE h.campaign_id = c AND h.status = 'closed'
      AND h.dt_call_connect IS NOT NULL AND NOT h.machine
      AND h.dt_call_end >= since AND h.dt_call_end < until
$$;

CREATE FUNCTION public.agent_signed_out_since(u bigint) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce((SELECT CASE WHEN s.state = 'out' THEN s.started_at ELSE 'infinity' END
                     FROM agent_states s WHERE s.user_id = u AND s.ended_at IS NULL),
                    '-infinity')
$$;

CREATE FUNCTION public.calling_systems_keep_referenced() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.campaigns_keep_referenced() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

CREATE TABLE public.contacts (
    id bigint NOT NULL,
    campaign_id integer NOT NULL,
    name text NOT NULL,
    user_data text,
    system_code text,
    ext_cust_id text,
    system_lookup_code text,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    properties jsonb DEFAULT '{}'::jsonb NOT NULL,
    phone_numbers text[] NOT NULL,
    number_tries integer[] NOT NULL,
    number_last_cause integer[] NOT NULL,
    number_end_reason integer[] NOT NULL,
    number_invalid boolean[] NOT NULL,
    next_number integer DEFAULT 0 NOT NULL,
    state text DEFAULT 'open'::text NOT NULL,
    locked boolean DEFAULT false NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer NOT NULL,
    min_call_interval_h real NOT NULL,
    dt_next_try timestamp with time zone,
    dt_last_try timestamp with time zone,
    last_connres integer,
    last_cause integer,
    last_result_mailbox boolean,
    last_agent_end_reason integer,
    claimed_by text,
    lease_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    open_attempt_id bigint,
    result_code_id integer,
    callback_at timestamp with time zone,
    callback_user_id integer,
    after_care_until timestamp with time zone,
    CONSTRAINT contacts_check CHECK (((cardinality(number_tries) = cardinality(phone_numbers)) AND (cardinality(number_last_cause) = cardinality(phone_numbers)) AND (cardinality(number_end_reason) = cardinality(phone_numbers)) AND (cardinality(number_invalid) = cardinality(phone_numbers)))),
    CONSTRAINT contacts_check1 CHECK (((callback_user_id IS NULL) OR (callback_at IS NOT NULL))),
    CONSTRAINT contacts_max_attempts_check CHECK ((max_attempts > 0)),
    CONSTRAINT contacts_min_call_interval_h_check CHECK ((min_call_interval_h >= (0)::double precision)),
    CONSTRAINT contacts_phone_numbers_check CHECK (((cardinality(phone_numbers) >= 1) AND (cardinality(phone_numbers) <= 6))),
    CONSTRAINT contacts_phone_numbers_check1 CHECK ((num_nonnulls(VARIADIC phone_numbers) >= 1)),
    CONSTRAINT contacts_state_check CHECK ((state = ANY (ARRAY['open'::text, 'done'::text, 'finished'::text])))
)
WITH (autovacuum_vacuum_insert_threshold='100000', autovacuum_vacuum_insert_scale_factor='0', fillfactor='90');

CREATE FUNCTION public.contact_after_care_over(d public.contacts) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(d.after_care_until, '-infinity') <= now()
$$;

CREATE FUNCTION public.contact_callable(d public.contacts) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT d.state = 'open' AND NOT d.locked AND d.open_attempt_id IS NULL
       AND (d.claimed_by IS NULL OR d.lease_until < now())
       AND coalesce(d.dt_next_try, '-infinity') <= now()
       AND (d.attempts < d.max_attempts OR d.callback_at IS NOT NULL)
       -- some slot not marked invalid is not an empty one
       AND NOT array_positions(d.number_invalid, false) <@ array_positions(d.phone_numbers, NULL)
$$;

CREATE FUNCTION public.contact_due(d public.contacts, callback_grace_s integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT contact_callable(d)
       AND (d.callback_user_id IS NULL
            OR greatest(d.callback_at, agent_signed_out_since(d.callback_user_id))
               + make_interval(secs => callback_grace_s) <= now())
$$;

CREATE FUNCTION public.contact_matches(c public.contacts, name_like text, ids bigint[], customer text, state text, connres integer, next_from timestamp with time zone, next_to timestamp with time zone, callback_grace_s integer) RETURNS boolean
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

CREATE FUNCTION public.contact_parents_keep_referenced() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM contacts) THEN
        RAISE EXCEPTION 'cannot truncate %: contacts refer to it', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.dnc_listed(n text, client integer) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT EXISTS (SELECT 1 FROM dnc_numbers d
                   WHERE coalesce(d.client_id, -1) IN (client, -1) AND d.number = n)
$$;

CREATE FUNCTION public.dnc_slots(numbers text[], client integer) RETURNS boolean[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT array_agg(n IS NOT NULL AND dnc_listed(n, client) ORDER BY i)
    FROM unnest(numbers) WITH ORDINALITY AS u(n, i)
$$;

CREATE FUNCTION public.fresh_number_state(numbers text[], OUT tries integer[], OUT last_cause integer[], OUT end_reason integer[], OUT invalid boolean[]) RETURNS record
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT array_fill(0, ARRAY[cardinality(numbers)]),
           array_fill(NULL::integer, ARRAY[cardinality(numbers)]),
           array_fill(NULL::integer, ARRAY[cardinality(numbers)]),
           array_fill(false, ARRAY[cardinality(numbers)])
$$;

CREATE FUNCTION public.number_state_merged(old_numbers text[], new_numbers text[], old_state anycompatiblearray, new_state anycompatiblearray) RETURNS anycompatiblearray
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN old_numbers = new_numbers THEN old_state  -- a plain re-send: no per-number work
    ELSE ARRAY(
        SELECT CASE WHEN old_numbers[i] = new_numbers[i] THEN old_state[i] ELSE new_state[i] END
        FROM generate_subscripts(new_numbers, 1) AS i
        ORDER BY i)
    END
$$;

CREATE TABLE public.agent_campaigns (
    user_id bigint NOT NULL,
    campaign_id integer NOT NULL
);

CREATE TABLE public.agent_commands (
    id bigint NOT NULL,
    instance_id text NOT NULL,
    client_id integer NOT NULL,
    user_id bigint,
    action text NOT NULL,
    queue text NOT NULL,
    agent text NOT NULL,
    reason text DEFAULT ''::text NOT NULL,
    phone text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    taken_at timestamp with time zone,
    done_at timestamp with time zone,
    error text,
    member_name text DEFAULT ''::text NOT NULL,
    transfer_kind text,
    transfer_target text,
    transfer_attempt_id bigint,
    CONSTRAINT agent_commands_action_check CHECK ((action = ANY (ARRAY['pause'::text, 'sign_out'::text, 'listen'::text, 'whisper'::text, 'barge'::text, 'sign_in'::text, 'ready'::text, 'hangup'::text, 'call'::text, 'skip'::text, 'transfer'::text]))),
    CONSTRAINT agent_commands_transfer_check CHECK (
CASE
    WHEN (action = 'transfer'::text) THEN ((transfer_kind IS NOT NULL) AND (COALESCE(transfer_target, ''::text) <> ''::text) AND (transfer_attempt_id IS NOT NULL))
    ELSE ((transfer_kind IS NULL) AND (transfer_target IS NULL) AND (transfer_attempt_id IS NULL))
END),
    CONSTRAINT agent_commands_transfer_kind_check CHECK ((transfer_kind = ANY (ARRAY['number'::text, 'queue'::text])))
);

ALTER TABLE public.agent_commands ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.agent_commands_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.agent_minutes (
    minute timestamp with time zone NOT NULL,
    instance_id text NOT NULL,
    campaign_id integer NOT NULL,
    agent text NOT NULL,
    talk_s real DEFAULT 0 NOT NULL,
    wrapup_s real DEFAULT 0 NOT NULL,
    ready_s real DEFAULT 0 NOT NULL,
    paused_s real DEFAULT 0 NOT NULL
);

CREATE TABLE public.agent_states (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    client_id integer NOT NULL,
    state text NOT NULL,
    reason text DEFAULT ''::text NOT NULL,
    campaign_id integer,
    attempt_id bigint,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT agent_states_state_check CHECK ((state = ANY (ARRAY['ready'::text, 'paused'::text, 'after_call'::text, 'out'::text])))
);

ALTER TABLE public.agent_states ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.agent_states_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.api_tokens (
    id bigint NOT NULL,
    client_id integer NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    name text DEFAULT ''::text NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone
);

ALTER TABLE public.api_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.api_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    client_id integer NOT NULL,
    user_id bigint,
    login text NOT NULL,
    action text NOT NULL,
    target text DEFAULT ''::text NOT NULL,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    address text
);

ALTER TABLE public.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.calling_systems (
    code text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    crm_url_template text
);

CREATE TABLE public.campaign_pacers (
    campaign_id integer NOT NULL,
    pbx text NOT NULL,
    instance_id text NOT NULL,
    lease_until timestamp with time zone NOT NULL
);

CREATE TABLE public.campaign_result_codes (
    id integer NOT NULL,
    campaign_id integer NOT NULL,
    name text NOT NULL,
    type_id integer NOT NULL,
    retry_minutes integer,
    "position" integer DEFAULT 0 NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT campaign_result_codes_check CHECK (((type_id = 3) = (retry_minutes IS NOT NULL))),
    CONSTRAINT campaign_result_codes_name_check CHECK ((name <> ''::text)),
    CONSTRAINT campaign_result_codes_retry_minutes_check CHECK (((retry_minutes >= 1) AND (retry_minutes <= 525600))),
    CONSTRAINT campaign_result_codes_type_id_check CHECK (((type_id >= 1) AND (type_id <= 6)))
);

ALTER TABLE public.campaign_result_codes ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.campaign_result_codes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.campaigns (
    id integer NOT NULL,
    client_id integer DEFAULT 1 NOT NULL,
    name text NOT NULL,
    queue text,
    dial_string text,
    caller_id text,
    dial_mode text DEFAULT 'progressive'::text NOT NULL,
    dial_ratio real DEFAULT 1.5 NOT NULL,
    max_lines_per_agent real DEFAULT 3 NOT NULL,
    abandon_limit real DEFAULT 0.03 NOT NULL,
    aggressiveness real DEFAULT 1.0 NOT NULL,
    max_calls_in_flight integer,
    max_originate_rate real,
    ring_timeout_s integer DEFAULT 30 NOT NULL,
    agent_timeout_s integer DEFAULT 2 NOT NULL,
    amd_enabled boolean DEFAULT false NOT NULL,
    machine_action text DEFAULT 'hangup'::text NOT NULL,
    window_start time without time zone DEFAULT '08:00:00'::time without time zone NOT NULL,
    window_end time without time zone DEFAULT '20:00:00'::time without time zone NOT NULL,
    window_days smallint[] DEFAULT '{1,2,3,4,5}'::smallint[] NOT NULL,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    default_region text,
    max_attempts integer DEFAULT 3 NOT NULL,
    min_call_interval_h real DEFAULT 12 NOT NULL,
    retry_minutes jsonb DEFAULT '{}'::jsonb NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    callback_grace_s integer DEFAULT 300 NOT NULL,
    wrapup_limit_s integer DEFAULT 60 NOT NULL,
    abandon_after_care boolean,
    call_hours_override boolean DEFAULT false NOT NULL,
    CONSTRAINT campaigns_abandon_limit_check CHECK (((abandon_limit > (0)::double precision) AND (abandon_limit < (1)::double precision))),
    CONSTRAINT campaigns_agent_timeout_s_check CHECK (((agent_timeout_s >= 1) AND (agent_timeout_s <= 10))),
    CONSTRAINT campaigns_aggressiveness_check CHECK ((aggressiveness > (0)::double precision)),
    CONSTRAINT campaigns_callback_grace_s_check CHECK (((callback_grace_s >= 0) AND (callback_grace_s <= 86400))),
    CONSTRAINT campaigns_dial_mode_check CHECK ((dial_mode = ANY (ARRAY['progressive'::text, 'ratio'::text, 'predictive'::text, 'preview'::text]))),
    CONSTRAINT campaigns_dial_ratio_check CHECK ((dial_ratio > (0)::double precision)),
    CONSTRAINT campaigns_machine_action_check CHECK ((machine_action = ANY (ARRAY['hangup'::text, 'message'::text]))),
    CONSTRAINT campaigns_max_attempts_check CHECK ((max_attempts > 0)),
    CONSTRAINT campaigns_max_calls_in_flight_check CHECK ((max_calls_in_flight > 0)),
    CONSTRAINT campaigns_max_lines_per_agent_check CHECK ((max_lines_per_agent >= (1)::double precision)),
    CONSTRAINT campaigns_max_originate_rate_check CHECK ((max_originate_rate > (0)::double precision)),
    CONSTRAINT campaigns_min_call_interval_h_check CHECK ((min_call_interval_h >= (0)::double precision)),
    CONSTRAINT campaigns_name_check CHECK ((name <> ''::text)),
    CONSTRAINT campaigns_ring_timeout_s_check CHECK ((ring_timeout_s >= 15)),
    CONSTRAINT campaigns_wrapup_limit_s_check CHECK (((wrapup_limit_s >= 1) AND (wrapup_limit_s <= 3600)))
);

ALTER TABLE public.campaigns ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.campaigns_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.console_sessions (
    token_hash bytea NOT NULL,
    user_id bigint NOT NULL,
    csrf_token text NOT NULL,
    address text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    seen_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.contact_history (
    id bigint NOT NULL,
    contact_id bigint NOT NULL,
    campaign_id integer NOT NULL,
    client_id integer DEFAULT 1 NOT NULL,
    user_data text,
    outbound boolean DEFAULT true NOT NULL,
    test_call boolean DEFAULT false NOT NULL,
    phone_number text NOT NULL,
    phone_number_offset integer NOT NULL,
    a_number text,
    b_number text,
    status text DEFAULT 'pending'::text NOT NULL,
    instance_id text,
    channel text,
    dt_call_start timestamp with time zone DEFAULT now() NOT NULL,
    dt_call_alert timestamp with time zone,
    dt_call_connect timestamp with time zone,
    dt_agent_connect timestamp with time zone,
    dt_call_end timestamp with time zone,
    connres integer,
    cause_code integer,
    caller_hangup boolean,
    agent text,
    users_id integer,
    abandoned boolean DEFAULT false NOT NULL,
    machine boolean DEFAULT false NOT NULL,
    detail text,
    result_code_id integer,
    result_code_type_id integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    pbx text,
    CONSTRAINT contact_history_connres_check CHECK (((connres >= 0) AND (connres <= 7))),
    CONSTRAINT contact_history_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'dialing'::text, 'closed'::text])))
);

ALTER TABLE public.contact_history ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.contact_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE public.contacts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.contacts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.dnc_numbers (
    client_id integer,
    number text NOT NULL COLLATE pg_catalog."C",
    source text NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT dnc_numbers_client_id_check CHECK ((client_id >= 0)),
    CONSTRAINT dnc_numbers_number_check CHECK ((number ~~ '+%'::text)),
    CONSTRAINT dnc_numbers_source_check CHECK ((source <> ''::text))
);

CREATE TABLE public.file_import_parts (
    import_id bigint NOT NULL,
    part integer NOT NULL,
    data bytea NOT NULL
);
ALTER TABLE ONLY public.file_import_parts ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE public.file_imports (
    id bigint NOT NULL,
    client_id integer NOT NULL,
    campaign_id integer NOT NULL,
    user_id bigint,
    login text NOT NULL,
    file_name text NOT NULL,
    file_kind text NOT NULL,
    file_bytes integer NOT NULL,
    sheet text,
    mapping jsonb,
    system_code text,
    max_attempts integer,
    min_call_interval_h integer,
    status text DEFAULT 'uploaded'::text NOT NULL,
    rows_total integer,
    rows_done integer DEFAULT 0 NOT NULL,
    imported integer,
    updated integer,
    refused integer,
    refused_file bytea,
    error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    progress_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT file_imports_file_kind_check CHECK ((file_kind = ANY (ARRAY['xlsx'::text, 'xls'::text, 'ods'::text, 'csv'::text]))),
    CONSTRAINT file_imports_status_check CHECK ((status = ANY (ARRAY['uploaded'::text, 'queued'::text, 'running'::text, 'done'::text, 'failed'::text])))
);

ALTER TABLE public.file_imports ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.file_imports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.import_job_starts (
    job_id uuid NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.import_jobs (
    id uuid NOT NULL,
    client_id integer NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    return_tasks boolean DEFAULT false NOT NULL,
    request json NOT NULL,
    http_status integer,
    result json,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    CONSTRAINT import_jobs_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'done'::text, 'failed'::text])))
);

CREATE TABLE public.import_mappings (
    campaign_id integer NOT NULL,
    columns jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.info_fields (
    id integer NOT NULL,
    name text NOT NULL
);

CREATE TABLE public.live_views (
    instance_id text NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    view jsonb NOT NULL
);

CREATE TABLE public.pause_reasons (
    id bigint NOT NULL,
    client_id integer NOT NULL,
    reason text NOT NULL
);

ALTER TABLE public.pause_reasons ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.pause_reasons_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.preview_offers (
    user_id bigint NOT NULL,
    client_id integer NOT NULL,
    contact_id bigint NOT NULL,
    campaign_id integer NOT NULL,
    slot integer NOT NULL,
    number text NOT NULL,
    instance_id text NOT NULL,
    offered_at timestamp with time zone DEFAULT now() NOT NULL,
    attempt_id bigint,
    callback boolean NOT NULL,
    manual boolean NOT NULL,
    CONSTRAINT preview_offers_slot_check CHECK (((slot >= 0) AND (slot <= 5)))
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.sign_in_failures (
    key text NOT NULL,
    failures integer NOT NULL,
    last_failure_at timestamp with time zone NOT NULL
);

CREATE TABLE public.users (
    id bigint NOT NULL,
    client_id integer NOT NULL,
    login text NOT NULL,
    display_name text DEFAULT ''::text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    endpoint text,
    installation_admin boolean DEFAULT false NOT NULL,
    CONSTRAINT users_agent_endpoint CHECK (((role = 'agent'::text) = (endpoint IS NOT NULL))),
    CONSTRAINT users_installation_admin CHECK (((NOT installation_admin) OR (role = 'admin'::text))),
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'supervisor'::text, 'viewer'::text, 'agent'::text])))
);

ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.agent_campaigns
    ADD CONSTRAINT agent_campaigns_pkey PRIMARY KEY (user_id, campaign_id);

ALTER TABLE ONLY public.agent_commands
    ADD CONSTRAINT agent_commands_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.agent_minutes
    ADD CONSTRAINT agent_minutes_pkey PRIMARY KEY (campaign_id, minute, agent, instance_id);

ALTER TABLE ONLY public.agent_states
    ADD CONSTRAINT agent_states_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash);

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.calling_systems
    ADD CONSTRAINT calling_systems_pkey PRIMARY KEY (code);

ALTER TABLE ONLY public.campaign_pacers
    ADD CONSTRAINT campaign_pacers_pkey PRIMARY KEY (campaign_id, pbx);

ALTER TABLE ONLY public.campaign_result_codes
    ADD CONSTRAINT campaign_result_codes_campaign_id_name_key UNIQUE (campaign_id, name);

ALTER TABLE ONLY public.campaign_result_codes
    ADD CONSTRAINT campaign_result_codes_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.campaigns
    ADD CONSTRAINT campaigns_name_key UNIQUE (name);

ALTER TABLE ONLY public.campaigns
    ADD CONSTRAINT campaigns_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (token_hash);

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.file_import_parts
    ADD CONSTRAINT file_import_parts_pkey PRIMARY KEY (import_id, part);

ALTER TABLE ONLY public.file_imports
    ADD CONSTRAINT file_imports_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.import_jobs
    ADD CONSTRAINT import_jobs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.import_mappings
    ADD CONSTRAINT import_mappings_pkey PRIMARY KEY (campaign_id);

ALTER TABLE ONLY public.info_fields
    ADD CONSTRAINT info_fields_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.live_views
    ADD CONSTRAINT live_views_pkey PRIMARY KEY (instance_id);

ALTER TABLE ONLY public.pause_reasons
    ADD CONSTRAINT pause_reasons_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.preview_offers
    ADD CONSTRAINT preview_offers_contact_id_key UNIQUE (contact_id);

ALTER TABLE ONLY public.preview_offers
    ADD CONSTRAINT preview_offers_pkey PRIMARY KEY (user_id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.sign_in_failures
    ADD CONSTRAINT sign_in_failures_pkey PRIMARY KEY (key);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX agent_commands_waiting ON public.agent_commands USING btree (instance_id, id) WHERE (taken_at IS NULL);

CREATE INDEX agent_states_after_call ON public.agent_states USING btree (started_at) WHERE ((ended_at IS NULL) AND (state = 'after_call'::text));

CREATE UNIQUE INDEX agent_states_open ON public.agent_states USING btree (user_id) WHERE (ended_at IS NULL);

CREATE INDEX agent_states_user ON public.agent_states USING btree (user_id, started_at);

CREATE INDEX audit_log_client_at ON public.audit_log USING btree (client_id, at DESC, id DESC);

CREATE INDEX console_sessions_user ON public.console_sessions USING btree (user_id);

CREATE INDEX contact_history_campaign_end ON public.contact_history USING btree (campaign_id, dt_call_end);

CREATE INDEX contact_history_contact ON public.contact_history USING btree (contact_id, id);

CREATE INDEX contact_history_live_answers ON public.contact_history USING btree (campaign_id, dt_call_end) INCLUDE (abandoned) WHERE ((status = 'closed'::text) AND (dt_call_connect IS NOT NULL) AND (NOT machine));

CREATE INDEX contact_history_open ON public.contact_history USING btree (instance_id) WHERE (status <> 'closed'::text);

CREATE INDEX contact_history_result_code ON public.contact_history USING btree (result_code_id) WHERE (result_code_id IS NOT NULL);

CREATE INDEX contacts_callbacks ON public.contacts USING btree (campaign_id, dt_next_try, id) WHERE ((callback_at IS NOT NULL) AND (state = 'open'::text) AND (NOT locked));

CREATE INDEX contacts_campaign ON public.contacts USING btree (campaign_id, id);

CREATE INDEX contacts_campaign_name ON public.contacts USING btree (campaign_id, lower(name) COLLATE "C", id);

CREATE INDEX contacts_campaign_next_try ON public.contacts USING btree (campaign_id, COALESCE(dt_next_try, '-infinity'::timestamp with time zone), id);

CREATE INDEX contacts_campaign_outcome ON public.contacts USING btree (campaign_id, last_connres, COALESCE(dt_next_try, '-infinity'::timestamp with time zone), id) WHERE (last_connres IS NOT NULL);

CREATE INDEX contacts_closed_next_try ON public.contacts USING btree (campaign_id, state, COALESCE(dt_next_try, '-infinity'::timestamp with time zone), id) WHERE (state <> 'open'::text);

CREATE INDEX contacts_due ON public.contacts USING btree (campaign_id, COALESCE(dt_next_try, '-infinity'::timestamp with time zone), id) WHERE ((state = 'open'::text) AND (NOT locked));

CREATE INDEX contacts_ext_cust_id ON public.contacts USING btree (ext_cust_id) WHERE (ext_cust_id IS NOT NULL);

CREATE INDEX contacts_locked ON public.contacts USING btree (campaign_id) WHERE locked;

CREATE UNIQUE INDEX contacts_open_ext_key ON public.contacts USING btree (campaign_id, system_code, ext_cust_id) WHERE ((state = 'open'::text) AND (system_code IS NOT NULL) AND (ext_cust_id IS NOT NULL));

CREATE INDEX contacts_phone_numbers ON public.contacts USING gin (phone_numbers) WITH (gin_pending_list_limit='16384');

CREATE INDEX contacts_user_data ON public.contacts USING btree (user_data, id);

CREATE UNIQUE INDEX dnc_numbers_key ON public.dnc_numbers USING btree (COALESCE(client_id, '-1'::integer), number);

CREATE INDEX file_imports_campaign ON public.file_imports USING btree (campaign_id, id DESC);

CREATE INDEX file_imports_pending ON public.file_imports USING btree (id) WHERE (status = ANY (ARRAY['queued'::text, 'running'::text]));

CREATE INDEX import_job_starts_job ON public.import_job_starts USING btree (job_id);

CREATE INDEX import_jobs_queued ON public.import_jobs USING btree (created_at) WHERE (status = 'queued'::text);

CREATE UNIQUE INDEX pause_reasons_client ON public.pause_reasons USING btree (client_id, lower(reason));

CREATE UNIQUE INDEX users_endpoint ON public.users USING btree (endpoint) WHERE (endpoint IS NOT NULL);

CREATE UNIQUE INDEX users_login ON public.users USING btree (lower(login));

CREATE STATISTICS public.contacts_search_stats (mcv) ON state, locked, last_connres FROM public.contacts;

CREATE TRIGGER calling_systems_keep_referenced BEFORE DELETE OR UPDATE OF code ON public.calling_systems FOR EACH ROW EXECUTE FUNCTION public.calling_systems_keep_referenced();

CREATE TRIGGER calling_systems_keep_referenced_truncate BEFORE TRUNCATE ON public.calling_systems FOR EACH STATEMENT EXECUTE FUNCTION public.contact_parents_keep_referenced();

CREATE TRIGGER campaigns_keep_referenced BEFORE DELETE OR UPDATE OF id ON public.campaigns FOR EACH ROW EXECUTE FUNCTION public.campaigns_keep_referenced();

CREATE TRIGGER campaigns_keep_referenced_truncate BEFORE TRUNCATE ON public.campaigns FOR EACH STATEMENT EXECUTE FUNCTION public.contact_parents_keep_referenced();

ALTER TABLE ONLY public.agent_campaigns
    ADD CONSTRAINT agent_campaigns_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_campaigns
    ADD CONSTRAINT agent_campaigns_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_commands
    ADD CONSTRAINT agent_commands_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.agent_minutes
    ADD CONSTRAINT agent_minutes_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_states
    ADD CONSTRAINT agent_states_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.campaign_pacers
    ADD CONSTRAINT campaign_pacers_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.campaign_result_codes
    ADD CONSTRAINT campaign_result_codes_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id);

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id);

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES public.contacts(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_result_code_id_fkey FOREIGN KEY (result_code_id) REFERENCES public.campaign_result_codes(id);

ALTER TABLE ONLY public.file_import_parts
    ADD CONSTRAINT file_import_parts_import_id_fkey FOREIGN KEY (import_id) REFERENCES public.file_imports(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.file_imports
    ADD CONSTRAINT file_imports_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.file_imports
    ADD CONSTRAINT file_imports_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.import_job_starts
    ADD CONSTRAINT import_job_starts_job_id_fkey FOREIGN KEY (job_id) REFERENCES public.import_jobs(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.import_mappings
    ADD CONSTRAINT import_mappings_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.preview_offers
    ADD CONSTRAINT preview_offers_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES public.campaigns(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.preview_offers
    ADD CONSTRAINT preview_offers_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES public.contacts(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.preview_offers
    ADD CONSTRAINT preview_offers_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
