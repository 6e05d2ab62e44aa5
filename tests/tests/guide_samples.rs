//! Every sample of the user guide (docs/guide/*.md) is run or checked here,
//! so the guide states only what the checkout does.
//!
//! A page's fenced blocks are taken in order, in one temporary directory:
//!
//! - ```` ```sh ```` blocks run with bash (`set -euo pipefail`), each in the
//!   directory the previous one ended in (so `cd my-project` carries over;
//!   variables do not). `tandem` is the binary built from this checkout;
//!   `cargo run [...] -- ARGS` in a project whose package is `churn` (the
//!   churn starter, which is examples/churn's own sources) runs the churn
//!   example's binary with ARGS; any other `cargo` command is real cargo,
//!   offline, building into `<target>/new-projects` as
//!   tests/tests/new_project.rs does.
//! - ```` ```sh background ```` blocks (servers) are started in a process
//!   group of their own and stopped with it when the page is done; the
//!   samples after them talk to them. The guide's port, 5001, is replaced
//!   in every sh sample of a page (`127.0.0.1:5001`, `--port 5001`) by a
//!   free one.
//! - ```` ```sh no-run REASON ```` blocks are not run (installs, tools the
//!   test machine lacks); the reason is required.
//! - ```` ```yaml PATH ```` blocks are written to PATH under the current
//!   directory and loaded by the real loader: `catalog list` for catalog
//!   credentials and globals files, `catalog describe parameters` for
//!   parameters,
//!   `mlflow experiments list` for mlflow.yml, `pipeline describe --spec`
//!   for any other file. ```` ```yaml no-check REASON ```` is shown only.
//! - ```` ```rust ```` blocks are doctests: tests/src/lib.rs includes each
//!   page holding one (`guide_pages_with_rust_are_doctests` checks that).
//!
//! Any other shell-like fence (`bash`, `shell`, `console`) is an error, so
//! no command escapes the test. A failure names the page and the line of
//! the sample.

use std::path::{Path, PathBuf};
use std::process::Command;

use tandem_test_support::process::{Service, for_process, free_port};
use tandem_tests::{churn_bin, tandem_bin, workspace_file};

/// The guide's pages, each checked by the test named after it.
const PAGES: &[&str] = &[
    "README.md",
    "getting-started.md",
    "kedro-mapping.md",
    "catalog.md",
    "tracking.md",
    "serving.md",
    "deployment.md",
];

/// One fenced block of a page.
#[derive(Debug)]
struct Sample {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word (`sh`, `yaml`, `rust`...).
    lang: String,
    /// The rest of the info string.
    attrs: String,
    /// How far the fence is indented (in a list item), stripped from the body.
    indent: usize,
    body: String,
}

fn guide_dir() -> PathBuf {
    workspace_file("docs/guide")
}

fn samples(page: &str) -> Vec<Sample> {
    let path = guide_dir().join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut open: Option<Sample> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let info = info.trim();
                    let (lang, attrs) = info.split_once(' ').unwrap_or((info, ""));
                    open = Some(Sample {
                        indent: line.len() - trimmed.len(),
                        line: i + 1,
                        lang: lang.to_owned(),
                        attrs: attrs.trim().to_owned(),
                        body: String::new(),
                    });
                }
            }
            Some(mut sample) => {
                if trimmed.starts_with("```") {
                    out.push(sample);
                } else {
                    let indent = line.len() - trimmed.len();
                    sample.body.push_str(&line[indent.min(sample.indent)..]);
                    sample.body.push('\n');
                    open = Some(sample);
                }
            }
        }
    }
    if let Some(sample) = open {
        panic!("docs/guide/{page}:{}: unclosed code fence", sample.line);
    }
    out
}

