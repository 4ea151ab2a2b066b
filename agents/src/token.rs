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
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_owned(),
            source,
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
}
