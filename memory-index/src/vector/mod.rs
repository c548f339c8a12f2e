//! The vector side: one [`Partition`] per namespace (exact scan or HNSW), a catalog from memory
//! id to row, and the merge of per-namespace top-k lists.
//!
//! Partitioning by namespace is what keeps filtered recall exact: a query only ever touches the
//! structures of the namespaces it may read, so a namespace holding 0.01% of the vectors is
//! scanned exactly instead of being fished out of a global graph (hnsw_rs's filtered search
//! walks nearly the whole graph for selective filters: 44-358 ms measured).

mod graph;
mod partition;
pub(crate) mod scan;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use memory_core::{Category, Layer, MemoryId, Metadata, NamespaceKey};

pub(crate) use graph::Graph;
pub(crate) use partition::{DEAD, GraphJob, NO_TERM, NO_VECTOR, Partition, Row, RowFilter, SearchParams};
use partition::{ExactPart, Searched};

use crate::fusion::Candidate;
use crate::options::HnswParams;
use crate::query::{SearchQuery, SearchStats};
use crate::terms;

/// Where a memory's row lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub part: u32,
    pub row: u32,
}

/// Tombstones beyond this fraction of a partition's rows trigger a compaction (and a graph rebuild).
const MAX_DEAD_FRACTION: f64 = 0.2;

/// A document ready for the vector side: vector validated, normalized, or absent.
#[derive(Debug)]
pub(crate) struct VectorDoc<'a> {
    pub id: MemoryId,
    pub namespace: &'a NamespaceKey,
    pub layer: Layer,
    pub category: &'a Category,
    pub created: i64,
    /// Microseconds; `i64::MAX` for none.
    pub expires: i64,
    pub metadata: &'a Metadata,
    pub vector: Option<&'a [f32]>,
}

/// Every namespace's partition plus the id catalog (which also covers memories without vectors).
#[derive(Debug)]
pub(crate) struct VectorIndex {
    pub dim: usize,
    pub exact_threshold: usize,
    pub hnsw: HnswParams,
    pub catalog: HashMap<MemoryId, Loc>,
    /// Partition ids are stable (catalog entries point at them); an emptied one stays.
    pub parts: Vec<Partition>,
    pub part_of: HashMap<NamespaceKey, u32>,
    pub categories: Vec<Category>,
    pub category_ids: HashMap<Category, u32>,
    /// Interned metadata terms (`terms::metadata_term`); ids are dense from 0. Like categories,
    /// a term stays until the index is cleared, even when no row holds it any more.
    pub meta_term_ids: HashMap<Box<str>, u32>,
    /// Distinguishes this index from a cleared or reloaded one, for background graph builds.
    pub epoch: u64,
    /// Graph builds requested by `maintain`, for the owner to run off the lock.
    pending_jobs: Vec<GraphJob>,
}

static EPOCHS: AtomicU64 = AtomicU64::new(1);

pub(crate) fn layer_index(layer: Layer) -> u8 {
    Layer::ALL.iter().position(|l| *l == layer).expect("every layer is in Layer::ALL") as u8
}

impl VectorIndex {
    pub fn new(dim: usize, exact_threshold: usize, hnsw: HnswParams) -> Self {
        VectorIndex {
            dim,
            exact_threshold,
            hnsw,
            catalog: HashMap::new(),
            parts: Vec::new(),
            part_of: HashMap::new(),
            categories: Vec::new(),
            category_ids: HashMap::new(),
            meta_term_ids: HashMap::new(),
            epoch: EPOCHS.fetch_add(1, Ordering::Relaxed),
            pending_jobs: Vec::new(),
        }
    }

    /// The graph builds `maintain` asked for since the last call.
    pub fn take_graph_jobs(&mut self) -> Vec<GraphJob> {
        std::mem::take(&mut self.pending_jobs)
    }

    /// Installs a graph built from `job`'s snapshot, then adds the rows appended since (dead
    /// rows are filtered at search time, as with any tombstone). A snapshot from before a
    /// compaction, or from another index, is dropped and the build asked for again.
    pub fn install_graph(&mut self, job: &GraphJob, graph: Graph) -> bool {
        if job.epoch != self.epoch {
            return false;
        }
        let part = &mut self.parts[job.part as usize];
        part.graph_pending = false;
        if part.generation != job.generation || part.graph.is_some() {
            self.maintain(vec![job.part]);
            return false;
        }
        part.graph = Some(graph);
        let later: Vec<u32> =
            (job.snapshot_rows..part.rows() as u32).filter(|&r| part.flags[r as usize] == 0).collect();
        part.graph_insert(&later);
        true
    }

