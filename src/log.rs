//! What embedpack tells the person running it, on stderr: steps by
//! default, details with `-v`, only errors with `-q`; and, on a terminal,
//! progress bars for the long steps, which messages printed meanwhile go
//! above.  Warnings are kept as well, for `--json`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much to print on stderr, and whether to draw progress there.
#[derive(Clone, Copy)]
pub struct Log {
    level: i8,
    progress: bool,
}

/// Every warning so far, printed or silenced by `-q`: `--json` lists them.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The bar on screen, if any: messages are printed above it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

impl Log {
    /// Progress is drawn only when stderr is a terminal, and not with `-q`.
    pub fn new(verbose: u8, quiet: bool) -> Log {
        let level = if quiet { -1 } else { verbose.min(2) as i8 };
        let progress = !quiet && std::io::stderr().is_terminal();
        Log { level, progress }
    }

    /// The same, drawing no progress (for `--json`, read by tools).
    pub fn without_progress(self) -> Log {
        Log {
            progress: false,
            ..self
        }
    }

    /// A step the user wants to see by default.
    pub fn info(&self, message: impl std::fmt::Display) {
        if self.level >= 0 {
            print_line(&message.to_string());
        }
    }

    /// A detail shown with `-v`.
    pub fn detail(&self, message: impl std::fmt::Display) {
        if self.level >= 1 {
            print_line(&message.to_string());
        }
    }

    pub fn warn(&self, message: impl std::fmt::Display) {
        let message = message.to_string();
        if self.level >= 0 {
            print_line(&format!("warning: {message}"));
        }
        if let Ok(mut warnings) = WARNINGS.lock() {
            warnings.push(message);
        }
    }

    /// The warnings given so far, without the `warning: ` prefix.
    pub fn warnings(&self) -> Vec<String> {
        WARNINGS.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// A bar counting `total` files of a step (`Writing`).
    pub fn progress(&self, total: usize, what: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} files");
        Progress::show(
            self.progress,
            bar,
            style.map(|s| s.progress_chars("=> ")),
            what,
        )
    }

    /// A spinner for a step whose length is not known (`Collecting`).
    pub fn spinner(&self, what: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg:>10} {spinner} {elapsed}");
        let progress = Progress::show(self.progress, bar, style, what);
        progress.bar.tick();
        progress.bar.enable_steady_tick(Duration::from_millis(120));
        progress
    }
}

/// A bar or spinner on stderr while it lives; one that draws nothing when
/// progress is off.  Dropping it clears it.
pub struct Progress {
    bar: ProgressBar,
    shown: bool,
}

impl Progress {
    fn show(
        on: bool,
        bar: ProgressBar,
        style: Result<ProgressStyle, indicatif::style::TemplateError>,
        what: &str,
    ) -> Progress {
        if !on {
            return Progress {
                bar: ProgressBar::hidden(),
                shown: false,
            };
        }
        if let Ok(style) = style {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        if let Ok(mut shown) = SHOWN.lock() {
            *shown = Some(bar.clone());
        }
        Progress { bar, shown: true }
    }

    /// One more step done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if self.shown {
            if let Ok(mut shown) = SHOWN.lock() {
                *shown = None;
            }
        }
    }
}

/// A line on stderr, above the bar on screen if there is one.
fn print_line(line: &str) {
    let shown = SHOWN.lock().ok().and_then(|shown| shown.clone());
    match shown {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}
