//! One namespace's vectors: contiguous rows with tombstones, scanned exactly while small and
//! searched through an HNSW graph once large.

use memory_core::{MemoryId, NamespaceKey};

use super::graph::Graph;
use super::scan::{Scored, TopK, dot, dot_codes_rows, dot_rows, quantize};
use crate::options::HnswParams;
use crate::query::SearchStats;

/// Row flag: deleted or replaced (a tombstone).
pub(crate) const DEAD: u8 = 1;
/// Row flag: the memory has no vector (it exists for text search and bookkeeping only).
pub(crate) const NO_VECTOR: u8 = 2;

/// A metadata term id no row holds: what a query term the index has never seen maps to.
pub(crate) const NO_TERM: u32 = u32::MAX;

/// Which rows a search may return, in row-metadata terms.
#[derive(Debug, Clone)]
pub(crate) struct RowFilter {
    /// Bit `i` set: layer `Layer::ALL[i]` allowed.
    pub layers: u32,
    /// Allowed category ids (sorted); `None`: any.
    pub categories: Option<Vec<u32>>,
    pub from: i64,
    pub before: i64,
    /// A row is accepted only if its expiry is strictly greater; `i64::MIN`: no expiry filter.
    pub valid_after: i64,
    /// Metadata term ids a row must all hold; `None`: any. [`NO_TERM`] matches no row.
    pub meta: Option<Vec<u32>>,
}

impl RowFilter {
    pub const ANY_LAYER: u32 = u32::MAX;

    /// Whether the filter accepts every row (then searches skip it, and a graph namespace never
    /// counts survivors before choosing between the graph and an exact scan).
    pub fn is_trivial(&self) -> bool {
        self.layers == Self::ANY_LAYER
            && self.categories.is_none()
            && self.from == i64::MIN
            && self.before == i64::MAX
            && self.valid_after == i64::MIN
            && self.meta.is_none()
    }

    #[inline]
    fn accepts(&self, p: &Partition, row: usize) -> bool {
        (self.layers >> p.layers[row]) & 1 == 1
            && self.categories.as_ref().is_none_or(|c| c.binary_search(&p.categories[row]).is_ok())
            && (self.from..self.before).contains(&p.created[row])
            && p.expires[row] > self.valid_after
            && self.meta.as_ref().is_none_or(|m| m.iter().all(|t| p.meta[row].binary_search(t).is_ok()))
    }
}

/// One row's values, as [`Partition::push`] appends them.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub id: MemoryId,
    /// Index into `Layer::ALL`.
    pub layer: u8,
    pub category: u32,
    pub created: i64,
    pub expires: i64,
    /// Sorted, de-duplicated metadata term ids.
    pub meta: Box<[u32]>,
    /// Unit length and `dim` long, when present.
    pub vector: Option<&'a [f32]>,
}

/// Contiguous per-row columns; row `r`'s vector is `vectors[r * dim..(r + 1) * dim]`.
#[derive(Debug)]
pub(crate) struct Partition {
    pub namespace: NamespaceKey,
    pub dim: usize,
    pub ids: Vec<MemoryId>,
    /// Index into `Layer::ALL`.
    pub layers: Vec<u8>,
    /// Interned category id.
    pub categories: Vec<u32>,
    /// `created_at` in microseconds.
    pub created: Vec<i64>,
    /// `expires_at` in microseconds; `i64::MAX` for none.
    pub expires: Vec<i64>,
    /// Interned metadata term ids (sorted) of each row.
    pub meta: Vec<Box<[u32]>>,
    /// [`DEAD`] | [`NO_VECTOR`].
    pub flags: Vec<u8>,
    pub vectors: Vec<f32>,
    /// Int8 codes of `vectors` (row `r`: `codes[r * dim..(r + 1) * dim]`) and each row's
    /// `1 / scale`: an exact scan reads these first, a quarter of the bytes (scans are bound
    /// by memory bandwidth), and re-scores the best of them with the full vectors.
    pub codes: Vec<i8>,
    pub code_scales: Vec<f32>,
    /// Rows not dead.
    pub live: usize,
    /// Rows not dead, by layer (index into `Layer::ALL`): a query for the rows of a few
    /// layers (the pinned ones) skips a partition that has none.
    pub live_by_layer: [u32; memory_core::Layer::ALL.len()],
    /// Rows neither dead nor without a vector.
    pub live_vectors: usize,
    pub graph: Option<Graph>,
    /// Bumped by every compaction (row numbers change), so a graph built from an older
    /// snapshot is never installed.
    pub generation: u64,
    /// A graph is being built for this partition in the background.
    pub graph_pending: bool,
}

