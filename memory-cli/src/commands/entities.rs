//! `memory entities ls | show`: the named entities consolidation linked to memories, read as
//! `--principal` under the policy like memories.

use std::io::Write;

use memory_core::EntityKind;
use memory_server::dto::{EntitiesQuery, EntityDto, EntityMemoriesDto, EntityPage, PageQuery};

use super::backend::Backend;
use super::home::Acting;
use super::parse;
use crate::args::{EntitiesCommand, EntitiesLsArgs, GlobalArgs};
use crate::error::{CliError, Status, plural};

/// Runs one `memory entities` subcommand.
pub fn run(
    command: EntitiesCommand,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    // Every argument is checked before the home is opened.
    match command {
        EntitiesCommand::Ls(args) => {
            let query = list_query(&args)?;
            let backend = Backend::open(global, Acting::Principal, err)?;
            let result = all_entities(&backend, query).and_then(|page| {
                if global.json {
                    super::write_json(out, &page)?;
                } else {
                    write_entities(out, &page.entities)?;
                }
                Ok(Status::Success)
            });
            backend.close(result, err)
        }
        EntitiesCommand::Show(args) => {
            let id = memory_server::dto::entity_id("ID", &args.id)?.to_string();
            let backend = Backend::open(global, Acting::Principal, err)?;
            let result = entity_with_all_memories(&backend, &id).and_then(|found| {
                if global.json {
                    super::write_json(out, &found)?;
                } else {
                    write_entity(out, &found)?;
                }
                Ok(Status::Success)
            });
            backend.close(result, err)
        }
    }
}

fn list_query(args: &EntitiesLsArgs) -> Result<EntitiesQuery, CliError> {
    let namespace = args.namespace.as_deref().map(|n| parse::namespace("--namespace", n)).transpose()?;
    let kind: Option<EntityKind> = args.kind.as_deref().map(|k| parse::text_enum("--kind", k)).transpose()?;
    if let Some(q) = &args.query
        && q.trim().is_empty()
    {
        return Err(CliError::invalid_input("--query: the text is empty"));
    }
    Ok(EntitiesQuery {
        namespace: namespace.map(|n| n.to_string()),
        q: args.query.clone(),
        kind: kind.map(|k| k.to_string()),
        cursor: None,
        limit: Some(memory_core::MAX_PAGE_LIMIT),
    })
}

/// Every page of the listing, as one page.
fn all_entities(backend: &Backend, mut query: EntitiesQuery) -> Result<EntityPage, CliError> {
    let mut all = Vec::new();
    loop {
        let page = backend.entities(&query)?;
        all.extend(page.entities);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return Ok(EntityPage { entities: all, next_cursor: None }),
        }
    }
}

/// The entity with every page of its memories, as one answer.
fn entity_with_all_memories(backend: &Backend, id: &str) -> Result<EntityMemoriesDto, CliError> {
    let mut page = PageQuery { cursor: None, limit: Some(memory_core::MAX_PAGE_LIMIT) };
    let mut found = backend.entity(id, &page)?;
    while let Some(cursor) = found.next_cursor.take() {
        page.cursor = Some(cursor);
        let next = backend.entity(id, &page)?;
        found.memories.extend(next.memories);
        found.next_cursor = next.next_cursor;
    }
    Ok(found)
}

/// A table of id, kind, namespace, mentions and name.
fn write_entities(out: &mut dyn Write, list: &[EntityDto]) -> Result<(), CliError> {
    if list.is_empty() {
        writeln!(out, "no entities")?;
        return Ok(());
    }
    let rows = list
        .iter()
        .map(|e| vec![e.id.clone(), e.kind.clone(), e.namespace.clone(), e.mentions.to_string(), e.name.clone()])
        .collect();
    super::write_table(out, "", &["ID", "KIND", "NAMESPACE", "MENTIONS", "NAME"], rows)
}

/// The entity on one line, then one line per memory that mentions it.
fn write_entity(out: &mut dyn Write, found: &EntityMemoriesDto) -> Result<(), CliError> {
    let e = &found.entity;
    writeln!(
        out,
        "{} ({}) in {}: {}, first seen {}",
        e.name,
        e.kind,
        e.namespace,
        plural(e.mentions as usize, "mention"),
        e.created_at
    )?;
    for m in &found.memories {
        writeln!(out, "  {}  {:<10}  {}", m.id, m.layer, super::memories::one_line(&m.content))?;
    }
    Ok(())
}
