//! The command line as data: every subcommand, flag and help text of `memory`, parsed by clap.
//!
//! Values stay raw strings here; each command validates its own (namespace keys, principals,
//! categories...) so that a bad value gets the same one-line `error:` as every other bad input
//! instead of clap's multi-line usage report. The commands that open a memory home have their
//! arguments in [`engine`].

mod engine;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use self::engine::*;

/// A memory system for AI agents.
///
/// Memories live in a home directory (`--home`, default `$MEMORY_HOME`, else `~/.memory`):
/// a SQLite store, its event logs, the derived search index and `memory.toml`, the policy and
/// engine configuration.
///
/// remember, recall, get, forget, outcome, promote and entities run as `--principal` under the
/// policy, like any agent would. namespaces, export, import, reindex and maintain work on the
/// store's own files, so they run as the operator: they manage every namespace of the home,
/// whatever the policy says (the principal, when known, is recorded in the audit log).
/// consolidate and proposals run as the operator too (every namespace's review queue, each
/// writer's episodes consolidated as that writer), but write only where the policy lets
/// `--principal` write.
///
/// Exit status: 0 done, 1 failed (conflict, unavailable, a negative answer), 2 invalid input or
/// configuration, 3 forbidden, 4 not found.
#[derive(Debug, Parser)]
#[command(name = "memory", version, propagate_version = true, arg_required_else_help = true)]
pub struct Cli {
    /// Options of every command that opens a home.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the home is and who is asking; accepted before or after the subcommand.
///
/// `policy` and `eval` keep their own `--principal`, `--session-key`, `--embedder` and
/// `--json`, which take the place of these there.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The memory home [default: $MEMORY_HOME, else ~/.memory].
    #[arg(long, value_name = "DIR", global = true, help_heading = "Home options")]
    pub home: Option<PathBuf>,
    /// The configuration file [default: <home>/memory.toml when it exists].
    #[arg(long, value_name = "FILE", global = true, help_heading = "Home options")]
    pub config: Option<PathBuf>,
    /// Who is asking [default: $MEMORY_PRINCIPAL, else the session-key rules, else the OS
    /// account ($USER, or the system's name for the current user)].
    #[arg(long, value_name = "P", global = true, help_heading = "Home options")]
    pub principal: Option<String>,
    /// The session key (for session-key rules, and the default conversation of a memory).
    #[arg(long, value_name = "K", global = true, help_heading = "Home options")]
    pub session_key: Option<String>,
    /// The embedder, overriding the configuration: auto (the best prepared model, else the one
    /// shipped in the binary), hash, shipped, static, minilm or openai.
    #[arg(long, value_name = "NAME", global = true, help_heading = "Home options")]
    pub embedder: Option<String>,
    /// Print the answer as JSON (and no progress bar).
    #[arg(long, global = true, help_heading = "Home options")]
    pub json: bool,
    /// How long to wait, in seconds, for other processes using the same home (a write of
    /// theirs, an index being saved) before giving up with a "busy" error (exit 1) [default: 30].
    #[arg(long, value_name = "SECS", global = true, help_heading = "Home options")]
    pub wait: Option<String>,
    /// The store: postgres://user@host/db for a PostgreSQL database that several servers
    /// share, or sqlite:///dir for the SQLite store in another directory [default:
    /// $MEMORY_DATABASE_URL, else the SQLite store in the home].
    #[arg(long, value_name = "URL", global = true, help_heading = "Home options")]
    pub database_url: Option<String>,
    /// Work against the memory server at this URL instead of a local home [default:
    /// $MEMORY_URL; else the server running on the home, if any].
    #[arg(long, value_name = "URL", global = true, help_heading = "Client options")]
    pub url: Option<String>,
    /// The API key for --url [default: $MEMORY_KEY].
    #[arg(long, value_name = "KEY", global = true, help_heading = "Client options")]
    pub key: Option<String>,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Remember a memory (episodic unless --layer says otherwise).
    ///
    /// Exit status: 0 remembered, 2 invalid input, 3 the namespace is not writable.
    #[command(arg_required_else_help = true)]
    Remember(RememberArgs),
    /// Recall the memories that matter for a query: pinned identity and procedural memories
    /// first, then the best ranked ones.
    ///
    /// Exit status: 0 answered (also when nothing matched), 2 invalid input, 3 a named namespace
    /// is not readable, 4 a named namespace does not exist or is archived.
    #[command(arg_required_else_help = true)]
    Recall(RecallArgs),
    /// Show one memory.
    ///
    /// Exit status: 0 found, 4 missing or not readable by the principal.
    #[command(arg_required_else_help = true)]
    Get(IdArgs),
    /// Delete one memory.
    ///
    /// Exit status: 0 deleted, 3 its namespace is read-only for the principal, 4 missing or not
    /// readable.
    #[command(arg_required_else_help = true)]
    Forget(IdArgs),
    /// Report how useful recalled memories were; their utility moves toward the reward.
    ///
    /// Exit status: 0 recorded, 2 invalid input, 4 a memory is missing or not readable (then
    /// nothing is recorded).
    #[command(arg_required_else_help = true)]
    Outcome(OutcomeArgs),
    /// Copy a memory into a promotion target (default: the first authorized one, `shared`
    /// without a scope profile).
    ///
    /// Exit status: 0 promoted, 3 not allowed to promote there, 4 the memory is missing.
    #[command(arg_required_else_help = true)]
    Promote(PromoteMemoryArgs),
    /// Manage namespaces (as the operator: every namespace of the home).
    #[command(subcommand, arg_required_else_help = true)]
    Namespaces(NamespacesCommand),
    /// Write namespaces and their memories to a JSON-lines file (as the operator).
    ///
    /// Exit status: 0 exported, 4 a named namespace does not exist.
    Export(ExportArgs),
    /// Read an export file into this home (as the operator). The whole file is checked first;
    /// memories keep their ids, so importing twice changes nothing.
    ///
    /// Exit status: 0 imported, 1 conflict (an id of the file holds another memory here, or a
    /// namespace of the file is deleted here; nothing is written), 2 invalid or unreadable file.
    #[command(arg_required_else_help = true)]
    Import(ImportArgs),
    /// Write a consistent copy of the home's database while other processes go on using it
    /// (SQLite's online backup API). Restore: stop every process using the home, put the copy in
    /// place as `memory.db` (removing `memory.db-wal` and `memory.db-shm`), and run any command:
    /// the index sees the older store and rebuilds itself.
    ///
    /// Exit status: 0 written, 1 failed (the target exists, the disk is full).
    #[command(arg_required_else_help = true)]
    Backup(BackupArgs),
    /// Write the event logs (one JSONL file per namespace and day, SPEC 6) into a directory:
    /// the SQLite store's `log/` files, or a PostgreSQL store's log table in the same layout.
    ///
    /// Exit status: 0 written, 1 failed.
    #[command(arg_required_else_help = true)]
    Logs(LogsArgs),
    /// Rebuild the search index from the store (as the operator).
    Reindex,
    /// Consolidate the new episodes of a namespace into durable memories (as the operator;
    /// each writer's episodes are consolidated as that writer): semantic and procedural
    /// memories, evidence for what is restated, corrections that supersede, entity links, and
    /// identity proposals for review (`memory proposals`). A second run reads only episodes
    /// remembered since.
    ///
    /// Exit status: 0 consolidated, 1 another worker is consolidating the namespace, 2 invalid
    /// input, 3 the namespace is not writable, 4 it holds nothing yet.
    Consolidate(ConsolidateArgs),
    /// Review the identity memories consolidation proposed (as the operator): list, approve
    /// (the memory is written) or reject (nothing is written).
    #[command(subcommand, arg_required_else_help = true)]
    Proposals(ProposalsCommand),
    /// The named entities (people, places, organizations, projects, tools) consolidation found
    /// in the memories the principal may read.
    #[command(subcommand, arg_required_else_help = true)]
    Entities(EntitiesCommand),
    /// Run one maintenance cycle now (as the operator): consolidation, expiry of working
    /// memories, retention, purge of deleted data, index and catalog upkeep, each job on each
    /// namespace under its lock. With --status, show the latest record of each job instead.
    ///
    /// Exit status: 0 every run ran or was skipped, 1 a run failed, 2 invalid input, 4 the
    /// namespace does not exist.
    Maintain(MaintainArgs),
    /// Serve the HTTP API and MCP (at /mcp) on the home until SIGINT or SIGTERM. The first
    /// start prints an admin key, once. While it runs, other commands on the home go through it.
    ///
    /// Exit status: 0 stopped cleanly, 1 failed (the address is taken, another server runs on
    /// the home), 2 invalid arguments or configuration.
    Serve(ServeArgs),
    /// Serve MCP over standard input and output, as --principal (or $MEMORY_PRINCIPAL);
    /// $MEMORY_NAMESPACE is where memory_store writes when a call names no namespace.
    Mcp,
    /// Manage tenants (as the operator of the home).
    #[command(subcommand, arg_required_else_help = true)]
    Tenants(TenantsCommand),
    /// Manage API keys (as the operator of the home).
    #[command(subcommand, arg_required_else_help = true)]
    Keys(KeysCommand),
    /// Show a principal's scope plan with the reason for every decision: where it reads, in
    /// which order, where it writes, where it may promote.
    ///
    /// Exit status: 0 planned, 1 the plan refuses the request.
    Inspect(InspectArgs),
    /// Validate a policy file and ask what it decides, without any store.
    #[command(subcommand, arg_required_else_help = true)]
    Policy(PolicyCommand),
    /// Measure retrieval quality on a labelled dataset: recall@k, hit@k, MRR and latency.
    ///
    /// The dataset is JSON lines, each a memory
    /// `{"type":"memory","collection":C,"id":ID,"text":T,"timestamp":RFC3339?,"speaker":S?,"session":S?}`
    /// or a query
    /// `{"type":"query","collection":C,"id":ID,"text":Q,"relevant":[ID...],"category":K?,"asked_at":RFC3339?}`.
    /// It runs through a fresh engine in a temporary directory, as `remember` and `recall` do:
    /// each collection is a namespace of its own, each memory an episodic event ("Speaker:
    /// text") remembered at its timestamp in its session's conversation, and each query a
    /// recall of its own collection only, at its asked_at time or right after the last memory.
    /// The engine's recall decides the fusion; the report names it.
    ///
    /// Exit status: 0 measured, 2 invalid dataset or arguments, 4 a named model is missing.
    #[command(arg_required_else_help = true)]
    Eval(EvalArgs),
}

