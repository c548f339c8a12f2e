//! Cursor paging shared by every listing: cursors are the id of the last item, pages are
//! fetched one item long to learn whether more follow.

use std::str::FromStr;

use memory_core::{Error, Page, PageRequest, Result, checks};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

/// The id after which `page` starts (`None` for the first page). Checks the limit first, as
/// the reference store does.
pub(crate) fn cursor_after<T: FromStr>(page: &PageRequest) -> Result<Option<T>> {
    checks::page(page)?;
    page.cursor
        .as_deref()
        .map(|c| c.parse::<T>().map_err(|_| Error::invalid_input(format!("invalid page cursor {c:?}"))))
        .transpose()
}

/// Ends a listing's statement with its page: `AND <column> > <cursor>` (after the first
/// page), then the order by `column` and a limit one longer than the page (see
/// [`into_page`]). Checks the limit and the cursor first, as [`cursor_after`] does.
pub(crate) fn push_page<T: FromStr>(
    qb: &mut QueryBuilder<Postgres>,
    column: &str,
    page: &PageRequest,
    uuid: impl Fn(T) -> Uuid,
) -> Result<()> {
    if let Some(after) = cursor_after::<T>(page)? {
        qb.push(format!(" AND {column} > ")).push_bind(uuid(after));
    }
    qb.push(format!(" ORDER BY {column} LIMIT ")).push_bind(fetch_limit(page.limit));
    Ok(())
}

/// How many rows to fetch for a page of `limit`.
pub(crate) fn fetch_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)
}

/// Cuts rows fetched with [`fetch_limit`] down to a page; the cursor is the last item's id.
pub(crate) fn into_page<T, K: ToString>(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> K) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|t| key(t).to_string()) } else { None };
    Page { items: rows, next_cursor }
}
