//! Logging for every command: tracing to stderr, as text for people or one JSON object per line
//! for log shippers. Verbosity counts `-v` up and `-q` down from `info`.

use std::io;

use tracing::Level;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("`{s}` is not a log format (expected `text` or `json`)")),
        }
    }
}

/// `-q` -> warn, nothing -> info, `-v` -> debug, `-vv` -> trace; `-qq` -> error only.
pub fn level(verbosity: i8) -> Level {
    match verbosity {
        i8::MIN..=-2 => Level::ERROR,
        -1 => Level::WARN,
        0 => Level::INFO,
        1 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// Install the process-wide subscriber, writing to stderr. A second call (tests) changes nothing.
pub fn init_logging(format: LogFormat, verbosity: i8) {
    // Already set (by a test or an earlier call): keep the first, as tracing requires.
    let ansi = io::IsTerminal::is_terminal(&io::stderr());
    let _ = subscriber(format, verbosity, ansi, io::stderr).try_init();
}

/// The subscriber `init_logging` installs, writing to `writer` (tests capture it).
pub fn subscriber<W>(format: LogFormat, verbosity: i8, ansi: bool, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    // lvsync's own events at the chosen level; libraries (notify, ...) only when they warn.
    let filter = Targets::new()
        .with_target("lvsync", level(verbosity))
        .with_default(LevelFilter::from_level(level(verbosity)).min(LevelFilter::WARN));
    let (text, json) = match format {
        LogFormat::Text => {
            (Some(tracing_subscriber::fmt::layer().with_writer(writer).with_target(false).with_ansi(ansi)), None)
        }
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_target(false)
                    .with_writer(writer),
            ),
        ),
    };
    tracing_subscriber::registry().with(filter).with(text).with(json)
}
