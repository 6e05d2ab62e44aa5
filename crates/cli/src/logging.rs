//! Logs: `tracing` events formatted on stderr by tracing-subscriber.
//!
//! tandem's crates (targets starting with `tandem`) log at info by default,
//! other crates at warn; `-v` and `-vv` raise tandem's to debug and trace,
//! `-q` keeps warnings only, and `RUST_LOG` replaces all of this. Under
//! `--json` logs are off unless `-v` or `RUST_LOG` asks for them, so stderr
//! holds nothing but the JSON error. Colours need a terminal and no
//! `NO_COLOR`. While the progress bar is shown, each log line suspends it so
//! the two do not garble each other.

use std::io::{self, IsTerminal, Write};

use indicatif::ProgressBar;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::args::Verbosity;

/// Installs the global subscriber. A second call (a binary calling
/// `run_cli` twice) keeps the first subscriber.
pub(crate) fn init(verbosity: &Verbosity, json: bool, bar: Option<ProgressBar>) {
    let fallback = default_directives(verbosity, json);
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| EnvFilter::try_new(&v).map_err(|e| (v, e)));
    let (filter, rejected) = match from_env {
        Some(Ok(filter)) => (filter, None),
        Some(Err(rejected)) => (EnvFilter::new(fallback), Some(rejected)),
        None => (EnvFilter::new(fallback), None),
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Stderr { bar })
        .with_ansi(colors())
        .with_target(verbosity.verbose > 0)
        .try_init();
    if let (Ok(()), Some((value, error))) = (installed, rejected) {
        tracing::warn!("ignoring RUST_LOG={value:?}: {error}");
    }
}

/// The filter used when `RUST_LOG` is not set.
fn default_directives(verbosity: &Verbosity, json: bool) -> &'static str {
    match (verbosity.quiet, verbosity.verbose, json) {
        (true, _, _) => "warn",
        (false, 0, true) => "off",
        (false, 0, false) => "warn,tandem=info",
        (false, 1, _) => "warn,tandem=debug",
        (false, _, _) => "warn,tandem=trace",
    }
}

/// Colours only on a terminal, and never when `NO_COLOR` is set to anything
/// but the empty string (no-color.org).
fn colors() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && io::stderr().is_terminal()
}

/// Stderr, suspending the progress bar (if any) around each log line.
#[derive(Clone)]
struct Stderr {
    bar: Option<ProgressBar>,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // tracing-subscriber writes each formatted event with one write_all,
        // so one suspension covers one whole line.
        let write = || io::stderr().lock().write_all(buf);
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directives(verbose: u8, quiet: bool, json: bool) -> &'static str {
        default_directives(&Verbosity { verbose, quiet }, json)
    }

    #[test]
    fn levels_follow_the_flags() {
        assert_eq!(directives(0, false, false), "warn,tandem=info");
        assert_eq!(directives(1, false, false), "warn,tandem=debug");
        assert_eq!(directives(3, false, true), "warn,tandem=trace");
        assert_eq!(directives(0, true, false), "warn");
        assert_eq!(directives(0, false, true), "off");
        for d in ["warn,tandem=info", "off", "warn,tandem=trace"] {
            assert!(EnvFilter::try_new(d).is_ok(), "{d}");
        }
    }
}
