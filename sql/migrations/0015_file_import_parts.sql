-- An upload is kept in parts of at most 1 MiB instead of one bytea, so that neither storing it
-- nor reading it back holds the whole file in a dialerd; any dialerd sharing the database can
-- still read it. The parts go when their import ends (or is dropped, with its row).

CREATE TABLE file_import_parts (
    import_id bigint NOT NULL REFERENCES file_imports (id) ON DELETE CASCADE,
    part integer NOT NULL,                -- 0, 1, ... in the file's order
    data bytea NOT NULL,
    PRIMARY KEY (import_id, part)
);
-- Spreadsheets are ZIP archives already: no point in compressing them again.
ALTER TABLE file_import_parts ALTER COLUMN data SET STORAGE EXTERNAL;

INSERT INTO file_import_parts (import_id, part, data)
SELECT id, 0, content FROM file_imports WHERE content IS NOT NULL;

ALTER TABLE file_imports DROP COLUMN content;
