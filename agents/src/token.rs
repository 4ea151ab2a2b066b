//! The bearer token: read from a file (never from the command line, where `ps` would show it)
//! and kept out of every `Debug` and log line.

use std::path::{Path, PathBuf};

/// A bearer token. `Debug` prints `Token(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Why a token file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("could not read token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {0} is empty")]
    Empty(PathBuf),
    #[error("token file {0} holds more than one line or an invisible character")]
    Malformed(PathBuf),
}

impl Token {
    /// Reads a token file; surrounding whitespace (the trailing newline of `echo`) is dropped.
    /// A file written by Windows PowerShell 5.1 reads the same: with a UTF-8 byte-order mark
    /// (`Set-Content -Encoding UTF8`) or as UTF-16 (`>`, `Out-File`).
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let bytes = std::fs::read(path).map_err(|source| TokenError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = crate::parse::text::decode(&bytes).map_err(|e| TokenError::Read {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty(path.to_owned()));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(TokenError::Malformed(path.to_owned()));
        }
        Ok(Token(token.to_owned()))
    }

    /// A token given in code (tests, the simulator's dry run).
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_trimmed_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cr3t-value\n").unwrap();
        let token = Token::from_file(&path).unwrap();
        assert_eq!(token.expose(), "s3cr3t-value");
        assert_eq!(format!("{token:?}"), "Token(***)");
        std::fs::write(&path, " \n").unwrap();
        assert!(matches!(Token::from_file(&path), Err(TokenError::Empty(_))));
        std::fs::write(&path, "a\nb\n").unwrap();
        assert!(matches!(
            Token::from_file(&path),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn token_files_written_by_windows_powershell_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        // Set-Content -Encoding UTF8 (5.1): a UTF-8 BOM before the token
        std::fs::write(&path, "\u{feff}s3cr3t-value\r\n").unwrap();
        assert_eq!(Token::from_file(&path).unwrap().expose(), "s3cr3t-value");
        // `>` or Out-File (5.1): UTF-16LE with a BOM
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("s3cr3t-value\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        std::fs::write(&path, utf16).unwrap();
        assert_eq!(Token::from_file(&path).unwrap().expose(), "s3cr3t-value");
    }
}
