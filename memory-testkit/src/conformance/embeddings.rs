//! Checks of stored vectors: a put stores the embedding of a memory it creates,
//! `get_embeddings` returns it per model, and updates, moves and purges keep or drop it as the
//! contract says.

use memory_core::{Embedding, ErrorKind, MemoryId, MemoryPatch, Metadata, Store, TenantId};
use serde_json::json;

use crate::fixtures::*;

/// A vector whose values only survive an exact (bit-for-bit) round trip.
fn vector_a() -> Vec<f32> {
    vec![0.1, -3.5e-8, f32::MAX, f32::MIN_POSITIVE, -0.0, 1.0 / 3.0, f32::MIN]
}

/// Another vector, of another dimension.
fn vector_b() -> Vec<f32> {
    vec![-0.25, 7.0e-45, 12345.678]
}

fn embedding(model: &str, vector: Vec<f32>) -> Embedding {
    Embedding { model: model.to_owned(), vector }
}

/// [`new_memory`] carrying `vector` for `model`.
fn embedded(key: &str, content: &str, model: &str, vector: Vec<f32>) -> memory_core::NewMemory {
    let mut memory = new_memory(key, content);
    memory.embedding = Some(embedding(model, vector));
    memory
}

/// The stored vectors of `model` for `ids`, panicking if the store fails.
async fn vectors(store: &dyn Store, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Vec<Option<Vec<f32>>> {
    store.get_embeddings(tenant, model, ids).await.unwrap_or_else(|e| panic!("get_embeddings {model:?}: {e}"))
}

/// Asserts that the vectors are bit-for-bit the expected ones (`-0.0` is not `0.0`).
#[track_caller]
fn assert_vectors(got: &[Option<Vec<f32>>], expected: &[Option<Vec<f32>>], what: &str) {
    let bits = |v: &[Option<Vec<f32>>]| -> Vec<Option<Vec<u32>>> {
        v.iter().map(|o| o.as_ref().map(|v| v.iter().map(|x| x.to_bits()).collect())).collect()
    };
    assert_eq!(bits(got), bits(expected), "{what}: got {got:?}, expected {expected:?}");
}

/// A created memory's embedding is returned exactly, for its model only: per id, in order
/// (repeats included), `None` for a missing id, a memory without a vector, another model or
/// another tenant (even one holding the same id with its own vector).
pub async fn check_get_embeddings_returns_each_memorys_vector_of_the_model(store: &dyn Store) {
    let (t, other) = (tenant(), other_tenant());
    create_namespace(store, &t, "research").await;
    create_namespace(store, &other, "research").await;
    let first = embedded("research", "Alice prefers Python", "m1", vector_a());
    let second = embedded("research", "Bob likes tea", "m2", vector_b());
    let plain = new_memory("research", "Carol writes Go");
    let (a, b, c) = (first.id, second.id, plain.id);
    let outcomes = store.put_memories(&t, vec![first, second, plain]).await.unwrap();
    assert_eq!(outcomes, [created(a), created(b), created(c)]);
    let mut twin = embedded("research", "Alice prefers Python elsewhere", "m1", vector_b());
    twin.id = a;
    put(store, &other, twin).await;

    let missing = memory_id();
    let ids = [a, missing, b, c, a];
    let got = vectors(store, &t, "m1", &ids).await;
    assert_vectors(&got, &[Some(vector_a()), None, None, None, Some(vector_a())], "model m1");
    let got = vectors(store, &t, "m2", &ids).await;
    assert_vectors(&got, &[None, None, Some(vector_b()), None, None], "model m2");
    assert_vectors(&vectors(store, &t, "m3", &[a, b]).await, &[None, None], "a model nothing was stored for");
    assert_vectors(
        &vectors(store, &other, "m1", &ids).await,
        &[Some(vector_b()), None, None, None, Some(vector_b())],
        "the other tenant's vectors",
    );
    assert_vectors(&vectors(store, &other, "m2", &[b]).await, &[None], "another tenant's memory");
    assert!(vectors(store, &t, "m1", &[]).await.is_empty(), "no ids, no vectors");
}

/// A tombstoned memory has no vector.
pub async fn check_tombstoned_memory_has_no_embedding(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let gone = put(store, &t, embedded("research", "said once", "m1", vector_a())).await;
    let kept = put(store, &t, embedded("research", "said twice", "m1", vector_b())).await;
    assert!(store.delete_memory(&t, gone, at(1)).await.unwrap());
    assert_vectors(&vectors(store, &t, "m1", &[gone, kept]).await, &[None, Some(vector_b())], "after a delete");
}

/// An update that changes the content drops the memory's vectors; one that leaves the content
/// as it is (metadata, confidence, superseded_by, or the same text with other outer spacing)
/// keeps them.
pub async fn check_content_update_drops_embeddings_and_other_updates_keep_them(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let id = put(store, &t, embedded("research", "Alice prefers Python", "m1", vector_a())).await;
    let other = put(store, &t, new_memory("research", "Bob likes tea")).await;

    let mut patch = MemoryPatch::default();
    patch.metadata = Some(Metadata::from([("source".to_owned(), json!("chat"))]));
    patch.confidence = Some(memory_core::Confidence::new(0.5).unwrap());
    store.update_memory(&t, id, &patch, at(1)).await.unwrap();
    assert_vectors(&vectors(store, &t, "m1", &[id]).await, &[Some(vector_a())], "after a metadata update");

    let mut patch = MemoryPatch::default();
    patch.superseded_by = Some(Some(other));
    store.update_memory(&t, id, &patch, at(2)).await.unwrap();
    patch.superseded_by = Some(None);
    store.update_memory(&t, id, &patch, at(3)).await.unwrap();
    assert_vectors(&vectors(store, &t, "m1", &[id]).await, &[Some(vector_a())], "after superseded_by changes");

    let mut patch = MemoryPatch::default();
    patch.content = Some("  Alice prefers Python \n".to_owned());
    store.update_memory(&t, id, &patch, at(4)).await.unwrap();
    assert_vectors(&vectors(store, &t, "m1", &[id]).await, &[Some(vector_a())], "after an update to the same text");

    patch.content = Some("Alice prefers Rust".to_owned());
    store.update_memory(&t, id, &patch, at(5)).await.unwrap();
    assert_vectors(&vectors(store, &t, "m1", &[id]).await, &[None], "after a content update");
    assert_eq!(live(store, &t, id).await.content, "Alice prefers Rust");
}

/// The embedding of an input that deduplicates into an existing memory (stored, or earlier in
/// the batch) is ignored: the memory keeps its own vector, or stays without one.
pub async fn check_duplicate_inputs_embedding_is_ignored(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let with = put(store, &t, embedded("research", "Alice prefers Python", "m1", vector_a())).await;
    let without = put(store, &t, new_memory("research", "Bob likes tea")).await;
    let again = vec![
        embedded("research", "Alice prefers Python", "m1", vector_b()),
        embedded("research", "Bob likes tea", "m1", vector_b()),
    ];
    let outcomes = store.put_memories(&t, again).await.unwrap();
    assert_eq!(outcomes, [existing(with), existing(without)]);
    let got = vectors(store, &t, "m1", &[with, without]).await;
    assert_vectors(&got, &[Some(vector_a()), None], "after duplicates of stored memories");

    let first = embedded("research", "Carol writes Go", "m1", vector_a());
    let plain = new_memory("research", "Dave reads Rust");
    let (carol, dave) = (first.id, plain.id);
    let batch = vec![
        first,
        plain,
        embedded("research", "Carol  writes Go", "m1", vector_b()),
        embedded("research", "Dave reads Rust", "m1", vector_b()),
    ];
    let outcomes = store.put_memories(&t, batch).await.unwrap();
    assert_eq!(outcomes, [created(carol), created(dave), existing(carol), existing(dave)]);
    let got = vectors(store, &t, "m1", &[carol, dave]).await;
    assert_vectors(&got, &[Some(vector_a()), None], "after duplicates within the batch");
}

/// A move keeps the vectors of the memories it moves, merged duplicates included.
pub async fn check_move_keeps_embeddings(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "old").await;
    create_namespace(store, &t, "new").await;
    let plain = put(store, &t, embedded("old", "Alice prefers Python", "m1", vector_a())).await;
    let twin = put(store, &t, embedded("old", "The deploy runs on Fridays", "m1", vector_b())).await;
    let survivor = put(store, &t, new_memory("new", "The deploy runs on Fridays")).await;
    store.move_memories(&t, &ns("old"), &ns("new"), &[plain, twin], at(9)).await.unwrap();
    assert_eq!(live(store, &t, twin).await.superseded_by, Some(survivor), "the twin was merged");
    let got = vectors(store, &t, "m1", &[plain, twin, survivor]).await;
    assert_vectors(&got, &[Some(vector_a()), Some(vector_b()), None], "after a move");
}