/// A graph to build in the background from a snapshot of one partition (see
/// [`super::VectorIndex::install_graph`]).
#[derive(Debug)]
pub(crate) struct GraphJob {
    /// The [`super::VectorIndex`] it belongs to (a cleared index starts a new epoch).
    pub epoch: u64,
    pub part: u32,
    pub generation: u64,
    /// Rows at snapshot time; rows appended later are inserted when the graph is installed.
    pub snapshot_rows: u32,
    pub capacity: usize,
    pub dim: usize,
    pub rows: Vec<u32>,
    pub data: Vec<f32>,
}

impl GraphJob {
    /// Builds the graph (slow: thousands of inserts per second); holds no lock.
    pub fn build(&self, params: &HnswParams) -> Graph {
        let rows = self.rows.iter().copied().zip(self.data.chunks_exact(self.dim));
        Graph::build(params, self.capacity, rows)
    }
}

/// How to run a search in one partition.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchParams<'a> {
    pub k: usize,
    pub exact_threshold: usize,
    pub hnsw: &'a HnswParams,
}

impl Partition {
    pub fn new(namespace: NamespaceKey, dim: usize) -> Self {
        Partition {
            namespace,
            dim,
            ids: Vec::new(),
            layers: Vec::new(),
            categories: Vec::new(),
            created: Vec::new(),
            expires: Vec::new(),
            meta: Vec::new(),
            flags: Vec::new(),
            vectors: Vec::new(),
            codes: Vec::new(),
            code_scales: Vec::new(),
            live: 0,
            live_by_layer: [0; memory_core::Layer::ALL.len()],
            live_vectors: 0,
            graph: None,
            generation: 0,
            graph_pending: false,
        }
    }

    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    pub fn dead(&self) -> usize {
        self.rows() - self.live
    }

    pub fn vector(&self, row: usize) -> &[f32] {
        &self.vectors[row * self.dim..(row + 1) * self.dim]
    }

    /// Appends a row; its vector must be unit length and `dim` long when present.
    pub fn push(&mut self, r: Row<'_>) -> u32 {
        let row = self.ids.len() as u32;
        self.ids.push(r.id);
        self.layers.push(r.layer);
        self.categories.push(r.category);
        self.created.push(r.created);
        self.expires.push(r.expires);
        self.meta.push(r.meta);
        match r.vector {
            Some(v) => {
                self.flags.push(0);
                self.vectors.extend_from_slice(v);
                self.code_scales.push(quantize(v, &mut self.codes));
                self.live_vectors += 1;
            }
            None => {
                self.flags.push(NO_VECTOR);
                // A zero row keeps row arithmetic trivial; memories without vectors are rare.
                self.vectors.resize(self.vectors.len() + self.dim, 0.0);
                self.codes.resize(self.codes.len() + self.dim, 0);
                self.code_scales.push(0.0);
            }
        }
        self.live += 1;
        self.live_by_layer[usize::from(r.layer)] += 1;
        row
    }

    /// Tombstones a row.
    pub fn kill(&mut self, row: u32) {
        let f = &mut self.flags[row as usize];
        if *f & DEAD == 0 {
            if *f & NO_VECTOR == 0 {
                self.live_vectors -= 1;
            }
            *f |= DEAD;
            self.live -= 1;
            self.live_by_layer[usize::from(self.layers[row as usize])] -= 1;
        }
    }

    /// Drops dead rows; returns each surviving id with its new row. The graph is dropped
    /// (row numbers changed); the caller decides whether to rebuild it.
    pub fn compact(&mut self) -> Vec<(MemoryId, u32)> {
        let mut moved = Vec::with_capacity(self.live);
        let mut next = Partition::new(self.namespace.clone(), self.dim);
        next.vectors.reserve(self.live * self.dim);
        next.codes.reserve(self.live * self.dim);
        // Moved, not cloned: `self` is replaced below.
        let meta = std::mem::take(&mut self.meta);
        for (row, meta) in meta.into_iter().enumerate() {
            let f = self.flags[row];
            if f & DEAD != 0 {
                continue;
            }
            let new_row = next.push(Row {
                id: self.ids[row],
                layer: self.layers[row],
                category: self.categories[row],
                created: self.created[row],
                expires: self.expires[row],
                meta,
                vector: (f & NO_VECTOR == 0).then(|| self.vector(row)),
            });
            moved.push((self.ids[row], new_row));
        }
        next.generation = self.generation + 1;
        *self = next;
        moved
    }

