//! Size limits of free-text fields, checked once here by every validating constructor, so no
//! field of a stored record is unbounded (content and metadata limits live with the memory).

use crate::error::Error;

/// Short identifying text: conversation ids, session keys, team ids, audit operation names.
pub const MAX_SHORT_TEXT_BYTES: usize = 4 << 10;

/// Longer prose: namespace descriptions, proposal reasons, audit details (as JSON).
pub const MAX_LONG_TEXT_BYTES: usize = 64 << 10;

/// `InvalidInput` naming `what` when `value` is longer than `max` bytes or holds a NUL.
pub(crate) fn check_text(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::invalid_input(format!("{what} is {} bytes; at most {max} are allowed", value.len())));
    }
    if value.contains('\0') {
        return Err(Error::invalid_input(format!("{what} contains a NUL character")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_and_free_of_nul() {
        assert!(check_text("x", "fine", 4).is_ok());
        let long = check_text("the conversation id", "12345", 4).unwrap_err();
        assert!(long.message().contains("the conversation id is 5 bytes; at most 4"), "{long}");
        assert!(check_text("x", "a\0b", 10).unwrap_err().message().contains("NUL"));
    }
}
