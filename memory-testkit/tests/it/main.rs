//! The one integration-test binary of memory-testkit: the suite and the model test run against
//! the in-memory reference, and deliberately broken stores prove that both can fail.

mod broken;
mod in_memory;
mod suite;
