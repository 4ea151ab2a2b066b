//! Progress of a long step: a bar redrawn in place on a terminal, plain lines (at most one per
//! tenth of the work) when the stream is a file or a pipe, as in `deploy/run`'s log.
//!
//! Std only: the server (`stampbook-server apply`) and the agent (`simulate`, the capacity
//! backfill) both use it, and neither may pull the other's dependencies in through it.

use std::io::{IsTerminal, Write};

/// Where a progress display goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// stdout: for commands whose stdout is a log (the agent's `simulate`).
    Stdout,
    /// stderr: for commands whose stdout is a result read by programs (the server's `apply`
    /// prints its summary as JSON there).
    Stderr,
    /// Nowhere: the same code path, counted but silent (the server's HTTP routes).
    Hidden,
}

impl Out {
    fn is_terminal(self) -> bool {
        match self {
            Out::Stdout => std::io::stdout().is_terminal(),
            Out::Stderr => std::io::stderr().is_terminal(),
            Out::Hidden => false,
        }
    }

    fn write(self, text: &str) {
        // a display that cannot be written (a closed pipe) must not stop the work it shows
        let _ = match self {
            Out::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Out::Stderr => {
                let mut out = std::io::stderr().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Out::Hidden => Ok(()),
        };
    }
}

/// Counts done of `total` and shows it.
pub struct Progress {
    what: String,
    total: u64,
    done: u64,
    tty: bool,
    out: Out,
    /// The tenth last printed as a plain line.
    last_tenth: u64,
    /// The bar's line is ended.
    finished: bool,
}

const WIDTH: u64 = 30;

impl Progress {
    /// On stdout: a bar on a terminal, plain lines otherwise.
    pub fn new(what: impl Into<String>, total: u64) -> Progress {
        Progress::to(Out::Stdout, what, total)
    }

    /// On `out`: a bar when it is a terminal, plain lines otherwise, nothing when hidden.
    pub fn to(out: Out, what: impl Into<String>, total: u64) -> Progress {
        let mut p = Progress::with_terminal(what, total, out.is_terminal());
        p.out = out;
        p
    }

    /// On stdout, with the terminal question answered by the caller (tests).
    pub fn with_terminal(what: impl Into<String>, total: u64, tty: bool) -> Progress {
        Progress {
            what: what.into(),
            total: total.max(1),
            done: 0,
            tty,
            out: Out::Stdout,
            last_tenth: 0,
            finished: false,
        }
    }

    /// What one update shows: the bar (terminal) or a line (else); `None` when a plain line
    /// would repeat the last tenth.
    pub fn render(&mut self, note: &str) -> Option<String> {
        let done = self.done.min(self.total);
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" {note}")
        };
        if self.tty {
            let filled = done * WIDTH / self.total;
            return Some(format!(
                "\r{} [{}{}] {done}/{}{note}\x1b[K",
                self.what,
                "#".repeat(filled as usize),
                ".".repeat((WIDTH - filled) as usize),
                self.total
            ));
        }
        let tenth = done * 10 / self.total;
        if tenth == self.last_tenth && done != self.total {
            return None;
        }
        self.last_tenth = tenth;
        Some(format!(
            "{}: {done}/{} ({}%){note}\n",
            self.what,
            self.total,
            done * 100 / self.total
        ))
    }

    /// `n` more done; `note` says what (a stamp's name).
    pub fn advance(&mut self, n: u64, note: &str) {
        self.done += n;
        if self.out == Out::Hidden {
            return;
        }
        if let Some(text) = self.render(note) {
            self.out.write(&text);
        }
    }

    /// How many are done.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Ends the bar's line on a terminal (when a bar was drawn), once.
    pub fn finish(&mut self) {
        if self.tty && self.done > 0 && !self.finished {
            self.out.write("\n");
        }
        self.finished = true;
    }
}

/// A step that stops early (an error) still ends the bar's line, so that the error printed
/// next starts a line of its own.
impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_gets_a_bar_redrawn_in_place() {
        let mut p = Progress::with_terminal("backfill", 4, true);
        p.done = 2;
        let bar = p.render("ams-01").unwrap();
        assert!(bar.starts_with('\r'), "{bar:?}");
        assert!(bar.contains(&format!(
            "[{}{}] 2/4 ams-01",
            "#".repeat(15),
            ".".repeat(15)
        )));
    }

    #[test]
    fn a_pipe_gets_a_line_per_tenth_and_the_last() {
        let mut p = Progress::with_terminal("backfill", 100, false);
        let mut lines = 0;
        for _ in 0..100 {
            p.done += 1;
            if let Some(line) = p.render("") {
                assert!(line.ends_with('\n') && !line.contains('\r'));
                lines += 1;
            }
        }
        assert_eq!(lines, 10);
        let mut one = Progress::with_terminal("backfill", 1, false);
        one.done = 1;
        assert_eq!(one.render("x").unwrap(), "backfill: 1/1 (100%) x\n");
    }

    #[test]
    fn hidden_progress_counts_without_a_terminal() {
        let mut p = Progress::to(Out::Hidden, "validating", 3);
        assert!(
            !p.tty,
            "hidden is never a terminal, so it never ends a line either"
        );
        p.advance(2, "a");
        p.advance(1, "b");
        assert_eq!(p.done(), 3);
    }
}