    /// A snapshot of every live vector, to build this partition's graph off the lock.
    pub fn graph_job(&self, part: u32, epoch: u64) -> GraphJob {
        let rows: Vec<u32> = (0..self.rows()).filter(|&r| self.flags[r] == 0).map(|r| r as u32).collect();
        let mut data = Vec::with_capacity(rows.len() * self.dim);
        for &r in &rows {
            data.extend_from_slice(self.vector(r as usize));
        }
        GraphJob {
            epoch,
            part,
            generation: self.generation,
            snapshot_rows: self.rows() as u32,
            capacity: self.rows() * 2,
            dim: self.dim,
            rows,
            data,
        }
    }

    /// Adds rows to the graph (rows appended since it was built).
    pub fn graph_insert(&mut self, rows: &[u32]) {
        let Some(graph) = self.graph.as_mut() else { return };
        let data: Vec<(u32, &[f32])> = rows
            .iter()
            .filter(|&&r| self.flags[r as usize] & NO_VECTOR == 0)
            .map(|&r| (r, &self.vectors[r as usize * self.dim..(r as usize + 1) * self.dim]))
            .collect();
        graph.insert(&data);
    }

    /// Which rows a search may return: live rows with a vector that `filter` accepts and
    /// `excluded` (sorted rows) does not hold.
    pub fn acceptor<'a>(&'a self, filter: &'a RowFilter, excluded: &'a [u32]) -> impl Fn(usize) -> bool + 'a {
        let trivial = filter.is_trivial();
        move |row: usize| {
            self.flags[row] == 0
                && (trivial || filter.accepts(self, row))
                && (excluded.is_empty() || excluded.binary_search(&(row as u32)).is_err())
        }
    }

    /// How a search for the `k` best rows reads this partition: exactly (the caller scans the
    /// rows of every such partition together, see [`super::VectorIndex::search`]) while the
    /// partition, or the part of it the filter leaves, is small; through its HNSW graph
    /// otherwise.
    pub fn search(
        &self,
        query: &[f32],
        filter: &RowFilter,
        excluded: &[u32],
        p: SearchParams<'_>,
        stats: &mut SearchStats,
    ) -> Searched {
        if p.k == 0 || self.live_vectors == 0 {
            return Searched::Nothing;
        }
        let Some(graph) = &self.graph else { return Searched::Exactly };
        let accept = self.acceptor(filter, excluded);
        // Like qdrant: estimate what the filter leaves; few survivors are cheaper (and exact)
        // to scan than a graph walk, which would have to wade through everything filtered out.
        let matching = if filter.is_trivial() && excluded.is_empty() {
            self.live_vectors
        } else {
            (0..self.rows()).filter(|&r| accept(r)).count()
        };
        if matching == 0 {
            return Searched::Nothing;
        }
        if matching <= p.exact_threshold {
            return Searched::Exactly;
        }
        // Over-fetch in proportion to what the filter and the tombstones hide.
        let total = graph.points().max(1);
        let want = p.k.min(matching);
        let mut fetch = (p.k * total).div_ceil(matching).max(p.k).min(total);
        loop {
            stats.hnsw_searches += 1;
            let ef = p.hnsw.ef_search.max(2 * fetch);
            let mut out = Vec::with_capacity(p.k);
            for (row, score) in graph.search(query, fetch, ef) {
                if (row as usize) < self.rows() && accept(row as usize) {
                    out.push(Scored { score, row });
                    if out.len() == p.k {
                        break;
                    }
                }
            }
            if out.len() >= want {
                return Searched::Graph(out);
            }
            if fetch >= total || fetch > 4 * p.exact_threshold.max(p.k) {
                // The graph could not produce enough survivors: fall back to the exact answer.
                return Searched::Exactly;
            }
            fetch = (fetch * 4).min(total);
        }
    }
}

/// What [`Partition::search`] decided.
#[derive(Debug)]
pub(crate) enum Searched {
    /// No row can match.
    Nothing,
    /// The graph's best rows, best first.
    Graph(Vec<Scored>),
    /// Scan the accepted rows exactly, together with the other partitions that need it.
    Exactly,
}

/// A row of one of the partitions an exact scan reads: (position in its `parts`, row).
pub(crate) type Slot = (u32, u32);

/// One partition of an exact scan, with the rows it may return.
pub(crate) struct ExactPart<'a, F: Fn(usize) -> bool> {
    pub part: &'a Partition,
    pub accept: F,
}

