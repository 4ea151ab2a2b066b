//! Progress of a long step on stdout: a bar redrawn in place on a terminal, plain lines (at most
//! one per tenth of the work) when stdout is a file or a pipe, as in `deploy/run`'s log.

use std::io::{IsTerminal, Write};

/// Counts done of `total` and shows it.
pub struct Progress {
    what: String,
    total: u64,
    done: u64,
    tty: bool,
    /// The tenth last printed as a plain line.
    last_tenth: u64,
}

const WIDTH: u64 = 30;

impl Progress {
    /// A bar on a terminal, plain lines otherwise.
    pub fn new(what: impl Into<String>, total: u64) -> Progress {
        Progress::with_terminal(what, total, std::io::stdout().is_terminal())
    }

    pub fn with_terminal(what: impl Into<String>, total: u64, tty: bool) -> Progress {
        Progress {
            what: what.into(),
            total: total.max(1),
            done: 0,
            tty,
            last_tenth: 0,
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
        if let Some(text) = self.render(note) {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// Ends the bar's line on a terminal.
    pub fn finish(&self) {
        if self.tty {
            println!();
        }
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
}