    pub fn len(&self) -> usize {
        self.catalog.len()
    }

    pub fn namespace_len(&self, ns: &NamespaceKey) -> usize {
        self.part_of.get(ns).map_or(0, |&p| self.parts[p as usize].live)
    }

    /// The live documents of `layers` (indexes into `Layer::ALL`) in `namespaces`, by
    /// namespace in the order given.
    pub fn ids_in(&self, namespaces: &[NamespaceKey], layers: &[u8]) -> Vec<MemoryId> {
        let mut out = Vec::new();
        for ns in namespaces {
            let Some(&p) = self.part_of.get(ns) else { continue };
            let part = &self.parts[p as usize];
            if layers.iter().all(|&l| part.live_by_layer[usize::from(l)] == 0) {
                continue;
            }
            out.extend(
                (0..part.rows())
                    .filter(|&r| part.flags[r] & partition::DEAD == 0 && layers.contains(&part.layers[r]))
                    .map(|r| part.ids[r]),
            );
        }
        out
    }

    /// The namespace of a memory the index holds.
    pub fn namespace_of(&self, id: &MemoryId) -> Option<(u32, &NamespaceKey)> {
        self.catalog.get(id).map(|loc| (loc.part, &self.parts[loc.part as usize].namespace))
    }

    fn category_id(&mut self, c: &Category) -> u32 {
        if let Some(&id) = self.category_ids.get(c) {
            return id;
        }
        let id = self.categories.len() as u32;
        self.categories.push(c.clone());
        self.category_ids.insert(c.clone(), id);
        id
    }

