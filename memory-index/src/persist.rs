//! On-disk layout under the index directory, and the vectors file format.
//!
//! ```text
//! lock               the directory lock (`flock`: shared to load, exclusive to checkpoint)
//! meta.json          format version, model id, dimension, analyzer, store id, text directory,
//!                    applied_seq (written last, atomically)
//! text-<uuid>/       the tantivy index of the checkpoint (a new directory when written anew)
//! vectors.bin        every partition's rows (see below), replaced atomically by a checkpoint
//! graphs/<name>.hnsw.{graph,data}   hnsw_rs dumps of large namespaces, named in vectors.bin
//! ```
//!
//! `vectors.bin` (native little-endian; loaded with a few bulk reads straight into the
//! partitions' columns, so reopening is IO-bound):
//! ```text
//! "MIXVEC01" u32 version, u32 0x01020304 (endianness), u32 dimension, str model_id,
//! u32 n + n str layer names, u32 n + n str category names, u32 n + n str metadata terms (by id),
//! u32 partitions, per partition: str namespace, u64 rows, u64 metadata term ids (sum over rows),
//!                                str graph (empty: none), u64 graph points
//! per partition: rows x u128 id, rows x u8 layer, rows x u32 category, rows x i64 created,
//!                rows x i64 expires, rows x u32 metadata term count, term ids x u32 (row by row,
//!                each row's sorted), rows x u8 flags, rows x dim x f32 vectors
//! "MIXEND01"
//! ```
//! (`str` is a u32 byte length and UTF-8 bytes.) Any mismatch, including a short file, is an
//! error that asks for a reindex; nothing in here panics on bad input.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use memory_core::{Category, Error, Layer, MemoryId, NamespaceKey, Result};
use serde::{Deserialize, Serialize};

use crate::vector::{DEAD, Graph, Loc, NO_VECTOR, Partition, VectorIndex};

/// Longest metadata term the reader accepts (`terms` keeps them far shorter).
const MAX_TERM: usize = 1 << 16;

/// Version of the directory layout and file formats; bumped on incompatible change. Checked in
/// `meta.json` (so an old tantivy schema is refused before tantivy opens it) and `vectors.bin`.
/// 2: expiry and metadata terms in the text schema and the vector rows. 3: the store id and a
/// named text directory in `meta.json`.
pub(crate) const FORMAT_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"MIXVEC01";
const END_MAGIC: &[u8; 8] = b"MIXEND01";
const ENDIAN: u32 = 0x0102_0304;
/// Longest string the reader accepts (namespace keys, category names, model ids are far shorter).
const MAX_STR: usize = 1 << 16;

pub(crate) const META_FILE: &str = "meta.json";
/// The text directory of format 2 and earlier (removed by the first checkpoint).
const OLD_TEXT_DIR: &str = "text";
pub(crate) const VECTORS_FILE: &str = "vectors.bin";
pub(crate) const GRAPHS_DIR: &str = "graphs";

/// `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Meta {
    pub format_version: u32,
    pub model_id: String,
    pub dimension: usize,
    pub analyzer: String,
    pub applied_seq: u64,
    /// Whether `vectors.bin` has been written (a fresh index has none yet).
    pub vectors: bool,
    /// The store the index was built from.
    #[serde(default)]
    pub store_id: Option<String>,
    /// The directory of the text index, relative to the index directory.
    #[serde(default = "old_text_dir")]
    pub text_dir: String,
}

fn old_text_dir() -> String {
    OLD_TEXT_DIR.to_owned()
}

/// Whether `dir` holds any file an index writes (other than the lock).
pub(crate) fn holds_index_files(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name == VECTORS_FILE || name == GRAPHS_DIR || name == OLD_TEXT_DIR || name.starts_with("text-")
    })
}

/// Deletes every text directory but `keep`, and temporary files of interrupted writes (best
/// effort: a leftover wastes space but is never read).
pub(crate) fn remove_stale_text(dir: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale_text = (name == OLD_TEXT_DIR || name.starts_with("text-")) && name != keep;
        if stale_text {
            let _ = std::fs::remove_dir_all(e.path());
        } else if name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub(crate) fn corrupt(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::internal(format!("index file {} is corrupt or incomplete ({why}): run `memory reindex`", path.display()))
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("index file {}: {e}", path.display())).with_source(e)
}

