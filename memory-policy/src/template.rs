//! Team-project namespace templates such as `team-{teamId}-project-{projectHash}`: parsing
//! (configuration errors), rendering (per-request, may fail for one project), and the hashes
//! the placeholders use.

use memory_core::NamespaceKey;

/// A value a template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{teamId}`.
    TeamId,
    /// `{principal}`: the caller's principal id.
    Principal,
    /// `{projectId}`: the raw project id.
    ProjectId,
    /// `{projectHash}`: [`project_hash`] of the project id.
    ProjectHash,
    /// `{projectNamespace}`: [`project_namespace`] of the project id.
    ProjectNamespace,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 5] = [
        ("teamId", Placeholder::TeamId),
        ("principal", Placeholder::Principal),
        ("projectId", Placeholder::ProjectId),
        ("projectHash", Placeholder::ProjectHash),
        ("projectNamespace", Placeholder::ProjectNamespace),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Slot(Placeholder),
}

/// A parsed template. Parsing rejects what is wrong whatever the values: unknown or malformed
/// placeholders, no placeholder at all, and literal text that is already unsafe as a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// The values of one rendering.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    /// Team id.
    pub team_id: &'a str,
    /// Principal id.
    pub principal: &'a str,
    /// Project id.
    pub project_id: &'a str,
}

impl Template {
    /// Parses and checks a template; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(format!("template {text:?} has a '}}' without a matching '{{'"));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_owned()));
                    }
                    let after = &rest[i + 1..];
                    let end = after.find('}').ok_or_else(|| format!("template {text:?} has an unclosed '{{'"))?;
                    let name = &after[..end];
                    let slot = Placeholder::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| {
                        let known: Vec<String> = Placeholder::ALL.iter().map(|(n, _)| format!("{{{n}}}")).collect();
                        format!(
                            "template {text:?} uses the unknown placeholder {{{name}}}; known: {}",
                            known.join(", ")
                        )
                    })?;
                    parts.push(Part::Slot(slot));
                    rest = &after[end + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Slot(_))) {
            return Err(format!(
                "template {text:?} has no placeholder, so every team and project would share one namespace"
            ));
        }
        // Shapes reserved for principals' own namespaces: a team layer could never use them.
        if let Some(Part::Literal(first)) = parts.first()
            && first.starts_with("principal-")
        {
            return Err(format!("template {text:?} starts with \"principal-\", which is reserved for self namespaces"));
        }
        if parts.iter().any(|p| matches!(p, Part::Literal(l) if l.contains(".p-"))) {
            return Err(format!("template {text:?} contains \".p-\", which marks user-project overlays"));
        }
        let template = Template { parts };
        // Literal text is unsafe on its own when even the tamest values ("x") give a bad key.
        let probe = template.fill(|_| "x");
        if let Err(e) = NamespaceKey::new(&probe) {
            return Err(format!("template {text:?} cannot render a valid namespace key: {e}"));
        }
        Ok(template)
    }

    fn fill<'a>(&self, value: impl Fn(Placeholder) -> &'a str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Slot(p) => out.push_str(value(*p)),
            }
        }
        out
    }

    /// Renders the namespace for `values`; the error says why this project gives no valid key.
    pub fn render(&self, values: TemplateValues<'_>) -> Result<NamespaceKey, String> {
        // Derived values only when the template uses them: `project_namespace` validates (and
        // NFC-normalizes) the project id, which is most of a rendering's cost.
        let uses = |want: Placeholder| self.parts.contains(&Part::Slot(want));
        let hash = if uses(Placeholder::ProjectHash) { project_hash(values.project_id) } else { String::new() };
        let project_ns =
            if uses(Placeholder::ProjectNamespace) { project_namespace(values.project_id) } else { String::new() };
        let rendered = self.fill(|p| match p {
            Placeholder::TeamId => values.team_id,
            Placeholder::Principal => values.principal,
            Placeholder::ProjectId => values.project_id,
            Placeholder::ProjectHash => &hash,
            Placeholder::ProjectNamespace => project_ns.as_str(),
        });
        NamespaceKey::new(&rendered)
            .map_err(|e| format!("the template renders {rendered:?}, which is not a valid key: {e}"))
    }

    /// A regex (anchored) matching every name this template could render, whatever the values.
    pub fn shape_regex(&self) -> String {
        let mut re = String::from("^");
        for part in &self.parts {
            match part {
                Part::Literal(s) => re.push_str(&regex::escape(s)),
                Part::Slot(_) => re.push_str(".+"),
            }
        }
        re.push('$');
        re
    }

    /// Whether the template needs project context (every placeholder but `teamId` and
    /// `principal` does).
    pub fn needs_project(&self) -> bool {
        self.parts.iter().any(|p| {
            matches!(p, Part::Slot(Placeholder::ProjectId | Placeholder::ProjectHash | Placeholder::ProjectNamespace))
        })
    }
}

/// 32-bit FNV-1a.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// `{projectHash}`: 8 lowercase hex digits of the 32-bit FNV-1a of the project id.
pub fn project_hash(project_id: &str) -> String {
    format!("{:08x}", fnv1a32(project_id.as_bytes()))
}

/// `{projectNamespace}`: the project id when it is a valid key, else `project-{projectHash}`.
pub fn project_namespace(project_id: &str) -> String {
    match NamespaceKey::new(project_id) {
        Ok(key) if key.as_str() == project_id => key.as_str().to_owned(),
        _ => format!("project-{}", project_hash(project_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        assert_eq!(project_hash("a"), "e40c292c");
    }

    #[test]
    fn the_default_template_renders() {
        let t = Template::parse(crate::config::DEFAULT_TEAM_PROJECT_TEMPLATE).unwrap();
        let key = t.render(TemplateValues { team_id: "pi", principal: "pi-geek", project_id: "foobar" }).unwrap();
        assert_eq!(key.as_str(), "team-pi-project-bf9cf968");
        assert!(t.needs_project());
        assert!(regex::Regex::new(&t.shape_regex()).unwrap().is_match("team-x-project-12345678"));
    }

    #[test]
    fn configuration_errors_are_caught_at_parse_time() {
        for (bad, why) in [
            ("team-{teamid}", "unknown placeholder"),
            ("team-{teamId", "unclosed"),
            ("team-}{teamId}", "without a matching"),
            ("team/{teamId}", "'/'"),
            ("{teamId}..x", "\"..\""),
            ("team-alpha", "no placeholder"),
            ("team {teamId}", "whitespace"),
            ("principal-{teamId}", "reserved for self namespaces"),
            ("{teamId}.p-{projectHash}", "overlays"),
        ] {
            let err = Template::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn an_unsafe_value_fails_only_that_rendering() {
        let t = Template::parse("u-{principal}-{projectId}").unwrap();
        assert!(t.render(TemplateValues { team_id: "t", principal: "alice", project_id: "repo/x" }).is_err());
        assert!(t.render(TemplateValues { team_id: "t", principal: "alice", project_id: "repo-x" }).is_ok());
        assert_eq!(project_namespace("repo/x"), format!("project-{}", project_hash("repo/x")));
        assert_eq!(project_namespace("repo-x"), "repo-x");
    }
}
