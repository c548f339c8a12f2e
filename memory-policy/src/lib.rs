//! Compiles trusted namespace policies, teams and scope profiles into one scope resolver that
//! answers, per request, where a principal reads and writes and why (SPEC 4). Pure code, fails
//! closed. Filled by a later issue; until then this crate is intentionally empty.