/// The shell functions every sh sample runs under.
const PRELUDE: &str = r#"
set -euo pipefail
tandem() { "$GUIDE_TANDEM" "$@"; }
cargo() {
    if [ "${1:-}" = run ] && grep -qx 'name = "churn"' Cargo.toml 2>/dev/null; then
        shift
        while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
        [ $# -gt 0 ] && shift
        "$GUIDE_CHURN" "$@"
        return
    fi
    local sub="$1"; shift
    command cargo "$sub" --offline --quiet "$@"
}
"#;

/// The port the guide's servers listen on; each page's samples get a free
/// one in its place, so pages and other tests never collide.
const GUIDE_PORT: &str = "5001";

/// Runs a page's samples in a fresh directory, panicking at the first
/// failure with the page and line.
fn run_page(page: &str) {
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    let state = work.path().join("cwd");
    let port = free_port().unwrap().to_string();
    let mut cwd = home.clone();
    let mut servers: Vec<Service> = Vec::new();
    let mut ran = 0;
    for sample in samples(page) {
        let at = format!("docs/guide/{page}:{}", sample.line);
        let body = sample
            .body
            .replace(
                &format!("127.0.0.1:{GUIDE_PORT}"),
                &format!("127.0.0.1:{port}"),
            )
            .replace(&format!("--port {GUIDE_PORT}"), &format!("--port {port}"));
        let outcome = match (sample.lang.as_str(), sample.attrs.as_str()) {
            ("sh", attrs) if attrs.starts_with("no-run") => {
                let reason = &attrs["no-run".len()..];
                assert!(
                    !reason.trim().is_empty(),
                    "{at}: `sh no-run` needs a reason"
                );
                continue;
            }
            ("sh", "background") => {
                let log = work.path().join(format!("server-{}.log", sample.line));
                let server = Service::spawn(
                    &at,
                    shell(&body, &cwd, work.path()),
                    &log,
                    &for_process().janitor(),
                )
                .unwrap_or_else(|e| panic!("{at}: {e}"));
                servers.push(server);
                Ok(())
            }
            ("sh", "") => run_sh(&at, &body, &cwd, &state, work.path()).map(|()| {
                cwd = PathBuf::from(std::fs::read_to_string(&state).unwrap().trim_end());
            }),
            ("sh", attrs) => panic!("{at}: unknown sh mark {attrs:?}"),
            ("bash" | "shell" | "console" | "zsh", _) => {
                panic!("{at}: mark shell samples ```sh (or ```sh no-run REASON)")
            }
            ("yaml" | "yml", attrs) if attrs.starts_with("no-check") => {
                let reason = &attrs["no-check".len()..];
                assert!(
                    !reason.trim().is_empty(),
                    "{at}: `yaml no-check` needs a reason"
                );
                continue;
            }
            ("yaml" | "yml", "") => panic!(
                "{at}: a yaml sample names the file it is (```yaml conf/base/catalog.yml) \
                 or says `no-check REASON`"
            ),
            ("yaml" | "yml", relative) => {
                check_yaml(&at, relative, &sample.body, &cwd, work.path())
            }
            _ => continue,
        };
        if let Err(message) = outcome {
            let logs: String = servers
                .iter()
                .map(|s| {
                    format!(
                        "\nlog of the server started at {}:\n{}",
                        s.name,
                        s.log_tail(40)
                    )
                })
                .collect();
            panic!("{message}{logs}");
        }
        ran += 1;
    }
    assert!(ran > 0, "docs/guide/{page}: no sample ran");
}

fn shell(script: &str, cwd: &Path, scratch: &Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .current_dir(cwd)
        .env("GUIDE_TANDEM", tandem_bin())
        .env("GUIDE_CHURN", churn_bin())
        .env("CARGO_TARGET_DIR", new_projects_target())
        .env("CARGO_NET_OFFLINE", "true")
        .env("NO_COLOR", "1")
        // Model executables unpack into a cache of this test's own.
        .env("XDG_CACHE_HOME", scratch.join("cache"))
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("RUST_LOG")
        .env_remove("TANDEM_ENV")
        .env_remove("KEDRO_ENV")
        .stdin(std::process::Stdio::null());
    command
}

/// Runs one sh sample in `cwd`; the directory it ends in goes to `state`.
fn run_sh(at: &str, body: &str, cwd: &Path, state: &Path, scratch: &Path) -> Result<(), String> {
    let script = format!("{body}\npwd > '{}'\n", state.display());
    let output = shell(&script, cwd, scratch).output().expect("bash starts");
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{at}: sample failed (exit {:?}) in {}:\n{body}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        cwd.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Writes a YAML sample to `relative` under `cwd` and has tandem load it.
fn check_yaml(
    at: &str,
    relative: &str,
    body: &str,
    cwd: &Path,
    scratch: &Path,
) -> Result<(), String> {
    let path = cwd.join(relative);
    if !(relative.ends_with(".yml") || relative.ends_with(".yaml")) {
        return Err(format!("{at}: {relative} is no YAML file name"));
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, body).unwrap();
    let name = Path::new(relative).file_name().unwrap().to_string_lossy();
    let in_conf = relative.starts_with("conf/");
    let catalog_kind = ["catalog", "credentials", "globals"]
        .iter()
        .any(|kind| name.starts_with(kind));
    let check = if in_conf && catalog_kind {
        "tandem catalog list --json >/dev/null".to_owned()
    } else if in_conf && name.starts_with("parameters") {
        "tandem catalog describe parameters >/dev/null".to_owned()
    } else if in_conf && name == "mlflow.yml" {
        "tandem mlflow experiments list >/dev/null".to_owned()
    } else {
        format!("tandem pipeline describe --spec '{relative}' >/dev/null")
    };
    let output = shell(&check, cwd, scratch).output().expect("bash starts");
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{at}: {relative} does not load ({check}):\n{body}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `<target>/new-projects`, shared with tests/tests/new_project.rs so the
/// tandem crates compile once for every generated project.
fn new_projects_target() -> PathBuf {
    tandem_bin()
        .parent()
        .and_then(Path::parent)
        .expect("the binary lives in <target>/<profile>/")
        .join("new-projects")
}

#[test]
fn every_guide_page_is_checked() {
    let mut found: Vec<String> = std::fs::read_dir(guide_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "docs/guide pages and guide_samples::PAGES differ"
    );
}

#[test]
fn guide_pages_with_rust_are_doctests() {
    let lib = std::fs::read_to_string(workspace_file("tests/src/lib.rs")).unwrap();
    for page in PAGES {
        if samples(page).iter().any(|s| s.lang == "rust") {
            let include = format!("include_str!(\"../../docs/guide/{page}\")");
            assert!(
                lib.contains(&include),
                "docs/guide/{page} has rust samples but tests/src/lib.rs lacks {include}"
            );
        }
    }
}

#[test]
fn the_runner_reports_the_failing_sample_by_page_and_line() {
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("cwd");
    let message = run_sh(
        "docs/guide/x.md:7",
        "tandem catalog describe no_such_dataset\n",
        scratch.path(),
        &state,
        scratch.path(),
    )
    .expect_err("a failing sample fails");
    assert!(
        message.starts_with("docs/guide/x.md:7: sample failed"),
        "{message}"
    );
}

#[test]
fn a_yaml_sample_tandem_refuses_fails_naming_page_and_line() {
    let scratch = tempfile::tempdir().unwrap();
    let message = check_yaml(
        "docs/guide/x.md:9",
        "conf/base/catalog.yml",
        "readings:\n  type: pandas.CSVDataset\n  filepath: r.csv\n  no_such_option: 1\n",
        scratch.path(),
        scratch.path(),
    )
    .expect_err("an unknown option fails");
    assert!(
        message.starts_with("docs/guide/x.md:9: conf/base/catalog.yml does not load"),
        "{message}"
    );
    assert!(message.contains("no_such_option"), "{message}");
}

#[test]
fn guide_index() {
    run_page("README.md");
}

#[test]
fn guide_getting_started() {
    run_page("getting-started.md");
}

#[test]
fn guide_kedro_mapping() {
    run_page("kedro-mapping.md");
}

#[test]
fn guide_catalog() {
    run_page("catalog.md");
}

#[test]
fn guide_tracking() {
    run_page("tracking.md");
}

#[test]
fn guide_serving() {
    run_page("serving.md");
}

#[test]
fn guide_deployment() {
    run_page("deployment.md");
}
