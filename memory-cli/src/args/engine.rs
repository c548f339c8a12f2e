//! Arguments of the commands that open a memory home: memories (remember, recall, get, forget,
//! outcome, promote), namespaces, export, import, consolidation, proposals, entities and
//! maintenance.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Arguments of `memory remember`.
#[derive(Debug, Args)]
pub struct RememberArgs {
    /// The text to remember.
    pub text: String,
    /// The namespace to write into [default: the principal's write default].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// identity, procedural, semantic, episodic or working (which needs --expires-at).
    #[arg(long, value_name = "LAYER", default_value = "episodic")]
    pub layer: String,
    /// The category (`fact`, `event`, `decision`, `rule`, ...) [default: event for episodic
    /// memories, else fact].
    #[arg(long, value_name = "C")]
    pub category: Option<String>,
    /// How much the memory is trusted, 0..=1 [default: 1].
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub confidence: Option<String>,
    /// When a working memory expires (RFC 3339, e.g. 2026-05-08T15:00:00Z); must be in the
    /// future.
    #[arg(long, value_name = "T")]
    pub expires_at: Option<String>,
    /// The conversation it came from [default: the session key].
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// A metadata entry KEY=VALUE (repeatable); VALUE is JSON when it parses as JSON, else a
    /// string.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
}

/// Arguments of `memory recall`.
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// What the principal is working on.
    pub query: String,
    /// A namespace to read (repeatable; `'*'` = every readable namespace) [default: the
    /// principal's default read set].
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Only this layer (repeatable). Procedural memories are always pinned in.
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// Most memories returned, pinned ones included (1..=1000).
    #[arg(long, value_name = "N", default_value = "10")]
    pub limit: String,
    /// Only ranked memories of this category (repeatable).
    #[arg(long = "category", value_name = "C")]
    pub categories: Vec<String>,
    /// Only ranked memories created at or after this time (RFC 3339).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only ranked memories created before this time (RFC 3339).
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only ranked memories whose metadata has KEY equal to VALUE (repeatable; VALUE is JSON
    /// when it parses as JSON, else a string).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Show every score component of each memory.
    #[arg(long)]
    pub explain: bool,
    /// With `--namespace '*'`: also read sensitive namespaces (restricted ones are read only
    /// when named).
    #[arg(long)]
    pub include_sensitive: bool,
}

/// One memory id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The memory's id (a UUID).
    pub id: String,
}

/// Arguments of `memory outcome`.
#[derive(Debug, Args)]
pub struct OutcomeArgs {
    /// The memories' ids.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub outcome: OutcomeKind,
}

/// Exactly one outcome for `memory outcome`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct OutcomeKind {
    /// They helped (reward +1).
    #[arg(long)]
    pub helpful: bool,
    /// They did not help (reward -1).
    #[arg(long)]
    pub unhelpful: bool,
    /// A graded reward in -1..=1.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub reward: Option<String>,
}

/// Arguments of `memory promote`.
#[derive(Debug, Args)]
pub struct PromoteMemoryArgs {
    /// The memory's id.
    pub id: String,
    /// The target namespace [default: the first authorized promotion target].
    #[arg(long, value_name = "NS")]
    pub to: Option<String>,
}

