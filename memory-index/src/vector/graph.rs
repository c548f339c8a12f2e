//! One namespace's hnsw_rs graph: build, insert, search, dump and reload, with hnsw_rs's traps
//! (process exit on bad parameters, panics on malformed dumps, borrowed reloads) fenced off.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;

use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use memory_core::{Error, Result};

use crate::options::HnswParams;

/// hnsw_rs caps layers at 16.
const MAX_LAYERS: usize = 16;
/// Batches at least this large go through hnsw_rs's parallel (rayon) insert.
const PARALLEL_INSERT: usize = 64;

/// An HNSW graph whose data ids are the partition's row numbers.
pub(crate) struct Graph {
    // `'static`: a reloaded graph borrows its `HnswIo`, which is leaked (a few hundred bytes per
    // reload) so graph and loader live together without self-references.
    hnsw: Hnsw<'static, f32, DistDot>,
    /// Rows inserted so far (dead ones included: hnsw_rs cannot remove points).
    points: usize,
    /// The dump (basename under `graphs/`) that holds exactly this graph, if any.
    saved_as: Mutex<Option<String>>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph").field("points", &self.points).finish_non_exhaustive()
    }
}

impl Graph {
    /// Builds a graph over `rows` (row number, unit vector), in parallel.
    pub fn build<'a>(params: &HnswParams, capacity: usize, rows: impl Iterator<Item = (u32, &'a [f32])>) -> Self {
        let hnsw = Hnsw::new(params.max_connections, capacity.max(1024), MAX_LAYERS, params.ef_construction, DistDot);
        let mut g = Graph { hnsw, points: 0, saved_as: Mutex::new(None) };
        let rows: Vec<(u32, &[f32])> = rows.collect();
        g.insert(&rows);
        g
    }

    /// Adds rows (row number, unit vector).
    pub fn insert(&mut self, rows: &[(u32, &[f32])]) {
        if rows.is_empty() {
            return;
        }
        if rows.len() >= PARALLEL_INSERT {
            let batch: Vec<(&[f32], usize)> = rows.iter().map(|(r, v)| (*v, *r as usize)).collect();
            self.hnsw.parallel_insert_slice(&batch);
        } else {
            for (r, v) in rows {
                self.hnsw.insert_slice((v, *r as usize));
            }
        }
        self.points += rows.len();
        *self.saved_as.get_mut().expect("graph lock") = None;
    }

    /// Points in the graph, dead rows included.
    pub fn points(&self) -> usize {
        self.points
    }

    /// Up to `k` nearest rows as (row, cosine), best first.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        self.hnsw.search(query, k, ef.max(k)).into_iter().map(|n| (n.d_id as u32, 1.0 - n.distance)).collect()
    }

    /// The basename this graph was last saved under, if it has not changed since.
    pub fn saved_as(&self) -> Option<String> {
        self.saved_as.lock().expect("graph lock").clone()
    }

    /// Writes `<dir>/<basename>.hnsw.{graph,data}`.
    pub fn dump(&self, dir: &Path, basename: &str) -> Result<()> {
        self.hnsw
            .file_dump(dir, basename)
            .map_err(|e| Error::unavailable(format!("cannot write graph {basename} in {}: {e}", dir.display())))?;
        *self.saved_as.lock().expect("graph lock") = Some(basename.to_owned());
        Ok(())
    }

    /// Reloads a dump written by [`Graph::dump`] that holds `points` points.
    pub fn load(dir: &Path, basename: &str, points: usize) -> Result<Self> {
        let corrupt = |why: String| {
            Error::internal(format!(
                "vector graph {basename} in {} is corrupt or incomplete ({why}): run `memory reindex`",
                dir.display()
            ))
        };
        for ext in ["hnsw.graph", "hnsw.data"] {
            if !dir.join(format!("{basename}.{ext}")).is_file() {
                return Err(corrupt(format!("{basename}.{ext} is missing")));
            }
        }
        let io = Box::new(HnswIo::new(dir, basename));
        // hnsw_rs asserts on malformed input; a damaged file must be an error, not a crash.
        let loaded = catch_unwind(AssertUnwindSafe(move || load_leaked(io)));
        let hnsw = match loaded {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(corrupt(e)),
            Err(_) => return Err(corrupt("the reader panicked".to_owned())),
        };
        if hnsw.get_nb_point() != points {
            return Err(corrupt(format!("{} points, expected {points}", hnsw.get_nb_point())));
        }
        Ok(Graph { hnsw, points, saved_as: Mutex::new(Some(basename.to_owned())) })
    }
}

/// Leaks the loader, so the graph may borrow it for `'static`.
fn load_leaked(io: Box<HnswIo>) -> std::result::Result<Hnsw<'static, f32, DistDot>, String> {
    let io: &'static mut HnswIo = Box::leak(io);
    io.load_hnsw::<f32, DistDot>().map_err(|e| e.to_string())
}