/// Arguments of `memory serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8420")]
    pub addr: String,
    /// Honour the X-Memory-Principal header (behind a trusted proxy only).
    #[arg(long)]
    pub trust_principal_header: bool,
    /// Seconds between maintenance cycles of every tenant, or `off` [default: `[server]
    /// maintenance_interval_secs` of the configuration, else 600].
    #[arg(long, value_name = "SECS|off")]
    pub maintenance_interval: Option<String>,
}

/// `memory tenants ...`.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant (its default and shared namespaces).
    ///
    /// Exit status: 0 created or already there, 2 invalid id.
    #[command(arg_required_else_help = true)]
    Create(TenantArgs),
    /// List the tenants.
    Ls,
}

/// One tenant id.
#[derive(Debug, Args)]
pub struct TenantArgs {
    /// The tenant id (ASCII letters, digits, '.', '_' or '-').
    pub tenant: String,
}

/// `memory keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Issue a key; its secret is printed this once.
    #[command(arg_required_else_help = true)]
    Create(KeysCreateArgs),
    /// List a tenant's keys (never their secrets).
    Ls(KeysTenantArgs),
    /// Revoke a key: it authenticates nothing from now on.
    #[command(arg_required_else_help = true)]
    Revoke(KeysRevokeArgs),
}

