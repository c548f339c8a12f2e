-- The event logs of SPEC 6, as a table: one line per memory a put created, written in the
-- put's own transaction. Several servers write one database, so files on any one machine
-- could not hold a namespace's whole log; this table does, in commit order (`seq` is the
-- created memory's change number), and `memory logs export` writes the per-namespace, per-day
-- JSONL files from it, in the same format as the SQLite store's `log/` directory.
CREATE TABLE event_log (
    tenant_id  text   NOT NULL,
    seq        bigint NOT NULL,
    namespace  text   NOT NULL,
    -- The created memory's `created_at`: which day's file the line belongs in.
    created_at bigint NOT NULL,
    line       text   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