/// A purge removes the vectors with the memories it removes: a memory later stored under a
/// purged id has none of them. Live memories keep theirs.
pub async fn check_purge_removes_embeddings(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let gone = put(store, &t, embedded("research", "said once", "m1", vector_a())).await;
    let kept = put(store, &t, embedded("research", "still true", "m1", vector_b())).await;
    store.delete_memory(&t, gone, at(1)).await.unwrap();
    assert_eq!(store.purge(&t, at(1)).await.unwrap().memories, 1);
    let mut reused = embedded("research", "said anew", "m2", vector_b());
    reused.id = gone;
    put(store, &t, reused).await;
    let got = vectors(store, &t, "m1", &[gone, kept]).await;
    assert_vectors(&got, &[None, Some(vector_b())], "model m1 after a purge and a new memory with the id");
    assert_vectors(&vectors(store, &t, "m2", &[gone]).await, &[Some(vector_b())], "the new memory's own vector");
}

/// An invalid embedding (a value that is not finite, no or too many dimensions, a blank or too
/// long model name) fails the batch with `InvalidInput` and writes nothing; so does a batch
/// that fails for another reason, and none of its vectors is kept.
pub async fn check_put_with_an_invalid_embedding_writes_nothing(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let taken = put(store, &t, new_memory("research", "already here")).await;
    let seq = store.last_seq().await.unwrap();
    let bad = [
        embedding("m1", vec![0.5, f32::NAN]),
        embedding("m1", vec![f32::INFINITY]),
        embedding("m1", vec![f32::NEG_INFINITY, 1.0]),
        embedding("m1", Vec::new()),
        embedding("m1", vec![0.5; Embedding::MAX_DIMENSION + 1]),
        embedding("", vec![0.5]),
        embedding("  ", vec![0.5]),
        embedding(&"m".repeat(257), vec![0.5]),
    ];
    let good = embedded("research", "valid input", "m1", vector_a());
    for e in bad {
        let mut invalid = new_memory("research", "invalid input");
        invalid.embedding = Some(e.clone());
        let result = store.put_memories(&t, vec![good.clone(), invalid.clone()]).await;
        expect_err(result, ErrorKind::InvalidInput, &format!("a put with embedding {:?}", e.model));
        for id in [good.id, invalid.id] {
            assert_eq!(store.get_memory(&t, id).await.unwrap(), None, "nothing is stored");
        }
    }
    let mut clash = embedded("research", "a taken id", "m1", vector_b());
    clash.id = taken;
    let result = store.put_memories(&t, vec![good.clone(), clash]).await;
    expect_err(result, ErrorKind::AlreadyExists, "a put with a taken id");
    assert_eq!(store.last_seq().await.unwrap(), seq, "no seq used");
    assert_vectors(&vectors(store, &t, "m1", &[taken, good.id]).await, &[None, None], "no vector kept");

    let mut plain = good.clone();
    plain.embedding = None;
    put(store, &t, plain).await;
    assert_vectors(&vectors(store, &t, "m1", &[good.id]).await, &[None], "a failed put left no vector behind");
}