/// `memory namespaces ...`.
#[derive(Debug, Subcommand)]
pub enum NamespacesCommand {
    /// List namespaces with their kind, status and live memory count.
    Ls(NamespacesLsArgs),
    /// Create an explicit namespace.
    ///
    /// Exit status: 0 created, 1 the key is taken, 2 invalid key or values.
    #[command(arg_required_else_help = true)]
    Create(NamespacesCreateArgs),
    /// Change a namespace's display name (its key never changes).
    #[command(arg_required_else_help = true)]
    Rename(NamespacesRenameArgs),
    /// Archive a namespace: no reads or writes until it is restored.
    #[command(arg_required_else_help = true)]
    Archive(NamespaceKeyArgs),
    /// Restore an archived namespace.
    #[command(arg_required_else_help = true)]
    Restore(NamespaceKeyArgs),
    /// Delete a namespace: its memories stop being retrievable at once.
    #[command(arg_required_else_help = true)]
    Delete(NamespaceKeyArgs),
    /// Move every memory of a namespace into another (ids and history kept; FROM is left
    /// empty, not deleted). Without --apply only the plan is printed.
    ///
    /// Exit status: 0 planned or moved, 1 conflicts keep it from applying, 2 invalid input.
    #[command(arg_required_else_help = true)]
    Migrate(NamespacesMigrateArgs),
    /// Check the catalog against the stored memories and the index.
    ///
    /// Exit status: 0 all is well, 1 problems found (each printed).
    Verify,
    /// Rebuild the catalog from the stored memories: the `default` and `shared` namespaces,
    /// and a record for every namespace that memories belong to but the catalog lacks (after a
    /// partial restore). --dry-run only says what it would create.
    ///
    /// Exit status: 0 rebuilt (or planned), 2 invalid arguments.
    #[command(arg_required_else_help = true)]
    Rebuild(NamespacesRebuildArgs),
}

/// Exactly one of `--dry-run` and `--apply` for `memory namespaces rebuild`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct NamespacesRebuildArgs {
    /// Only say which catalog records it would create.
    #[arg(long)]
    pub dry_run: bool,
    /// Create them.
    #[arg(long)]
    pub apply: bool,
}

/// Arguments of `memory namespaces ls`.
#[derive(Debug, Args)]
pub struct NamespacesLsArgs {
    /// Only namespaces of this team.
    #[arg(long, value_name = "T")]
    pub team: Option<String>,
    /// Only namespaces of this sensitivity: normal, sensitive or restricted.
    #[arg(long, value_name = "S")]
    pub sensitivity: Option<String>,
    /// Only namespaces of this kind: default, shared, self, project, branch, team-project or
    /// explicit.
    #[arg(long, value_name = "K")]
    pub kind: Option<String>,
    /// Only namespaces in this state: active, archived or deleted [default: active and
    /// archived].
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
}

/// Arguments of `memory namespaces create`.
#[derive(Debug, Args)]
pub struct NamespacesCreateArgs {
    /// The key (letters, digits, '.', '_' and '-'; at most 64 characters) [default: derived from
    /// the name: "Customer Data" -> customer-data].
    #[arg(required_unless_present = "display_name")]
    pub key: Option<String>,
    /// A human-readable label [default: the key].
    #[arg(long, visible_alias = "name", value_name = "NAME")]
    pub display_name: Option<String>,
    /// What the namespace is for.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The owning team.
    #[arg(long, value_name = "T")]
    pub team: Option<String>,
    /// normal, sensitive or restricted [default: normal].
    #[arg(long, value_name = "S")]
    pub sensitivity: Option<String>,
    /// public, org, team or private: who may use it when no policy names it [default: team].
    #[arg(long, value_name = "A")]
    pub default_access: Option<String>,
    /// Delete memories older than this many days (at least 1) [default: keep them].
    #[arg(long, value_name = "N")]
    pub retention_days: Option<String>,
}

/// Arguments of `memory namespaces migrate`.
#[derive(Debug, Args)]
pub struct NamespacesMigrateArgs {
    /// The namespace to empty.
    pub from: String,
    /// The namespace that receives its memories (it must exist and be active).
    #[arg(long, value_name = "NS")]
    pub to: String,
    /// Only print the plan: counts, duplicates that would merge, conflicts (the default).
    #[arg(long, conflicts_with = "apply")]
    pub dry_run: bool,
    /// Move the memories, in atomic batches; run it again to finish an interrupted one.
    #[arg(long)]
    pub apply: bool,
    /// Memories per atomic batch (1..=1000) [default: 500].
    #[arg(long, value_name = "N")]
    pub batch: Option<String>,
}

/// Arguments of `memory namespaces rename`.
#[derive(Debug, Args)]
pub struct NamespacesRenameArgs {
    /// The namespace's key.
    pub key: String,
    /// The new display name.
    pub name: String,
}

/// One namespace key.
#[derive(Debug, Args)]
pub struct NamespaceKeyArgs {
    /// The namespace's key.
    pub key: String,
}