/// Reads `meta.json`; `Ok(None)` when there is none.
pub(crate) fn read_meta(dir: &Path) -> Result<Option<Meta>> {
    let path = dir.join(META_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| corrupt(&path, e))
}

/// Writes `meta.json` atomically (temp file, fsync, rename).
pub(crate) fn write_meta(dir: &Path, meta: &Meta) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(meta).expect("meta serializes");
    write_atomically(&dir.join(META_FILE), |w| w.write_all(&bytes))
}

fn write_atomically(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut w = BufWriter::with_capacity(8 << 20, File::create(&tmp)?);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}

fn put_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

/// Writes `vectors.bin`, first dumping every graph that changed since its last dump. Returns
/// the graph basenames the file refers to (everything else under `graphs/` is stale).
pub(crate) fn write_vectors(dir: &Path, model_id: &str, v: &VectorIndex) -> Result<Vec<String>> {
    let graphs_dir = dir.join(GRAPHS_DIR);
    let parts: Vec<(usize, &Partition)> = v.parts.iter().enumerate().filter(|(_, p)| p.rows() > 0).collect();
    let mut graph_names: Vec<Option<String>> = Vec::with_capacity(parts.len());
    for (i, p) in &parts {
        let Some(g) = &p.graph else {
            graph_names.push(None);
            continue;
        };
        let reusable = g.saved_as().filter(|name| graphs_dir.join(format!("{name}.hnsw.graph")).is_file());
        let name = match reusable {
            Some(name) => name,
            None => {
                std::fs::create_dir_all(&graphs_dir).map_err(|e| io_err(&graphs_dir, e))?;
                let name = format!("p{i}-{}", uuid::Uuid::now_v7().simple());
                g.dump(&graphs_dir, &name)?;
                name
            }
        };
        graph_names.push(Some(name));
    }

    write_atomically(&dir.join(VECTORS_FILE), |w| {
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT_VERSION.to_le_bytes())?;
        w.write_all(&ENDIAN.to_ne_bytes())?;
        w.write_all(&(v.dim as u32).to_le_bytes())?;
        put_str(w, model_id)?;
        w.write_all(&(Layer::ALL.len() as u32).to_le_bytes())?;
        for l in Layer::ALL {
            put_str(w, l.as_str())?;
        }
        w.write_all(&(v.categories.len() as u32).to_le_bytes())?;
        for c in &v.categories {
            put_str(w, c.as_str())?;
        }
        let mut terms: Vec<&str> = vec![""; v.meta_term_ids.len()];
        for (t, &id) in &v.meta_term_ids {
            terms[id as usize] = t;
        }
        w.write_all(&(terms.len() as u32).to_le_bytes())?;
        for t in terms {
            put_str(w, t)?;
        }
        w.write_all(&(parts.len() as u32).to_le_bytes())?;
        for ((_, p), name) in parts.iter().zip(&graph_names) {
            put_str(w, p.namespace.as_str())?;
            w.write_all(&(p.rows() as u64).to_le_bytes())?;
            w.write_all(&(p.meta.iter().map(|m| m.len() as u64).sum::<u64>()).to_le_bytes())?;
            put_str(w, name.as_deref().unwrap_or(""))?;
            w.write_all(&(p.graph.as_ref().map_or(0, |g| g.points()) as u64).to_le_bytes())?;
        }
        for (_, p) in &parts {
            let ids: Vec<u128> = p.ids.iter().map(|id| id.as_uuid().as_u128()).collect();
            w.write_all(bytemuck::cast_slice(&ids))?;
            w.write_all(&p.layers)?;
            w.write_all(bytemuck::cast_slice(&p.categories))?;
            w.write_all(bytemuck::cast_slice(&p.created))?;
            w.write_all(bytemuck::cast_slice(&p.expires))?;
            let counts: Vec<u32> = p.meta.iter().map(|m| m.len() as u32).collect();
            w.write_all(bytemuck::cast_slice(&counts))?;
            for m in &p.meta {
                w.write_all(bytemuck::cast_slice(m))?;
            }
            w.write_all(&p.flags)?;
            w.write_all(bytemuck::cast_slice(&p.vectors))?;
        }
        w.write_all(END_MAGIC)
    })?;
    Ok(graph_names.into_iter().flatten().collect())
}