/// Arguments of `memory keys create`.
#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// The tenant the key belongs to.
    #[arg(long, value_name = "T", default_value = "default")]
    pub tenant: String,
    /// A label [default: the principal]. The key acts as the global --principal, which is
    /// required here.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// The key manages its tenant (namespaces, keys, import, export, audit).
    #[arg(long)]
    pub admin: bool,
    /// A scope NS=read or NS=rw (repeatable); none = the principal's rights under the policy.
    #[arg(long = "scope", value_name = "NS=read|rw")]
    pub scopes: Vec<String>,
    /// Where writes without a namespace go.
    #[arg(long, value_name = "NS")]
    pub default_namespace: Option<String>,
}

/// A tenant for `memory keys ls`.
#[derive(Debug, Args)]
pub struct KeysTenantArgs {
    /// The tenant.
    #[arg(long, value_name = "T", default_value = "default")]
    pub tenant: String,
}

/// Arguments of `memory keys revoke`.
#[derive(Debug, Args)]
pub struct KeysRevokeArgs {
    /// The key's id.
    pub id: String,
    /// The tenant.
    #[arg(long, value_name = "T", default_value = "default")]
    pub tenant: String,
}

/// Arguments of `memory inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A namespace to read (repeatable; `'*'` = every readable one) [default: the default read
    /// set].
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// An explicit write namespace [default: the write default].
    #[arg(long, value_name = "NS")]
    pub write: Option<String>,
    /// With `--namespace '*'`: also read sensitive namespaces.
    #[arg(long)]
    pub include_sensitive: bool,
}