/// Arguments of `memory export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A namespace to export (repeatable) [default: every namespace that is not deleted].
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Include the audit records of the exported namespaces.
    #[arg(long)]
    pub audit: bool,
    /// The file to write (replaced only once the export is complete); `-` is standard
    /// output, and a device or pipe is written in place.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Arguments of `memory import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The export file to read (a regular file: it is read twice, to check, then to write).
    pub file: PathBuf,
    /// Accept a file exported from this other tenant (refused otherwise).
    #[arg(long, value_name = "T")]
    pub from_tenant: Option<String>,
    /// Import an export of one namespace into this namespace instead (its memories become
    /// copies there; a file of several namespaces is refused).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
}

/// Arguments of `memory backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (replaced only once the copy is complete); `-` is standard output,
    /// and a device or pipe is written in place.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Arguments of `memory logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The directory to write the files into (created when missing; files there of the same
    /// namespace and day are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Arguments of `memory consolidate`.
#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// The namespace whose episodes to consolidate [default: the principal's write default].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Most episodes to read in this run [default: 10000]; the next run goes on from there.
    #[arg(long, value_name = "N")]
    pub max_episodes: Option<String>,
}

/// `memory proposals ...`.
#[derive(Debug, Subcommand)]
pub enum ProposalsCommand {
    /// List proposals with their status and content.
    Ls(ProposalsLsArgs),
    /// Approve a pending proposal: its memory is written, superseding what it corrects.
    ///
    /// Exit status: 0 approved, 1 already decided, 2 invalid id, 3 not allowed to write its
    /// namespace, 4 no such proposal.
    #[command(arg_required_else_help = true)]
    Approve(ProposalIdArgs),
    /// Reject a pending proposal; nothing is written.
    ///
    /// Exit status: 0 rejected, 1 already decided, 2 invalid id, 4 no such proposal.
    #[command(arg_required_else_help = true)]
    Reject(ProposalIdArgs),
}

/// Arguments of `memory proposals ls`.
#[derive(Debug, Args)]
pub struct ProposalsLsArgs {
    /// Only this namespace's proposals.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only proposals in this state: pending, approved or rejected [default: all].
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
}

/// One proposal id.
#[derive(Debug, Args)]
pub struct ProposalIdArgs {
    /// The proposal's id (a UUID).
    pub id: String,
}

/// `memory entities ...`.
#[derive(Debug, Subcommand)]
pub enum EntitiesCommand {
    /// List entities with their kind, namespace and number of mentions.
    ///
    /// Exit status: 0 listed, 2 invalid input, 3 the namespace is not readable, 4 it does not
    /// exist.
    Ls(EntitiesLsArgs),
    /// Show one entity and the memories that mention it.
    ///
    /// Exit status: 0 found, 2 invalid id, 4 missing or not readable by the principal.
    #[command(arg_required_else_help = true)]
    Show(EntityIdArgs),
}

/// Arguments of `memory entities ls`.
#[derive(Debug, Args)]
pub struct EntitiesLsArgs {
    /// Only this namespace's entities [default: every namespace the principal reads].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only entities whose name holds every word of this text.
    #[arg(long, value_name = "Q")]
    pub query: Option<String>,
    /// Only entities of this kind: person, place, organization, project, tool or other.
    #[arg(long, value_name = "K")]
    pub kind: Option<String>,
}

/// One entity id.
#[derive(Debug, Args)]
pub struct EntityIdArgs {
    /// The entity's id (a UUID).
    pub id: String,
}

/// Arguments of `memory maintain`.
#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Only this namespace [default: the cycle's choice within the budget].
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only this job (repeatable): consolidate, expire, retention, purge, index or catalog
    /// [default: all].
    #[arg(long = "job", value_name = "J")]
    pub jobs: Vec<String>,
    /// Most namespaces the cycle covers [default: `maintenance.max_namespaces_per_cycle`].
    #[arg(long, value_name = "N")]
    pub budget: Option<String>,
    /// Show the latest record of each job and namespace instead of running a cycle.
    #[arg(long, conflicts_with_all = ["jobs", "budget"])]
    pub status: bool,
}
