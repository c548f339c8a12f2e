//! Turns the caller and project flags into the resolver's request types, rejecting bad values
//! with a one-line error that names the flag.

use memory_core::{KeyScope, NamespaceKey, Permission, Principal, validate_scopes};
use memory_policy::{Caller, KeyGrant, ProjectContext};

use crate::args::{CallerArgs, ProjectArgs};
use crate::error::CliError;

/// The identity facts of the request the flags describe.
///
/// `--principal` is the server's principal, unless an API key flag is given: then it is the
/// principal the key acts as, since a key always belongs to one principal.
pub fn caller(args: &CallerArgs) -> Result<Caller, CliError> {
    let principal = args.identity.principal.as_deref().map(|p| principal_arg("--principal", p)).transpose()?;
    let key_given = !args.api_key_scopes.is_empty() || args.api_key_default.is_some();
    let mut caller = Caller {
        header_principal: args.header_principal.clone(),
        session_key: args.identity.session_key.clone(),
        ..Caller::default()
    };
    if key_given {
        // clap enforces this too; checked again so the rule does not hang on parser settings.
        let principal = principal.ok_or_else(|| {
            CliError::invalid_input("--api-key-scope and --api-key-default need --principal (the key's principal)")
        })?;
        let scopes = args.api_key_scopes.iter().map(|s| key_scope(s)).collect::<Result<Vec<_>, _>>()?;
        validate_scopes(&scopes).map_err(|e| CliError::invalid_input(format!("--api-key-scope: {}", e.message())))?;
        let default_namespace =
            args.api_key_default.as_deref().map(|ns| namespace_arg("--api-key-default", ns)).transpose()?;
        caller.api_key = Some(KeyGrant { key_id: None, principal, scopes, default_namespace, admin: false });
    } else {
        caller.server_principal = principal;
    }
    Ok(caller)
}

/// The project context, if `--project-id` is given.
pub fn project(args: &ProjectArgs) -> Result<Option<ProjectContext>, CliError> {
    let Some(project_id) = &args.project_id else { return Ok(None) };
    if project_id.trim().is_empty() {
        return Err(CliError::invalid_input("--project-id: the project id is empty"));
    }
    if let Some(branch) = &args.branch
        && branch.trim().is_empty()
    {
        return Err(CliError::invalid_input("--branch: the branch is empty"));
    }
    Ok(Some(ProjectContext { project_id: project_id.clone(), branch: args.branch.clone() }))
}

/// A namespace key given with `flag`.
pub fn namespace_arg(flag: &str, raw: &str) -> Result<NamespaceKey, CliError> {
    crate::commands::parse::namespace(flag, raw)
}

fn principal_arg(flag: &str, raw: &str) -> Result<Principal, CliError> {
    Principal::new(raw).map_err(|e| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// `NS=read` or `NS=read_write`.
fn key_scope(raw: &str) -> Result<KeyScope, CliError> {
    let Some((ns, permission)) = raw.split_once('=') else {
        return Err(CliError::invalid_input(format!("--api-key-scope {raw:?}: expected NS=read or NS=read_write")));
    };
    let namespace = namespace_arg("--api-key-scope", ns)?;
    let permission: Permission = permission.parse().map_err(|e: memory_core::Error| {
        CliError::invalid_input(format!("--api-key-scope {raw:?}: {}", e.message()))
    })?;
    Ok(KeyScope { namespace, permission })
}
