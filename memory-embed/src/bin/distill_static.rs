//! `distill-static MINILM_DIR OUT_DIR`: distills all-MiniLM-L6-v2 into a Model2Vec-format static
//! model (run by `cargo xtask models`; build it with `--release`, MiniLM is ~50x slower in debug).
//!
//! Recipe (Model2Vec's): every vocabulary token is embedded alone as `[CLS] token [SEP]` and
//! mean-pooled without normalization; PCA on the token matrix keeps `--pca-dims` components
//! (256 by default); each row is scaled by a SIF weight of its Zipf rank (`--weighting`). The
//! output is written next to OUT_DIR and renamed into place, so a crash leaves no half model.
//! Finally a small quality check compares hash, static and MiniLM on paraphrase and unrelated
//! sentence pairs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use memory_embed::distill::{Pca, log_rank_weight, sif_weight_with};
use memory_embed::{Embedder, HashEmbedder, MiniLmEmbedder, StaticEmbedder, cosine, model2vec};
use serde_json::{Value, json};

const USAGE: &str = "\
Usage: distill-static MINILM_DIR OUT_DIR [--pca-dims N] [--dtype f32|f16|int8] [--weighting sif|log|none]
                     [--ranks words|ids]

  --pca-dims N     principal components to keep (default 256; the teacher's dimension keeps all)
  --dtype D        how the table is stored: f32 (default), f16, or int8 codes with a scale per row
  --weighting W    sif: a/(a+p(rank)) with a=1e-4 (default), log: ln(2+rank), none
  --ranks R        words: Zipf ranks count from the first whole-word token, single characters in
                   their own order (default); ids: the token id is the rank
";

/// Model2Vec's default SIF coefficient.
const SIF_COEFFICIENT: f64 = 1e-4;
/// Tokens per forward pass; each sequence is 3 tokens long, so large batches are cheap.
const BATCH: usize = 512;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("distill-static: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
struct Options {
    teacher: PathBuf,
    out: PathBuf,
    pca_dims: usize,
    storage: model2vec::Storage,
    weighting: String,
    ranks: String,
}

fn parse_args() -> Result<Options, String> {
    let mut positional = Vec::new();
    let mut options = Options {
        teacher: PathBuf::new(),
        out: PathBuf::new(),
        pca_dims: 256,
        storage: model2vec::Storage::F32,
        weighting: "sif".into(),
        ranks: "words".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--pca-dims" => {
                options.pca_dims =
                    value("--pca-dims")?.parse().map_err(|e| format!("--pca-dims must be a number: {e}"))?;
            }
            "--dtype" => options.storage = model2vec::Storage::parse(&value("--dtype")?).map_err(|e| e.to_string())?,
            "--weighting" => options.weighting = value("--weighting")?,
            "--ranks" => options.ranks = value("--ranks")?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`\n{USAGE}")),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [teacher, out] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|p| format!("expected MINILM_DIR and OUT_DIR, got {} argument(s)\n{USAGE}", p.len()))?;
    if !["sif", "log", "none"].contains(&options.weighting.as_str()) {
        return Err(format!("--weighting must be sif, log or none, got `{}`", options.weighting));
    }
    if !["words", "ids"].contains(&options.ranks.as_str()) {
        return Err(format!("--ranks must be words or ids, got `{}`", options.ranks));
    }
    Ok(Options { teacher, out, ..options })
}

fn run() -> Result<(), String> {
    let options = parse_args()?;
    let started = Instant::now();
    let teacher = MiniLmEmbedder::load(&options.teacher).map_err(|e| e.to_string())?;
    let dim = teacher.dimension();
    if options.pca_dims == 0 || options.pca_dims > dim {
        return Err(format!("--pca-dims must be 1..={dim}, got {}", options.pca_dims));
    }
    let tokenizer = teacher.tokenizer();
    let vocab = tokenizer.get_vocab(true);
    let rows = vocab.values().map(|&id| id as usize + 1).max().unwrap_or(0);
    let mut tokens = vec![String::new(); rows];
    for (token, &id) in &vocab {
        tokens[id as usize] = token.clone();
    }
    let special_id = |name: &str| tokenizer.token_to_id(name).ok_or_else(|| format!("tokenizer has no {name} token"));
    let (cls, sep) = (special_id("[CLS]")?, special_id("[SEP]")?);
    let is_special = |token: &str| token.is_empty() || (token.starts_with('[') && token.ends_with(']'));
    eprintln!("distill-static: teacher {} ({dim} dims), {rows} vocabulary tokens", teacher.model_id());

    // 1. The teacher's vector for every token on its own.
    let embed_started = Instant::now();
    let mut table = Vec::with_capacity(rows * dim);
    let ids: Vec<u32> = (0..rows as u32).collect();
    for (done, chunk) in ids.chunks(BATCH).enumerate() {
        let sequences: Vec<Vec<u32>> = chunk.iter().map(|&id| vec![cls, id, sep]).collect();
        for vector in teacher.embed_token_ids(&sequences).map_err(|e| e.to_string())? {
            table.extend(vector);
        }
        let finished = ((done + 1) * BATCH).min(rows);
        if done % 10 == 9 || finished == rows {
            eprintln!(
                "distill-static: embedded {finished}/{rows} tokens ({:.1} s)",
                embed_started.elapsed().as_secs_f64()
            );
        }
    }
    let embed_secs = embed_started.elapsed().as_secs_f64();

    // 2. PCA, fitted on real tokens only: special and unused tokens never come out of
    //    tokenizing text and would only skew the mean.
    let pca_started = Instant::now();
    let real: Vec<usize> = (0..rows).filter(|&i| !is_special(&tokens[i])).collect();
    let real_rows: Vec<f32> = real.iter().flat_map(|&i| table[i * dim..(i + 1) * dim].iter().copied()).collect();
    let pca = Pca::fit(&real_rows, dim, options.pca_dims).map_err(|e| e.to_string())?;
    let out_dim = options.pca_dims;
    let mut reduced = pca.transform(&table);
    eprintln!(
        "distill-static: PCA {dim} -> {out_dim} dims keeps {:.1}% of the variance ({:.1} s)",
        pca.explained() * 100.0,
        pca_started.elapsed().as_secs_f64()
    );

    // 3. Zipf-rank weights; special tokens get zero rows.
    let ranks = zipf_ranks(&tokens, &is_special, &options.ranks);
    let ranked = ranks.iter().flatten().count();
    let normalizer: f64 = (0..ranked).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    for (i, row) in reduced.chunks_exact_mut(out_dim).enumerate() {
        let weight = match (ranks[i], options.weighting.as_str()) {
            (None, _) => 0.0,
            (Some(_), "none") => 1.0,
            (Some(rank), "log") => log_rank_weight(rank),
            (Some(rank), _) => sif_weight_with(rank, normalizer, SIF_COEFFICIENT),
        };
        row.iter_mut().for_each(|x| *x *= weight);
    }

    // 4. Write: the teacher's tokenizer without padding or truncation, the table, a config.
    let tokenizer_json = inference_tokenizer_json(&options.teacher.join("tokenizer.json"))?;
    let config = json!({
        "tokenizer_name": memory_embed::MINILM_DIR_NAME,
        "apply_pca": out_dim,
        "apply_zipf": options.weighting != "none",
        "sif_coefficient": (options.weighting == "sif").then_some(SIF_COEFFICIENT),
        "weighting": options.weighting,
        "zipf_ranks": options.ranks,
        "storage": options.storage.name(),
        "distilled_by": "memory-embed distill-static",
    });
    let staging = sibling(&options.out, "partial");
    let _ = std::fs::remove_dir_all(&staging);
    model2vec::write_model(&staging, &tokenizer_json, &reduced, rows, out_dim, options.storage, config)
        .map_err(|e| e.to_string())?;
    if options.out.exists() {
        std::fs::remove_dir_all(&options.out).map_err(|e| format!("cannot replace {}: {e}", options.out.display()))?;
    }
    std::fs::rename(&staging, &options.out)
        .map_err(|e| format!("cannot move {} to {}: {e}", staging.display(), options.out.display()))?;
    let size = std::fs::metadata(options.out.join("model.safetensors")).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "distill-static: wrote {} ({rows} x {out_dim}, {:.1} MB) in {:.1} s (embedding {embed_secs:.1} s)",
        options.out.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    quality_check(&teacher, &options.out)
}

/// Zipf ranks (0 = most frequent) by vocabulary position, `None` for special tokens. WordPiece
/// vocabularies are frequency-ordered from the first whole word on; before it sit special
/// tokens and single characters. With `words`, ranks count from that first word and the single
/// characters are ranked in their own order (they are frequent: "a", "i", digits); with `ids`
/// the id is the rank, as Model2Vec does.
fn zipf_ranks(tokens: &[String], is_special: &dyn Fn(&str) -> bool, mode: &str) -> Vec<Option<usize>> {
    let first_word =
        tokens.iter().position(|t| !is_special(t) && !t.starts_with("##") && t.chars().count() > 1).unwrap_or(0);
    let first_char = tokens.iter().position(|t| !is_special(t)).unwrap_or(0);
    tokens
        .iter()
        .enumerate()
        .map(|(id, token)| {
            if is_special(token) {
                None
            } else if mode == "ids" {
                Some(id)
            } else if id >= first_word {
                Some(id - first_word)
            } else {
                Some(id - first_char)
            }
        })
        .collect()
}

/// The teacher's tokenizer.json with padding and truncation removed (a static model pools any
/// number of tokens and pads nothing).
fn inference_tokenizer_json(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    value["padding"] = Value::Null;
    value["truncation"] = Value::Null;
    Ok(value.to_string())
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

/// Paraphrases that share few words, so word overlap alone cannot find them.
const PARAPHRASES: &[(&str, &str)] = &[
    (
        "The deployment failed because the database ran out of disk space.",
        "Our deploy broke since the DB volume was full.",
    ),
    ("How do I reset my password?", "I forgot my login credentials and need new ones."),
    ("The cat is sleeping on the sofa.", "A kitten naps on the couch."),
    ("Alice prefers dark mode in her editor.", "Alice likes a dark theme when she writes code."),
    ("The meeting was moved to Thursday afternoon.", "We rescheduled the call for Thursday after lunch."),
    ("Customers complain that the app is slow to start.", "Users report the application takes ages to launch."),
];

/// Prints mean cosines of paraphrase pairs and of unrelated pairs (each first sentence against
/// the next pair's second) for hash, static and MiniLM.
fn quality_check(teacher: &MiniLmEmbedder, static_dir: &Path) -> Result<(), String> {
    let hash = HashEmbedder::new(memory_embed::DEFAULT_HASH_DIMENSION).map_err(|e| e.to_string())?;
    let mut embedders: Vec<(&str, Box<dyn Embedder>)> = vec![("hash", Box::new(hash))];
    match StaticEmbedder::load(static_dir) {
        Ok(model) => embedders.push(("static", Box::new(model))),
        Err(e) => eprintln!("distill-static: quality check skips the static model: {e}"),
    }
    let n = PARAPHRASES.len();
    let unrelated: Vec<(&str, &str)> = (0..n).map(|i| (PARAPHRASES[i].0, PARAPHRASES[(i + 1) % n].1)).collect();
    eprintln!("distill-static: quality check (mean cosine over {n} pairs each)");
    eprintln!("  {:<8} {:>11} {:>10} {:>6} {:>14}", "embedder", "paraphrase", "unrelated", "gap", "us/sentence");
    // Speed on the pair sentences, repeated to 512 texts and embedded in one call.
    let sentences: Vec<&str> = PARAPHRASES.iter().flat_map(|(a, b)| [*a, *b]).cycle().take(512).collect();
    let report = |name: &str, embedder: &dyn Embedder| -> Result<(), String> {
        let mean = |pairs: &[(&str, &str)]| -> Result<f32, String> {
            let mut total = 0.0;
            for (a, b) in pairs {
                let v = embedder.embed(&[a, b]).map_err(|e| e.to_string())?;
                total += cosine(&v[0], &v[1]);
            }
            Ok(total / pairs.len() as f32)
        };
        let (p, u) = (mean(PARAPHRASES)?, mean(&unrelated)?);
        let timer = Instant::now();
        embedder.embed(&sentences).map_err(|e| e.to_string())?;
        let micros = timer.elapsed().as_secs_f64() * 1e6 / sentences.len() as f64;
        eprintln!("  {name:<8} {p:>11.3} {u:>10.3} {:>6.3} {micros:>14.1}", p - u);
        Ok(())
    };
    for (name, embedder) in &embedders {
        report(name, embedder.as_ref())?;
    }
    report("minilm", teacher)
}