    /// The sorted ids of a document's metadata terms, interning new ones.
    fn meta_ids(&mut self, metadata: &Metadata) -> Box<[u32]> {
        let mut ids: Vec<u32> = terms::metadata_terms(metadata)
            .map(|t| {
                let next = self.meta_term_ids.len() as u32;
                assert!(next != NO_TERM, "over four billion distinct metadata terms");
                *self.meta_term_ids.entry(t.into_boxed_str()).or_insert(next)
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_boxed_slice()
    }

    fn part_for(&mut self, ns: &NamespaceKey) -> u32 {
        if let Some(&p) = self.part_of.get(ns) {
            return p;
        }
        let p = self.parts.len() as u32;
        self.parts.push(Partition::new(ns.clone(), self.dim));
        self.part_of.insert(ns.clone(), p);
        p
    }

    /// Inserts or replaces documents (a replaced row becomes a tombstone, wherever it was).
    pub fn upsert(&mut self, docs: &[VectorDoc<'_>]) {
        let mut touched: Vec<u32> = Vec::new();
        let mut graph_rows: HashMap<u32, Vec<u32>> = HashMap::new();
        for doc in docs {
            if let Some(old) = self.catalog.get(&doc.id).copied() {
                self.parts[old.part as usize].kill(old.row);
                touched.push(old.part);
            }
            let category = self.category_id(doc.category);
            let meta = self.meta_ids(doc.metadata);
            let p = self.part_for(doc.namespace);
            let part = &mut self.parts[p as usize];
            let row = part.push(Row {
                id: doc.id,
                layer: layer_index(doc.layer),
                category,
                created: doc.created,
                expires: doc.expires,
                meta,
                vector: doc.vector,
            });
            if part.graph.is_some() {
                graph_rows.entry(p).or_default().push(row);
            }
            self.catalog.insert(doc.id, Loc { part: p, row });
            touched.push(p);
        }
        for (p, rows) in &graph_rows {
            self.parts[*p as usize].graph_insert(rows);
        }
        self.maintain(touched);
    }

    /// Removes documents; unknown ids are ignored.
    pub fn delete(&mut self, ids: &[MemoryId]) {
        let mut touched = Vec::new();
        for id in ids {
            if let Some(loc) = self.catalog.remove(id) {
                self.parts[loc.part as usize].kill(loc.row);
                touched.push(loc.part);
            }
        }
        self.maintain(touched);
    }

    /// Compacts partitions with too many tombstones and gives graphs to partitions that
    /// outgrew exact scans.
    fn maintain(&mut self, mut parts: Vec<u32>) {
        parts.sort_unstable();
        parts.dedup();
        for p in parts {
            let part = &mut self.parts[p as usize];
            if part.dead() > 0 && part.dead() as f64 > MAX_DEAD_FRACTION * part.rows() as f64 {
                for (id, row) in part.compact() {
                    self.catalog.insert(id, Loc { part: p, row });
                }
            }
            let part = &mut self.parts[p as usize];
            if part.graph.is_none() && !part.graph_pending && part.live_vectors > self.exact_threshold {
                // Building takes seconds to minutes; searches scan exactly meanwhile.
                part.graph_pending = true;
                self.pending_jobs.push(part.graph_job(p, self.epoch));
            }
        }
    }

    /// Translates the query's filters into row terms.
    pub fn row_filter(&self, q: &SearchQuery) -> RowFilter {
        let layers = match &q.layers {
            None => RowFilter::ANY_LAYER,
            Some(ls) => ls.iter().fold(0u32, |m, l| m | (1 << layer_index(*l))),
        };
        let categories = q.categories.as_ref().map(|cs| {
            // A category no memory has yet has no id and matches nothing.
            let mut ids: Vec<u32> = cs.iter().filter_map(|c| self.category_ids.get(c).copied()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let meta = (!q.metadata.is_empty()).then(|| {
            // Every term is required; one no memory has yet matches nothing.
            let mut ids: Vec<u32> = terms::metadata_terms(&q.metadata)
                .map(|t| self.meta_term_ids.get(t.as_str()).copied().unwrap_or(NO_TERM))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        RowFilter {
            layers,
            categories,
            from: q.created_from.map_or(i64::MIN, |t| t.as_micros()),
            before: q.created_before.map_or(i64::MAX, |t| t.as_micros()),
            valid_after: terms::valid_after(q).unwrap_or(i64::MIN),
            meta,
        }
    }

    /// The `n` best memories for a unit `query` over the query's namespaces, best first.
    /// Partitions with graphs are walked one by one; every partition read exactly is scanned in
    /// one pass with the others ([`partition::scan_exactly`]).
    pub fn search(&self, query: &[f32], q: &SearchQuery, n: usize, stats: &mut SearchStats) -> Vec<Candidate> {
        let filter = self.row_filter(q);
        let params = SearchParams { k: n, exact_threshold: self.exact_threshold, hnsw: &self.hnsw };
        let mut parts: Vec<u32> = q.namespaces.iter().filter_map(|ns| self.part_of.get(ns).copied()).collect();
        parts.sort_unstable();
        parts.dedup();
        let mut excluded: HashMap<u32, Vec<u32>> = HashMap::new();
        for loc in q.exclude.iter().filter_map(|id| self.catalog.get(id)) {
            excluded.entry(loc.part).or_default().push(loc.row);
        }
        for rows in excluded.values_mut() {
            rows.sort_unstable();
        }
        let none: &[u32] = &[];
        let mut merged: Vec<(scan::Scored, u32)> = Vec::new();
        let mut exact: Vec<u32> = Vec::new();
        for &p in &parts {
            let part = &self.parts[p as usize];
            let excluded = excluded.get(&p).map_or(none, Vec::as_slice);
            match part.search(query, &filter, excluded, params, stats) {
                Searched::Nothing => {}
                Searched::Graph(rows) => merged.extend(rows.into_iter().map(|s| (s, p))),
                Searched::Exactly => exact.push(p),
            }
        }
        if !exact.is_empty() {
            stats.exact_scans += exact.len() as u64;
            let scan: Vec<ExactPart<'_, _>> = exact
                .iter()
                .map(|&p| {
                    let part = &self.parts[p as usize];
                    ExactPart { part, accept: part.acceptor(&filter, excluded.get(&p).map_or(none, Vec::as_slice)) }
                })
                .collect();
            merged.extend(
                partition::scan_exactly(query, &scan, n)
                    .into_iter()
                    .map(|s| (scan::Scored { score: s.score, row: s.row.1 }, exact[s.row.0 as usize])),
            );
        }
        merged.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        merged.truncate(n);
        merged
            .into_iter()
            .map(|(s, p)| Candidate { id: self.parts[p as usize].ids[s.row as usize], score: s.score })
            .collect()
    }
}