/// The `k` best accepted rows of several partitions by exact score. When they hold more
/// vectors than `k` and a margin, the int8 codes pick `k` and the margin (half of `k`, at least
/// [`MIN_MARGIN`]) across all of them, and only those are re-scored with their full vectors:
/// quantization moves a score by about 0.001 (measured in the tests below), far less than the
/// gap between the `k`-th best and the candidates it would take to push one out. One pass over
/// all partitions (rather than a top-k per partition) re-scores `k` and the margin once, not
/// once per partition: the full vectors are four times the bytes of the codes, and scans are
/// bound by memory bandwidth.
pub(crate) fn scan_exactly<F: Fn(usize) -> bool>(
    query: &[f32],
    parts: &[ExactPart<'_, F>],
    k: usize,
) -> Vec<Scored<Slot>> {
    let wanted = k + (k / 2).max(MIN_MARGIN);
    let mut top = TopK::new(k);
    let vectors: usize = parts.iter().map(|p| p.part.live_vectors).sum();
    if vectors <= wanted {
        let mut scores = Vec::new();
        for (at, p) in parts.iter().enumerate() {
            scores.clear();
            dot_rows(query, &p.part.vectors, &mut scores);
            for (row, &score) in scores.iter().enumerate().filter(|&(r, _)| (p.accept)(r)) {
                top.push(score, (at as u32, row as u32));
            }
        }
        return top.into_sorted();
    }
    let mut codes = Vec::with_capacity(query.len());
    let query_scale = quantize(query, &mut codes);
    let mut rough = TopK::new(wanted);
    let mut scores = Vec::new();
    for (at, p) in parts.iter().enumerate() {
        let part = p.part;
        // Every row's score in one vectorized pass, then the filter: cheaper than a filtered
        // loop that the compiler cannot vectorize.
        scores.clear();
        dot_codes_rows(&codes, &part.codes, &mut scores);
        for (row, &score) in scores.iter().enumerate() {
            if (p.accept)(row) {
                rough.push(score as f32 * query_scale * part.code_scales[row], (at as u32, row as u32));
            }
        }
    }
    for s in rough.into_sorted() {
        let (at, row) = s.row;
        top.push(dot(query, parts[at as usize].part.vector(row as usize)), s.row);
    }
    top.into_sorted()
}

/// Fewest candidates beyond `k` that an exact scan re-scores with full vectors.
const MIN_MARGIN: usize = 32;

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::vector::scan::normalize;

    fn unit(rng: &mut rand::rngs::StdRng, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        assert!(normalize(&mut v));
        v
    }

    fn partition(rng: &mut rand::rngs::StdRng, name: &str, dim: usize, rows: usize) -> Partition {
        let mut p = Partition::new(NamespaceKey::new(name).unwrap(), dim);
        for i in 0..rows {
            let v = unit(rng, dim);
            p.push(Row {
                id: MemoryId::from_uuid(uuid::Uuid::from_u128(i as u128)),
                layer: 0,
                category: 0,
                created: 0,
                expires: i64::MAX,
                meta: Box::new([]),
                vector: Some(&v),
            });
        }
        p
    }

    /// The int8 first pass never changes the answer: the slots and scores of a scan over one
    /// or several partitions are those of a full-precision scan of every accepted row.
    #[test]
    fn an_exact_scan_returns_the_full_precision_top_k() {
        let dim = 64;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut parts = vec![partition(&mut rng, "a", dim, 3000), partition(&mut rng, "b", dim, 700)];
        parts.push(partition(&mut rng, "c", dim, 20));
        parts[0].kill(5);
        parts[1].kill(0);
        let filter = RowFilter {
            layers: RowFilter::ANY_LAYER,
            categories: None,
            from: i64::MIN,
            before: i64::MAX,
            valid_after: i64::MIN,
            meta: None,
        };
        let excluded = [3u32, 9];
        for _ in 0..30 {
            let q = unit(&mut rng, dim);
            for chosen in [&parts[..1], &parts[..], &parts[2..]] {
                let scan: Vec<ExactPart<'_, _>> =
                    chosen.iter().map(|part| ExactPart { part, accept: part.acceptor(&filter, &excluded) }).collect();
                for k in [1, 10, 50, 200] {
                    let got = scan_exactly(&q, &scan, k);
                    let q = q.as_slice();
                    let mut want: Vec<Scored<Slot>> = chosen
                        .iter()
                        .enumerate()
                        .flat_map(|(at, p)| {
                            (0..p.rows())
                                .filter(|&r| p.flags[r] == 0 && !excluded.contains(&(r as u32)))
                                .map(move |r| Scored { score: dot(q, p.vector(r)), row: (at as u32, r as u32) })
                        })
                        .collect();
                    want.sort_by(|a, b| b.cmp(a));
                    want.truncate(k);
                    assert_eq!(got, want, "k {k}, {} partitions", chosen.len());
                }
            }
        }
    }
}
