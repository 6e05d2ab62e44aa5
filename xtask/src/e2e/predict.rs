//! Batch prediction on one input file with `mlflow models predict`, the
//! bundled `tandem models predict` and the project's own binary; every
//! output must hold the same predictions (and match what the reference
//! scoring server answered for the same rows).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_test_support::process::{JanitorHandle, run_logged};

use super::matrix::same_values;
use super::summary::{Outcome, Summary};

/// `mlflow models predict` starts Python and the model's worker.
const TIMEOUT: Duration = Duration::from_secs(300);

/// One way to predict: a command that writes `{"predictions": ...}` to `output`.
#[derive(Debug)]
pub struct PredictLeg {
    /// The command as the summary shows it.
    pub shown: &'static str,
    /// A short name for comparisons.
    pub name: &'static str,
    pub command: Command,
    pub output: PathBuf,
    pub log: PathBuf,
}

/// Runs every leg, records one row each and one for the comparison.
pub fn run(
    legs: Vec<PredictLeg>,
    served: Option<&Value>,
    janitor: &JanitorHandle,
    summary: &mut Summary,
) {
    let mut outputs: Vec<(&'static str, Value)> = Vec::new();
    for leg in legs {
        let step = format!("predict: {}", leg.shown);
        let name = leg.name;
        let predictions = summary.step(
            &step,
            |p: &Value| format!("{} predictions", p.as_array().map_or(0, Vec::len)),
            || {
                run_logged(&step, leg.command, &leg.log, janitor, TIMEOUT)?;
                let text = std::fs::read_to_string(&leg.output)
                    .map_err(|e| format!("read {}: {e}", leg.output.display()))?;
                let value: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not JSON: {e}", leg.output.display()))?;
                value
                    .get("predictions")
                    .cloned()
                    .ok_or_else(|| format!("no predictions in {}", leg.output.display()))
            },
        );
        if let Some(p) = predictions {
            outputs.push((name, p));
        }
    }
    let started = Instant::now();
    let mut reference: Vec<(&str, &Value)> = outputs.iter().map(|(n, v)| (*n, v)).collect();
    if let Some(served) = served {
        reference.insert(0, ("server", served));
    }
    let outcome = match reference.as_slice() {
        [] | [_] => Outcome::Skipped("fewer than two outputs to compare".to_owned()),
        [(first, base), rest @ ..] => {
            let problems: Vec<String> = rest
                .iter()
                .filter_map(|(name, v)| {
                    same_values(base, v, "predictions")
                        .err()
                        .map(|e| format!("{name} differs from {first}: {e}"))
                })
                .collect();
            if problems.is_empty() {
                Outcome::Pass(format!(
                    "{} agree (server: the reference scoring server's answer)",
                    reference
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            } else {
                Outcome::Fail(problems.join("; "))
            }
        }
    };
    summary.record("predict: outputs agree", outcome, started.elapsed());
}