/// Deletes graph dumps that `keep` does not name.
pub(crate) fn remove_stale_graphs(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir.join(GRAPHS_DIR)) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let base = name.split(".hnsw.").next().unwrap_or("");
        if !keep.iter().any(|k| k == base) {
            // Best effort: a leftover file wastes space but is never read.
            let _ = std::fs::remove_file(e.path());
        }
    }
}

struct Reader {
    path: PathBuf,
    r: BufReader<File>,
    remaining: u64,
}

impl Reader {
    fn fail(&self, why: impl std::fmt::Display) -> Error {
        corrupt(&self.path, why)
    }

    fn take(&mut self, n: u64) -> Result<()> {
        if n > self.remaining {
            return Err(self.fail("the file ends early"));
        }
        self.remaining -= n;
        Ok(())
    }

    fn bytes(&mut self, buf: &mut [u8]) -> Result<()> {
        self.take(buf.len() as u64)?;
        let path = self.path.clone();
        self.r.read_exact(buf).map_err(|e| io_err(&path, e))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn str(&mut self) -> Result<String> {
        self.str_at_most(MAX_STR)
    }

    fn str_at_most(&mut self, max: usize) -> Result<String> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(self.fail("a string is implausibly long"));
        }
        let mut b = vec![0u8; len];
        self.bytes(&mut b)?;
        String::from_utf8(b).map_err(|_| self.fail("a string is not UTF-8"))
    }

    /// Reads `n` plain values straight into a fresh vector (no per-value decoding).
    fn column<T: bytemuck::Pod + Default>(&mut self, n: usize) -> Result<Vec<T>> {
        let bytes = (n as u64).checked_mul(size_of::<T>() as u64).ok_or_else(|| self.fail("a size overflows"))?;
        self.take(bytes)?;
        let mut v = vec![T::default(); n];
        let path = self.path.clone();
        self.r.read_exact(bytemuck::cast_slice_mut(&mut v)).map_err(|e| io_err(&path, e))?;
        Ok(v)
    }
}

struct PartHeader {
    namespace: NamespaceKey,
    rows: usize,
    /// Metadata term ids of all rows together.
    meta_ids: usize,
    graph: String,
    graph_points: usize,
    /// Where the partition's columns start in the file.
    offset: u64,
    /// How long they are.
    bytes: u64,
}

/// Threads that read partitions at open; page faults and copies of a 1M-vector file are the
/// cost (measured 1.3-1.9 s single-threaded for 1.5 GB), and they parallelize.
const LOAD_THREADS: usize = 4;

