-- Each start of an async import job by a worker, committed on a connection of its own while
-- the import's transaction runs: a start that a kill, a lost database or a timeout cut short
-- rolls back everything of the import but this row. A job started too many times without
-- finishing is failed instead of started again (dialerd/calltasks/worker.py).
CREATE TABLE import_job_starts (
    job_id      uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX import_job_starts_job ON import_job_starts (job_id);
