-- The initial schema. Every table of tenant data leads its primary key, unique indexes and
-- lookups with tenant_id, so the schema can be distributed by tenant (Citus-style) when one
-- database is not enough; `store_meta` (one row) is the exception: it holds the store-wide
-- change sequence (see `memories.seq`).
--
-- Ids are `uuid` (PostgreSQL compares them byte by byte: UUIDv7 order, as every backend pages),
-- times microseconds since the epoch (`bigint`), counters u64 kept bit for bit in `bigint`,
-- enums their lowercase names, and maps and lists JSON text: `jsonb` would reorder object keys,
-- and an export must give back exactly what was written.

CREATE TABLE store_meta (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    store_id  uuid    NOT NULL,
    -- The latest value of the change sequence. A writer takes the row lock (UPDATE) inside its
    -- transaction and holds it to commit, so sequence numbers become visible in order.
    seq       bigint  NOT NULL
);
INSERT INTO store_meta (store_id, seq) VALUES (gen_random_uuid(), 0);

CREATE TABLE namespace_versions (
    tenant_id text   PRIMARY KEY,
    version   bigint NOT NULL
);

CREATE TABLE namespaces (
    tenant_id           text   NOT NULL,
    key                 text   NOT NULL,
    display_name        text   NOT NULL,
    description         text,
    team                text,
    sensitivity         text   NOT NULL,
    default_access      text   NOT NULL,
    retention_days      bigint,
    kind                text   NOT NULL,
    status              text   NOT NULL,
    metadata            text   NOT NULL,
    created_at          bigint NOT NULL,
    updated_at          bigint NOT NULL,
    last_write_at       bigint,
    last_read_at        bigint,
    last_maintenance_at bigint,
    created_by          text,
    created_by_key      uuid,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE memories (
    tenant_id        text   NOT NULL,
    id               uuid   NOT NULL,
    namespace        text   NOT NULL,
    layer            text   NOT NULL,
    content          text   NOT NULL,
    content_hash     text   NOT NULL,
    category         text   NOT NULL,
    confidence       double precision NOT NULL,
    provenance       text   NOT NULL,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    expires_at       bigint,
    metadata         text   NOT NULL,
    supersedes       uuid,
    superseded_by    uuid,
    promoted_from    uuid,
    utility          double precision NOT NULL,
    evidence_count   bigint NOT NULL,
    access_count     bigint NOT NULL,
    last_accessed_at bigint,
    helpful_count    bigint NOT NULL,
    unhelpful_count  bigint NOT NULL,
    last_outcome_at  bigint,
    seq              bigint NOT NULL,
    deleted_at       bigint,
    -- Server-side full text (a fallback for tools that query the database directly; recall is
    -- served by the engine's own index).
    content_tsv      tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, namespace) REFERENCES namespaces (tenant_id, key)
);
-- Deduplication (SPEC 2): one live, unsuperseded memory per namespace, layer and content hash.
CREATE UNIQUE INDEX memories_live_content ON memories (tenant_id, namespace, layer, content_hash)
    WHERE deleted_at IS NULL AND superseded_by IS NULL;
CREATE INDEX memories_tenant_seq ON memories (tenant_id, seq);
CREATE INDEX memories_tenant_namespace_id ON memories (tenant_id, namespace, id);
CREATE INDEX memories_live_namespace_layer ON memories (tenant_id, namespace, layer, id)
    WHERE deleted_at IS NULL;
CREATE INDEX memories_content_tsv ON memories USING gin (content_tsv);

CREATE TABLE audit (
    tenant_id text   NOT NULL,
    id        uuid   NOT NULL,
    namespace text,
    principal text,
    key_id    uuid,
    operation text   NOT NULL,
    outcome   text   NOT NULL,
    detail    text   NOT NULL,
    at        bigint NOT NULL,
    origin    text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_tenant_namespace_id ON audit (tenant_id, namespace, id);

-- Keys are found by the hash of their secret alone (the key names its tenant), so hashes and
-- ids are unique store-wide: distributed, this is a reference table.
CREATE TABLE api_keys (
    id                uuid    PRIMARY KEY,
    tenant_id         text    NOT NULL,
    principal         text    NOT NULL,
    label             text    NOT NULL,
    hash              text    NOT NULL UNIQUE,
    scopes            text    NOT NULL,
    default_namespace text,
    created_at        bigint  NOT NULL,
    updated_at        bigint  NOT NULL,
    revoked_at        bigint,
    admin             boolean NOT NULL
);
CREATE INDEX api_keys_tenant_id ON api_keys (tenant_id, id);

CREATE TABLE proposals (
    tenant_id         text   NOT NULL,
    id                uuid   NOT NULL,
    namespace         text   NOT NULL,
    layer             text   NOT NULL,
    content           text   NOT NULL,
    category          text   NOT NULL,
    confidence        double precision NOT NULL,
    reason            text   NOT NULL,
    source_memory_ids text   NOT NULL,
    proposed_by       text,
    status            text   NOT NULL,
    created_at        bigint NOT NULL,
    decided_at        bigint,
    decided_by        text,
    supersedes        uuid,
    metadata          text   NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE entities (
    tenant_id  text   NOT NULL,
    id         uuid   NOT NULL,
    namespace  text   NOT NULL,
    name       text   NOT NULL,
    key        text   NOT NULL,
    kind       text   NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, namespace, kind, key)
);

CREATE TABLE entity_links (
    tenant_id text NOT NULL,
    entity_id uuid NOT NULL,
    memory_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, entity_id, memory_id)
);
CREATE INDEX entity_links_memory ON entity_links (tenant_id, memory_id, entity_id);

CREATE TABLE job_locks (
    tenant_id   text   NOT NULL,
    job         text   NOT NULL,
    namespace   text   NOT NULL,
    holder      text   NOT NULL,
    acquired_at bigint NOT NULL,
    expires_at  bigint NOT NULL,
    PRIMARY KEY (tenant_id, job, namespace)
);

CREATE TABLE job_runs (
    tenant_id   text   NOT NULL,
    job         text   NOT NULL,
    namespace   text   NOT NULL,
    status      text   NOT NULL,
    reason      text,
    counts      text   NOT NULL,
    checkpoint  text,
    started_at  bigint NOT NULL,
    finished_at bigint NOT NULL,
    PRIMARY KEY (tenant_id, namespace, job)
);