/// Loads `vectors.bin` into a [`VectorIndex`] configured like `empty`.
pub(crate) fn read_vectors(dir: &Path, model_id: &str, empty: VectorIndex) -> Result<VectorIndex> {
    let path = dir.join(VECTORS_FILE);
    let open = || {
        File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => corrupt(&path, "the file is missing"),
            _ => io_err(&path, e),
        })
    };
    let file = open()?;
    let len = file.metadata().map_err(|e| io_err(&path, e))?.len();
    let mut r = Reader { path: path.clone(), r: BufReader::with_capacity(1 << 16, file), remaining: len };
    let mut v = empty;

    let mut magic = [0u8; 8];
    r.bytes(&mut magic)?;
    if &magic != MAGIC {
        return Err(r.fail("not a vectors file"));
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(r.fail(format!("format version {version}, this build reads {FORMAT_VERSION}")));
    }
    let mut endian = [0u8; 4];
    r.bytes(&mut endian)?;
    if u32::from_ne_bytes(endian) != ENDIAN {
        return Err(r.fail("written on a machine of the other byte order"));
    }
    let dim = r.u32()? as usize;
    let file_model = r.str()?;
    if dim != v.dim || file_model != model_id {
        return Err(
            r.fail(format!("it holds model {file_model} (dim {dim}), meta.json says {model_id} (dim {})", v.dim))
        );
    }

    let n_layers = r.u32()? as usize;
    let mut layer_map = Vec::with_capacity(n_layers.min(64));
    for _ in 0..n_layers {
        let name = r.str()?;
        let l: Layer = name.parse().map_err(|_| r.fail(format!("unknown layer {name:?}")))?;
        layer_map.push(crate::vector::layer_index(l));
    }
    let n_categories = r.u32()? as usize;
    for i in 0..n_categories {
        let name = r.str()?;
        let c = Category::new(&name).map_err(|_| r.fail(format!("invalid category {name:?}")))?;
        if v.category_ids.insert(c.clone(), i as u32).is_some() {
            return Err(r.fail(format!("category {name:?} appears twice")));
        }
        v.categories.push(c);
    }
    let n_terms = r.u32()?;
    if n_terms == crate::vector::NO_TERM {
        return Err(r.fail("too many metadata terms"));
    }
    v.meta_term_ids.reserve((n_terms as usize).min(1 << 20));
    for i in 0..n_terms {
        let t = r.str_at_most(MAX_TERM)?;
        if v.meta_term_ids.insert(t.into_boxed_str(), i).is_some() {
            return Err(r.fail("a metadata term appears twice"));
        }
    }

    let n_parts = r.u32()? as usize;
    let mut headers = Vec::with_capacity(n_parts.min(1 << 20));
    // Per row: id 16 + layer 1 + category 4 + created 8 + expires 8 + term count 4 + flags 1,
    // plus the vector; plus 4 per metadata term id.
    let row_bytes = 42 + 4 * dim as u64;
    let mut data_bytes: u64 = 0;
    for _ in 0..n_parts {
        let ns = r.str()?;
        let namespace = NamespaceKey::new(&ns).map_err(|_| r.fail(format!("invalid namespace {ns:?}")))?;
        let rows = r.u64()?;
        let meta_ids = r.u64()?;
        let graph = r.str()?;
        let graph_points = r.u64()?;
        let part_bytes = rows
            .checked_mul(row_bytes)
            .and_then(|b| meta_ids.checked_mul(4).and_then(|m| b.checked_add(m)))
            .ok_or_else(|| r.fail("a size overflows"))?;
        headers.push(PartHeader {
            namespace,
            rows: rows as usize,
            meta_ids: meta_ids as usize,
            graph,
            graph_points: graph_points as usize,
            offset: data_bytes,
            bytes: part_bytes,
        });
        data_bytes = data_bytes.checked_add(part_bytes).ok_or_else(|| r.fail("a size overflows"))?;
    }
    // Check the length before allocating anything large: a truncated file fails here, cheaply.
    if data_bytes + END_MAGIC.len() as u64 != r.remaining {
        return Err(r.fail(format!("{} bytes of rows expected, {} present", data_bytes + 8, r.remaining)));
    }
    let data_start = len - r.remaining;
    for h in &mut headers {
        h.offset += data_start;
    }
    let mut end = [0u8; 8];
    {
        let mut f = open()?;
        f.seek(SeekFrom::Start(len - 8)).and_then(|_| f.read_exact(&mut end)).map_err(|e| io_err(&path, e))?;
    }
    if &end != END_MAGIC {
        return Err(r.fail("the end marker is missing"));
    }

    // Contiguous runs of partitions of about equal size, one per thread.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, LOAD_THREADS);
    let per_thread = data_bytes.div_ceil(threads as u64).max(1);
    let mut groups: Vec<Vec<PartHeader>> = vec![Vec::new()];
    let mut group_bytes = 0;
    for h in headers {
        let bytes = h.bytes;
        if group_bytes >= per_thread {
            groups.push(Vec::new());
            group_bytes = 0;
        }
        group_bytes += bytes;
        groups.last_mut().expect("one group").push(h);
    }
    let ctx = LoadContext {
        path: &path,
        graphs: &dir.join(GRAPHS_DIR),
        dim,
        layer_map: &layer_map,
        categories: v.categories.len(),
        terms: n_terms,
    };
    let loaded: Vec<Result<Vec<Partition>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups.into_iter().map(|g| scope.spawn(|| load_group(&ctx, g))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(corrupt(&path, "a loader thread panicked"))))
            .collect()
    });

    let live: usize = loaded.iter().flatten().flatten().map(|p| p.live).sum();
    v.catalog.reserve(live);
    for part in loaded {
        for part in part? {
            if v.part_of.contains_key(&part.namespace) {
                return Err(corrupt(&path, format!("namespace {} appears twice", part.namespace)));
            }
            let p = v.parts.len() as u32;
            for (row, id) in part.ids.iter().enumerate() {
                if part.flags[row] & DEAD == 0 && v.catalog.insert(*id, Loc { part: p, row: row as u32 }).is_some() {
                    return Err(corrupt(&path, format!("memory {id} appears twice")));
                }
            }
            v.part_of.insert(part.namespace.clone(), p);
            v.parts.push(part);
        }
    }
    Ok(v)
}

