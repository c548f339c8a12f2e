//! `GET /v1/export` as a stream: the engine writes the export file into a [`ChunkWriter`] on a
//! blocking thread, and the response body sends each chunk as it fills, so a large export never
//! sits whole in memory and a slow client slows the export (the channel is bounded) instead of
//! growing a buffer.
//!
//! The status is decided by the first chunk: an export refused before its first
//! [`CHUNK_BYTES`] (an unknown namespace, a store that cannot be read) answers with the usual
//! error; a failure after the response started aborts the body, so the client sees a broken
//! transfer, never a short file that looks whole (an export file ends with its `end` line).

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use memory_engine::{Caller, Engine, ExportRequest};
use tokio::sync::mpsc;

use super::error::ApiError;

/// Bytes gathered before a chunk goes out.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks in flight between the export and the client.
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the export thread sends: data, or the error that ended it.
enum Piece {
    Data(Bytes),
    Failed(memory_core::Error),
}

/// A `Write` that hands full chunks to the response body. It runs on a blocking thread, where
/// waiting for room in the channel is allowed.
struct ChunkWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<Piece>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES)));
        // `blocking_send` refuses to run inside a runtime context, which the export's
        // `block_on` is; a plain executor only parks this (blocking) thread.
        futures::executor::block_on(self.tx.send(Piece::Data(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Runs the export and answers with its stream (see the module documentation).
pub(super) async fn export(engine: Engine, caller: Caller, request: ExportRequest) -> Result<Response, ApiError> {
    let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter { buffer: Vec::with_capacity(CHUNK_BYTES), tx: tx.clone() };
        let result = runtime.block_on(engine.export(&caller, &request, &mut out, &mut |_| {}));
        if let Err(e) = result {
            // Nobody listens when the client went away; nothing else to tell.
            let _ = futures::executor::block_on(tx.send(Piece::Failed(e)));
        }
    });
    let first = match rx.recv().await {
        Some(Piece::Data(chunk)) => chunk,
        Some(Piece::Failed(e)) => return Err(e.into()),
        None => return Err(memory_core::Error::internal("the export stopped without an answer").into()),
    };
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await? {
            Piece::Data(chunk) => Some((Ok(chunk), rx)),
            Piece::Failed(e) => Some((Err(io::Error::other(format!("the export failed: {e}"))), rx)),
        }
    });
    let body = futures::stream::StreamExt::chain(futures::stream::once(async { Ok::<_, io::Error>(first) }), rest);
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(body)).into_response())
}
