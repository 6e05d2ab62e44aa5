//! The only place that produces command output: outcomes on stdout, errors on
//! stderr, as text or JSON. (Logs and the progress bar have their own
//! modules.)
//!
//! Everything is written to the `Write` it is given rather than printed, so a
//! closed pipe (`tandem ... | head`) is an error to handle instead of a panic,
//! and tests can capture the output.

mod catalog;
mod catalog_kedro;
mod deploy;
mod graph;
mod mlflow;
mod models;
mod pipeline;
mod run;
mod scaffold;
mod table;
mod viz;

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::commands::Outcome;
use crate::error::Failure;

/// Writes a command's result.
pub(crate) fn outcome(out: &mut dyn Write, outcome: &Outcome, json: bool) -> io::Result<()> {
    match outcome {
        Outcome::Described(pipeline) => pipeline::described(out, pipeline, json),
        Outcome::Diagram(pipeline, format) => graph::write(out, pipeline, *format),
        Outcome::Viz(report) => viz::report(out, report, json),
        Outcome::Checked(pipeline) => pipeline::checked(out, pipeline, json),
        Outcome::Ran(report) => run::ran(out, report, json),
        Outcome::Listed(listing) => catalog::listed(out, listing, json),
        Outcome::DatasetDescribed(described) => catalog::described(out, described, json),
        Outcome::KedroCatalog(result) => catalog_kedro::written(out, result, json),
        Outcome::ModelSaved(saved) => models::saved(out, saved, json),
        Outcome::Predicted(body) => models::predicted(out, body),
        // The server reported itself in the log.
        Outcome::Served => Ok(()),
        // The embedded executable wrote its own output.
        Outcome::Delegated(_) => Ok(()),
        Outcome::Mlflow(outcome) => mlflow::outcome(out, outcome, json),
        Outcome::Deployed(deployed) => deploy::deployed(out, deployed, json),
        Outcome::Created(created) => scaffold::created(out, created, json),
    }
}

/// The error kind reported when the output itself cannot be written.
pub(crate) const IO_ERROR: &str = "io";

/// Writes an error that is not a [`Failure`] (the output could not be
/// written): `error: <message>`, or `{"error": {"kind", "message"}}`.
pub(crate) fn error(err: &mut dyn Write, kind: &str, message: &str, json: bool) -> io::Result<()> {
    if json {
        write_json(err, &json!({"error": {"kind": kind, "message": message}}))
    } else {
        writeln!(err, "error: {message}")
    }
}

/// Writes a failed command. Errors of `tandem run` also say which nodes
/// completed and how to resume, as `"completed"` and `"resume"` (the
/// `--from-nodes` argument, or null) in JSON and Kedro's hint in text.
pub(crate) fn failure(
    err: &mut dyn Write,
    failure: &Failure,
    json: bool,
    run: bool,
) -> io::Result<()> {
    let message = failure.message();
    let run_failure = failure.run_failure();
    if !json {
        writeln!(err, "error: {message}")?;
        return match run_failure {
            Some(f) => writeln!(err, "{}", f.resume),
            None => Ok(()),
        };
    }
    let mut fields = Map::new();
    fields.insert("kind".to_owned(), failure.kind().into());
    fields.insert("message".to_owned(), message.into());
    if let Some(f) = run_failure {
        fields.insert("node".to_owned(), f.node.clone().into());
        fields.insert("cause".to_owned(), f.cause.kind().into());
    }
    if run {
        let completed = run_failure.map_or_else(Vec::new, |f| f.completed.clone());
        let resume = run_failure
            .and_then(|f| f.resume.from_nodes_arg())
            .map(|nodes| format!("--from-nodes \"{nodes}\""));
        fields.insert("completed".to_owned(), completed.into());
        fields.insert("resume".to_owned(), resume.map_or(Value::Null, Value::from));
    }
    write_json(err, &json!({ "error": fields }))
}

/// Prints clap's usage error, help or version text and returns clap's exit
/// code (2 for bad arguments, 0 for `--help` and `--version`).
pub(crate) fn usage(error: &clap::Error) -> ExitCode {
    // clap picks the stream and colours; if even that fails there is nowhere
    // left to report it, and the exit code still tells the story.
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// One compact JSON object and a newline.
fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::Error;

    fn render(f: &Failure, json: bool, run: bool) -> String {
        let mut out = Vec::new();
        failure(&mut out, f, json, run).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn errors_carry_their_kind() {
        let e = Failure::Pipeline(Error::EmptyPipeline);
        let value: Value = serde_json::from_str(&render(&e, true, false)).unwrap();
        assert_eq!(value["error"]["kind"], "empty_pipeline");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no nodes")
        );
        assert!(value["error"].get("completed").is_none());
        assert!(render(&e, false, false).starts_with("error: "));
    }

    #[test]
    fn run_errors_say_nothing_completed() {
        let e = Failure::Run(tandem_runners::Error::MissingInputs {
            names: vec!["a".into(), "b".into()],
        });
        let value: Value = serde_json::from_str(&render(&e, true, true)).unwrap();
        assert_eq!(value["error"]["kind"], "missing_inputs");
        assert_eq!(value["error"]["completed"], json!([]));
        assert_eq!(value["error"]["resume"], Value::Null);
    }

    #[test]
    fn io_errors_are_plain_or_json() {
        let mut out = Vec::new();
        error(&mut out, IO_ERROR, "broken pipe", true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"error\":{\"kind\":\"io\",\"message\":\"broken pipe\"}}\n"
        );
    }
}
