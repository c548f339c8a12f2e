//! Export and import between homes on disk: lossless, idempotent, validated before writing.

use std::io::Cursor;
use std::sync::Arc;

use memory_core::{ErrorKind, Layer, Outcome, TenantId};
use memory_engine::{ExportRequest, HomeOptions, ManualClock, MemoryInput, open_home};

use crate::support::{START, who};

const CONFIG: &str = r#"
[namespaces]
[[namespaces.policies]]
name = "research"
read = ["r"]
write = ["r"]
"#;

async fn home(dir: &std::path::Path, clock: &ManualClock) -> memory_engine::Engine {
    std::fs::write(dir.join("memory.toml"), CONFIG).unwrap();
    let mut options = HomeOptions::new(dir);
    options.embedder = Some("hash".into());
    options.clock = Arc::new(clock.clone());
    open_home(options).await.unwrap().engine
}

async fn export_all(e: &memory_engine::Engine) -> String {
    let mut out = Vec::new();
    let op = who("ops").as_operator();
    e.export(&op, &ExportRequest::default(), &mut out, &mut |_| {}).await.unwrap();
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn export_then_import_reproduces_every_memory_byte_for_byte() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let clock = ManualClock::new(START);
    let a = home(a_dir.path(), &clock).await;
    let r = who("r");
    let first = a
        .remember_now(&r, MemoryInput::new(Layer::Semantic, "fact one").in_namespace("research").meta("k", 1))
        .await
        .unwrap();
    clock.advance_days(1);
    a.remember(&r, "an event", Some("c1")).await.unwrap();
    a.remember(&r, "an event", Some("c1")).await.unwrap();
    let w = MemoryInput::new(Layer::Working, "temporary").expires_at(clock_now(&clock).plus_days(3));
    a.remember_now(&r, w).await.unwrap();
    a.supersede(&r, first.id, MemoryInput::new(Layer::Semantic, "fact one, corrected").in_namespace("research"))
        .await
        .unwrap();
    a.report_outcome(&r, &[first.id], Outcome::Helpful).await.unwrap();
    a.archive_namespace(&who("ops").as_operator(), "research").await.unwrap();
    let exported = export_all(&a).await;
    assert!(exported.lines().count() >= 8, "{exported}");

    let b = home(b_dir.path(), &clock).await;
    let op = who("ops").as_operator();
    let report = b.import(&op, &mut Cursor::new(exported.clone()), &Default::default(), &mut |_| {}).await.unwrap();
    assert_eq!(report.memories, 4);
    let again = export_all(&b).await;
    // Memories and imported namespaces are identical; the tenant's own default and shared
    // namespaces keep their creation times and take the file's metadata.
    let portable = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.contains(r#""kind":"default""#) && !l.contains(r#""kind":"shared""#))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(portable(&again), portable(&exported), "a second export of the imported home must be identical");
    // Importing again changes nothing.
    let report = b.import(&op, &mut Cursor::new(exported.clone()), &Default::default(), &mut |_| {}).await.unwrap();
    assert_eq!((report.memories, report.skipped), (0, 4));
    assert_eq!(export_all(&b).await, again);
    // Each memory is identical field for field, usage statistics included (but the sequence).
    for line in exported.lines().filter(|l| l.contains(r#""type":"memory""#)) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["memory"]["id"].as_str().unwrap().parse().unwrap();
        let mut ma = a.store().get_memory(&TenantId::default_tenant(), id).await.unwrap().unwrap();
        let mut mb = b.store().get_memory(&TenantId::default_tenant(), id).await.unwrap().unwrap();
        (ma.seq, mb.seq) = (0, 0);
        assert_eq!(ma, mb);
    }
}

fn clock_now(clock: &ManualClock) -> memory_core::Timestamp {
    use memory_engine::Clock;
    clock.now()
}

#[tokio::test]
async fn a_bad_file_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let e = home(dir.path(), &clock).await;
    let r = who("r");
    e.remember(&r, "something", None).await.unwrap();
    let good = export_all(&e).await;
    let op = who("ops").as_operator();
    let fresh = tempfile::tempdir().unwrap();
    let target = home(fresh.path(), &clock).await;
    let cases = [
        good.lines().skip(1).collect::<Vec<_>>().join("\n"),
        good.lines().take(good.lines().count() - 1).collect::<Vec<_>>().join("\n"),
        good.replace(r#""version":2"#, r#""version":99"#),
        good.replace(r#""content":"something""#, r#""content":"   ""#),
        format!("{good}{{\"type\":\"end\",\"namespaces\":0,\"memories\":0,\"audit\":0}}\n"),
    ];
    for bad in cases {
        let err =
            target.import(&op, &mut Cursor::new(bad.clone()), &Default::default(), &mut |_| {}).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        let now = export_all(&target).await;
        assert_eq!(now.lines().filter(|l| l.contains(r#""type":"memory""#)).count(), 0);
    }
    // A non-operator may import only where it may write.
    let err =
        target.import(&who("stranger"), &mut Cursor::new(good), &Default::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn the_index_catches_up_after_it_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let e = home(dir.path(), &clock).await;
    let r = who("r");
    e.remember(&r, "the index will be deleted", None).await.unwrap();
    e.flush().await.unwrap();
    drop(e);
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let e = home(dir.path(), &clock).await;
    let got = e.recall(&r, &memory_engine::RecallRequest::new("index deleted")).await.unwrap();
    assert_eq!(got.memories.len(), 1);
}

/// The import itself is audited (who, counts, namespaces created, where the file came from),
/// and the audit records it brings are marked with that import as their origin.
#[tokio::test]
async fn an_import_is_audited_and_marks_the_records_it_brings() {
    use memory_core::PageRequest;
    let clock = ManualClock::new(START);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = home(a_dir.path(), &clock).await;
    let r = who("r");
    a.remember_now(&r, MemoryInput::new(Layer::Semantic, "audited fact").in_namespace("research")).await.unwrap();
    let op = who("ops").as_operator();
    let mut file = Vec::new();
    let request = ExportRequest { namespaces: vec![], audit: true };
    a.export(&op, &request, &mut file, &mut |_| {}).await.unwrap();

    let b = home(b_dir.path(), &clock).await;
    let report = b.import(&op, &mut Cursor::new(file), &Default::default(), &mut |_| {}).await.unwrap();
    assert!(report.audit > 0, "{report:?}");
    let log = b.audit_log(&op, None, &PageRequest::first(1000)).await.unwrap().items;
    let import = log.iter().find(|r| r.operation == "import").expect("the import's own record");
    assert_eq!(import.principal.as_ref().map(|p| p.as_str()), Some("ops"));
    assert_eq!(import.detail["namespaces_created"], serde_json::json!(["research"]));
    assert_eq!(import.detail["memories"], 1);
    assert_eq!(import.detail["file_tenant"], "default");
    assert!(import.origin.is_none(), "recorded here");
    let brought: Vec<_> = log.iter().filter(|r| r.origin.is_some()).collect();
    assert_eq!(brought.len() as u64, report.audit);
    assert!(brought.iter().all(|r| r.origin.as_ref().unwrap().import == import.id));
}

/// An import reads bounded lines: one longer than the bound is refused, with its number.
#[tokio::test]
async fn an_overlong_import_line_is_refused() {
    let clock = ManualClock::new(START);
    let dir = tempfile::tempdir().unwrap();
    let e = home(dir.path(), &clock).await;
    let op = who("ops").as_operator();
    let mut file = b"{\"type\":\"header\",\"format\":\"memory-export\",\"version\":2,\"tenant\":\"default\",\"exported_at\":\"2026-01-01T00:00:00Z\"}\n".to_vec();
    file.extend(std::iter::repeat_n(b'x', memory_engine::MAX_IMPORT_LINE_BYTES + 10));
    let err = e.import(&op, &mut Cursor::new(file), &Default::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("line 2: longer than"), "{err}");
}

/// A file that changes between the passes of an import (here: cut short before the writing
/// pass) is refused, not half imported as a success.
#[tokio::test]
async fn a_file_that_changes_during_the_import_is_refused() {
    use std::io::{Read, Seek, SeekFrom};

    /// Reads `full` on the first pass; after a rewind, only the first `cut` bytes.
    struct Shrinking {
        full: Cursor<Vec<u8>>,
        cut: u64,
        rewound: bool,
    }
    impl Read for Shrinking {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.rewound && self.full.position() >= self.cut {
                return Ok(0);
            }
            let room = if self.rewound { (self.cut - self.full.position()) as usize } else { buf.len() };
            let n = room.min(buf.len());
            self.full.read(&mut buf[..n])
        }
    }
    impl Seek for Shrinking {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            if matches!(to, SeekFrom::Start(0)) && self.full.position() > 0 {
                self.rewound = true;
            }
            self.full.seek(to)
        }
    }
    let clock = ManualClock::new(START);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = home(a_dir.path(), &clock).await;
    for i in 0..3 {
        a.remember(&who("r"), &format!("memory {i}"), None).await.unwrap();
    }
    let file = export_all(&a).await.into_bytes();
    let cut = file.iter().position(|b| *b == b'\n').unwrap() as u64 + 1;
    let b = home(b_dir.path(), &clock).await;
    let op = who("ops").as_operator();
    let mut input = std::io::BufReader::new(Shrinking { full: Cursor::new(file), cut, rewound: false });
    let err = b.import(&op, &mut input, &Default::default(), &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("changed while the file was imported"), "{err}");
}