/// Arguments of `memory eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The dataset file (JSON lines of memories and queries).
    pub dataset: PathBuf,
    /// The cut-offs for recall@k and hit@k, comma-separated, each from 1 to 1000.
    #[arg(long = "k", value_name = "K,...", default_value = "5,10")]
    pub ks: String,
    /// The embedder: auto (the best prepared model under --models-dir, else the shipped one),
    /// hash, shipped, minilm, static or openai.
    #[arg(long, value_name = "NAME", default_value = "auto")]
    pub embedder: String,
    /// The folder of prepared models (made by `cargo xtask models`).
    #[arg(long, value_name = "DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// Keep the engine's index in this folder (as a home's `index/`) instead of the temporary
    /// directory; the index a previous run left there is replaced.
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Print the report as JSON (and no progress bar).
    #[arg(long)]
    pub json: bool,
}

/// `memory policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file and list every problem with its path.
    ///
    /// Exit status: 0 valid (warnings allowed), 2 invalid or unreadable.
    Check(CheckArgs),
    /// Show the scope plan of one request: as whom, reading where, writing where, and why.
    ///
    /// Exit status: 0 planned, 1 the plan refuses the request, 2 invalid configuration or
    /// arguments.
    Plan(PlanArgs),
    /// Ask whether a caller may read, write or promote into one namespace.
    ///
    /// Exit status: 0 allowed, 1 denied, 2 invalid configuration or arguments.
    Can(CanArgs),
    /// Show where an extracted memory would be auto-promoted.
    ///
    /// Exit status: 0 (also when there are no targets), 2 invalid configuration or arguments.
    Promote(PromoteArgs),
}

/// Arguments of `memory policy check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file (`.json`: the camelCase dialect; anything else: TOML).
    pub file: PathBuf,
    /// Print `{"valid": bool, "diagnostics": [...]}`.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `memory policy plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The policy file (`.json`: the camelCase dialect; anything else: TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub caller: CallerArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// A namespace to read (repeatable; `'*'` = every readable namespace; none = the default
    /// read set).
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,
    /// An explicit write namespace (default: the plan's write default).
    #[arg(long, value_name = "NS")]
    pub write: Option<String>,
    /// With `--namespace '*'`: also read sensitive namespaces.
    #[arg(long)]
    pub include_sensitive: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `memory policy can`.
#[derive(Debug, Args)]
pub struct CanArgs {
    /// The policy file (`.json`: the camelCase dialect; anything else: TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub caller: CallerArgs,
    #[command(flatten)]
    pub operation: OperationArgs,
    /// Print `{"allowed": bool, "reason": string}`.
    #[arg(long)]
    pub json: bool,
}

/// Exactly one question for `memory policy can`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct OperationArgs {
    /// May the caller read NS?
    #[arg(long, value_name = "NS")]
    pub read: Option<String>,
    /// May the caller write NS?
    #[arg(long, value_name = "NS")]
    pub write: Option<String>,
    /// May the caller promote memories into NS?
    #[arg(long, value_name = "NS")]
    pub promote: Option<String>,
}

/// Arguments of `memory policy promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The policy file (`.json`: the camelCase dialect; anything else: TOML).
    pub file: PathBuf,
    #[command(flatten)]
    pub caller: CallerArgs,
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The namespace the extracted memory is written into.
    #[arg(long, value_name = "NS")]
    pub from: String,
    /// The memory's category (`fact`, `decision`, `rule`, ...).
    #[arg(long, value_name = "CATEGORY")]
    pub category: String,
    /// The memory's confidence, a number in 0..=1.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub confidence: String,
    /// Print `{"targets": [ns...], "reason": string}`.
    #[arg(long)]
    pub json: bool,
}

/// Who is asking: the identity facts a front end would see on a request.
#[derive(Debug, Args)]
pub struct CallerArgs {
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The `X-Memory-Principal` header value (honoured only when the policy trusts the header).
    #[arg(long, value_name = "H")]
    pub header_principal: Option<String>,
    /// An API key scope `NS=read` or `NS=read_write` (repeatable); the key acts as --principal.
    #[arg(long = "api-key-scope", value_name = "NS=PERM", requires = "principal")]
    pub api_key_scopes: Vec<String>,
    /// The API key's default write namespace; the key acts as --principal.
    #[arg(long, value_name = "NS", requires = "principal")]
    pub api_key_default: Option<String>,
}

/// The principal or the session key a request carries (exactly one).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct IdentityArgs {
    /// The server's principal (or the API key's, with --api-key-scope / --api-key-default).
    #[arg(long, value_name = "P")]
    pub principal: Option<String>,
    /// The client's session key, mapped to a principal by the session-key rules.
    #[arg(long, value_name = "K")]
    pub session_key: Option<String>,
}

/// The project a request works in, for project layers of a scope profile.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The project id (e.g. a repository URL or name).
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,
    /// The branch within the project.
    #[arg(long, value_name = "B", requires = "project_id")]
    pub branch: Option<String>,
}
