-- The console's import from Excel (and .xls, .ods, .csv): each upload and the import job it
-- becomes, with its progress for any dialerd to show, and the column mapping each campaign
-- remembers for its next import.

CREATE TABLE file_imports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id integer NOT NULL,
    campaign_id integer NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    login text NOT NULL,                  -- who uploaded and started it; kept if the user goes
    file_name text NOT NULL,
    file_kind text NOT NULL CHECK (file_kind IN ('xlsx', 'xls', 'ods', 'csv')),
    file_bytes integer NOT NULL,
    content bytea,                        -- the upload, until the import ends
    sheet text,
    mapping jsonb,                        -- one field per column, '' = not imported
    system_code text,
    max_attempts integer,
    min_call_interval_h integer,
    -- uploaded -> queued (started) -> running -> done | failed. A running import holds an
    -- advisory lock for as long as its transaction lives: a running row whose lock is free
    -- lost its transaction (dialerd died), so nothing of it was written and it is failed.
    status text NOT NULL DEFAULT 'uploaded'
        CHECK (status IN ('uploaded', 'queued', 'running', 'done', 'failed')),
    rows_total integer,
    rows_done integer NOT NULL DEFAULT 0,
    imported integer,                     -- call tasks created
    updated integer,                      -- open call tasks with the same extCustId updated
    refused integer,                      -- rows refused, listed in refused_file
    refused_file bytea,                   -- .xlsx: the refused rows with row number and reason
    error text,                           -- why a failed import failed (nothing was imported)
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    progress_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX file_imports_campaign ON file_imports (campaign_id, id DESC);
CREATE INDEX file_imports_pending ON file_imports (id) WHERE status IN ('queued', 'running');

CREATE TABLE import_mappings (
    campaign_id integer PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    columns jsonb NOT NULL,               -- header (case, accents, spaces dropped) -> field
    updated_at timestamptz NOT NULL DEFAULT now()
);
