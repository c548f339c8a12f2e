-- The vectors embedding models gave memories, stored compactly (little-endian f32 bytes), so
-- every server sharing the database indexes a memory without embedding it again. Derived
-- data: a content update drops a memory's vectors, a purge removes them with it.
CREATE TABLE embeddings (
    tenant_id text  NOT NULL,
    memory_id uuid  NOT NULL,
    model     text  NOT NULL,
    vector    bytea NOT NULL,
    PRIMARY KEY (tenant_id, memory_id, model)
);
