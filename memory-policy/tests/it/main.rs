//! Acceptance tests of the scope resolver (issue "Policy: one scope resolver"): table tests
//! through one `check` helper per area, the seeds/002 examples, a property test and hostile
//! inputs. `UPDATE_EXPECT=1 cargo test -p memory-policy --test it` refreshes the snapshots.

mod default_access;
mod evaluation;
mod explicit;
mod hostile;
mod keys;
mod principals;
mod promotion;
mod properties;
mod read_sets;
mod seeds;
mod support;
mod teams;
mod write;
