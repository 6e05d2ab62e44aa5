//! The e2e run's record: one row per step or leg with its result and time,
//! printed as a table at the end, failures spelled out below it.

use std::time::{Duration, Instant};

/// How a step ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Passed; the text says what was seen.
    Pass(String),
    /// Failed; the text says why. Makes the run fail.
    Fail(String),
    /// A known, documented difference between tandem and MLflow.
    Documented(String),
    /// Not run, because something it needs failed.
    Skipped(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass(_) => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Documented(_) => "differs (documented)",
            Outcome::Skipped(_) => "skipped",
        }
    }

    fn detail(&self) -> &str {
        match self {
            Outcome::Pass(d) | Outcome::Fail(d) | Outcome::Documented(d) | Outcome::Skipped(d) => d,
        }
    }
}

#[derive(Debug)]
struct Row {
    step: String,
    outcome: Outcome,
    time: Duration,
}

/// Every step's outcome, in order.
#[derive(Debug, Default)]
pub struct Summary {
    rows: Vec<Row>,
}

impl Summary {
    pub fn record(&mut self, step: &str, outcome: Outcome, time: Duration) {
        let mark = match &outcome {
            Outcome::Fail(why) => format!("FAIL: {}", first_line(why)),
            other => other.label().to_owned(),
        };
        eprintln!("xtask e2e: {step}: {mark} ({})", seconds(time));
        self.rows.push(Row {
            step: step.to_owned(),
            outcome,
            time,
        });
    }

    /// Runs `f` as step `step`: its `Ok` value is returned (and the step
    /// passes, described by `describe`), its `Err` recorded as a failure.
    pub fn step<T>(
        &mut self,
        step: &str,
        describe: impl FnOnce(&T) -> String,
        f: impl FnOnce() -> Result<T, String>,
    ) -> Option<T> {
        eprintln!("xtask e2e: {step} ...");
        let started = Instant::now();
        let result = f();
        let time = started.elapsed();
        match result {
            Ok(value) => {
                self.record(step, Outcome::Pass(describe(&value)), time);
                Some(value)
            }
            Err(why) => {
                self.record(step, Outcome::Fail(why), time);
                None
            }
        }
    }

    /// Records `steps` as skipped because of `why`.
    pub fn skip(&mut self, steps: &[&str], why: &str) {
        for step in steps {
            self.record(step, Outcome::Skipped(why.to_owned()), Duration::ZERO);
        }
    }

    pub fn failures(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .count()
    }

    /// The `scenario` heading, the table, then every failure's and documented
    /// difference's full text.
    pub fn print(&self, scenario: &str, total: Duration) {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.step.clone(),
                    r.outcome.label().to_owned(),
                    seconds(r.time),
                    first_line(r.outcome.detail()),
                ]
            })
            .collect();
        println!("\n{scenario} summary:");
        print_table(
            &[
                "step / leg".into(),
                "result".into(),
                "time".into(),
                "detail".into(),
            ],
            &rows,
        );
        let notes: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_) | Outcome::Documented(_)))
            .collect();
        for row in notes {
            println!(
                "\n{} [{}]:\n  {}",
                row.step,
                row.outcome.label(),
                row.outcome.detail().replace('\n', "\n  ")
            );
        }
        let failed = self.failures();
        println!(
            "\n{} steps, {} failed, {} documented differences, {} skipped; {} in all",
            self.rows.len(),
            failed,
            self.count(|o| matches!(o, Outcome::Documented(_))),
            self.count(|o| matches!(o, Outcome::Skipped(_))),
            seconds(total)
        );
    }

    fn count(&self, test: impl Fn(&Outcome) -> bool) -> usize {
        self.rows.iter().filter(|r| test(&r.outcome)).count()
    }
}

fn seconds(time: Duration) -> String {
    format!("{:.1}s", time.as_secs_f64())
}

/// The first line of `text`, cut for a table cell.
fn first_line(text: &str) -> String {
    const MAX: usize = 110;
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Prints `rows` under `header` in aligned columns.
pub fn print_table(header: &[String], rows: &[Vec<String>]) {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .chain(header.get(i))
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join(" | ").trim_end());
    };
    line(header);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
}
