//! Incremental UTF-8 validation for text messages and close reasons
//! (RFC 6455 §5.6, §8.1).
//!
//! A text message arrives in frames and frames arrive in reads, so a code
//! point can be split anywhere. The validator keeps the (at most three)
//! bytes of an unfinished code point between calls and fails at the first
//! byte that cannot continue a valid sequence, not at the end of the frame
//! or message: a peer sending invalid text is stopped before the rest of the
//! payload arrives (Autobahn 6.4.x).
//!
//! Bulk validation is `simdutf8`'s `compat` flavour, which reports both
//! where valid input stops and whether the input was merely truncated.

use core::fmt;

/// Invalid UTF-8 was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utf8Error;

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid UTF-8")
    }
}

impl core::error::Error for Utf8Error {}

/// Validates UTF-8 fed in arbitrary pieces.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Validates the next piece of the text.
    ///
    /// Fails as soon as a byte cannot be part of valid UTF-8. A piece that
    /// ends inside a code point is fine: the unfinished bytes are kept and
    /// checked against what comes next.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), Utf8Error> {
        // Finish a code point left over from the previous piece, one byte at
        // a time so that an invalid continuation is caught immediately.
        while self.partial_len > 0 {
            let Some((&byte, rest)) = input.split_first() else {
                return Ok(());
            };
            input = rest;
            self.partial[usize::from(self.partial_len)] = byte;
            self.partial_len += 1;
            match simdutf8::compat::from_utf8(&self.partial[..usize::from(self.partial_len)]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_some() => return Err(Utf8Error),
                Err(_) => {}
            }
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Utf8Error),
            Err(e) => {
                // Truncated, not invalid: at most three bytes are left.
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// How many bytes at the end of what was fed form an unfinished code
    /// point (0–3).
    pub const fn pending(&self) -> usize {
        self.partial_len as usize
    }

    /// Ends the text: an unfinished code point is an error. Resets the
    /// validator for the next text.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let pending = self.partial_len;
        self.partial_len = 0;
        if pending == 0 { Ok(()) } else { Err(Utf8Error) }
    }

    /// Forgets any unfinished code point.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(bytes: &[u8]) -> bool {
        let whole_ok = core::str::from_utf8(bytes).is_ok();
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let mut v = Utf8Validator::new();
                let r = v
                    .feed(&bytes[..a])
                    .and_then(|_| v.feed(&bytes[a..b]))
                    .and_then(|_| v.feed(&bytes[b..]))
                    .and_then(|_| v.finish());
                assert_eq!(r.is_ok(), whole_ok, "{bytes:?} split at {a},{b}");
            }
        }
        whole_ok
    }

    #[test]
    fn agrees_with_std_at_every_split() {
        assert!(check_all_splits("κόσμε".as_bytes()));
        assert!(check_all_splits("a€𝄞z".as_bytes()));
        assert!(!check_all_splits(&[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65
        ]));
        assert!(!check_all_splits(&[0xf4, 0x90, 0x80, 0x80]));
        assert!(!check_all_splits(&[0xc0, 0xaf]));
        assert!(!check_all_splits(&[0xe0, 0x80]));
    }

    #[test]
    fn fails_at_first_invalid_byte_before_the_end() {
        // 0xF4 0x90 is invalid at its second byte: no need to see more.
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[b'a', 0xf4]).is_ok());
        assert_eq!(v.pending(), 1);
        assert_eq!(v.feed(&[0x90]), Err(Utf8Error));
    }

    #[test]
    fn truncated_text_fails_at_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xe2, 0x82]).is_ok());
        assert_eq!(v.pending(), 2);
        assert_eq!(v.finish(), Err(Utf8Error));
        assert_eq!(v.pending(), 0);
    }
}