struct LoadContext<'a> {
    path: &'a Path,
    graphs: &'a Path,
    dim: usize,
    layer_map: &'a [u8],
    categories: usize,
    terms: u32,
}

/// Reads and checks a contiguous run of partitions (and loads their graphs).
fn load_group(ctx: &LoadContext<'_>, headers: Vec<PartHeader>) -> Result<Vec<Partition>> {
    let Some(first) = headers.first() else { return Ok(Vec::new()) };
    let mut file = File::open(ctx.path).map_err(|e| io_err(ctx.path, e))?;
    file.seek(SeekFrom::Start(first.offset)).map_err(|e| io_err(ctx.path, e))?;
    // The length was checked against the headers already; `remaining` only guards the arithmetic.
    let mut r =
        Reader { path: ctx.path.to_path_buf(), r: BufReader::with_capacity(1 << 20, file), remaining: u64::MAX };
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let ids: Vec<u128> = r.column(h.rows)?;
        let layers: Vec<u8> = r.column(h.rows)?;
        let categories: Vec<u32> = r.column(h.rows)?;
        let created: Vec<i64> = r.column(h.rows)?;
        let expires: Vec<i64> = r.column(h.rows)?;
        let counts: Vec<u32> = r.column(h.rows)?;
        let meta_ids: Vec<u32> = r.column(h.meta_ids)?;
        let flags: Vec<u8> = r.column(h.rows)?;
        let vectors: Vec<f32> = r.column(h.rows * ctx.dim)?;

        let mut part = Partition::new(h.namespace, ctx.dim);
        part.ids = ids.into_iter().map(|x| MemoryId::from_uuid(uuid::Uuid::from_u128(x))).collect();
        part.layers = Vec::with_capacity(h.rows);
        for l in layers {
            part.layers.push(*ctx.layer_map.get(l as usize).ok_or_else(|| r.fail("a row has an unknown layer"))?);
        }
        if categories.iter().any(|&c| c as usize >= ctx.categories) {
            return Err(r.fail("a row has an unknown category"));
        }
        if flags.iter().any(|&f| f & !(DEAD | NO_VECTOR) != 0) {
            return Err(r.fail("a row has unknown flags"));
        }
        part.categories = categories;
        part.created = created;
        part.expires = expires;
        part.meta = split_meta(&counts, &meta_ids, ctx.terms).map_err(|why| r.fail(why))?;
        part.live = flags.iter().filter(|&&f| f & DEAD == 0).count();
        part.live_vectors = flags.iter().filter(|&&f| f == 0).count();
        for (&layer, _) in part.layers.iter().zip(&flags).filter(|(_, f)| **f & DEAD == 0) {
            part.live_by_layer[usize::from(layer)] += 1;
        }
        match ctx.dim {
            0 => part.code_scales = vec![0.0; h.rows],
            dim => {
                part.codes.reserve(vectors.len());
                for v in vectors.chunks_exact(dim) {
                    part.code_scales.push(crate::vector::scan::quantize(v, &mut part.codes));
                }
            }
        }
        part.flags = flags;
        part.vectors = vectors;
        if !h.graph.is_empty() {
            part.graph = Some(Graph::load(ctx.graphs, &h.graph, h.graph_points)?);
        }
        out.push(part);
    }
    Ok(out)
}

/// Cuts the concatenated term ids into one sorted list per row, checking every id.
fn split_meta(counts: &[u32], ids: &[u32], terms: u32) -> std::result::Result<Vec<Box<[u32]>>, &'static str> {
    let mut rest = ids;
    let mut out = Vec::with_capacity(counts.len());
    for &n in counts {
        let Some((row, tail)) = rest.split_at_checked(n as usize) else {
            return Err("the metadata term counts exceed the term ids");
        };
        // Strictly ascending: searches binary-search each row's list.
        if row.windows(2).any(|w| w[0] >= w[1]) || row.last().is_some_and(|&t| t >= terms) {
            return Err("a row has unsorted or unknown metadata terms");
        }
        out.push(row.into());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err("the metadata term counts fall short of the term ids");
    }
    Ok(out)
}
