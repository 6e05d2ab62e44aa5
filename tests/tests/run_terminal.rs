//! `tandem run` on a terminal (a pseudo-terminal from util-linux's
//! `script`): the progress bar is drawn and cleared, logs are coloured unless
//! NO_COLOR is set.

use std::process::Command;

use tandem_tests::tandem_bin;

use crate::run_support::Project;

/// A chain of `n` identity nodes writing CSV copies through the project's
/// `{name}_copy` pattern: long enough for the bar to be drawn.
fn chain(n: usize) -> String {
    let mut spec = String::from("nodes:\n");
    let mut previous = "cars".to_owned();
    for i in 0..n {
        let output = format!("step{i}_copy");
        spec.push_str(&format!(
            "  - {{name: n{i:03}, func: builtin:identity, inputs: {previous}, outputs: {output}}}\n"
        ));
        previous = output;
    }
    spec
}

/// Runs `tandem args` under a pseudo-terminal; returns the exit code and
/// everything the terminal received.
fn on_terminal(project: &Project, args: &str, no_color: bool) -> (i32, String) {
    let command_line = format!("{} {args}", tandem_bin().display());
    let mut command = Command::new("script");
    command
        .args(["-qec", &command_line, "/dev/null"])
        .current_dir(project.root())
        .env("TERM", "xterm-256color")
        .env_remove("RUST_LOG")
        .env_remove("TANDEM_ENV");
    if no_color {
        command.env("NO_COLOR", "1");
    } else {
        command.env_remove("NO_COLOR");
    }
    let output = command
        .output()
        .expect("util-linux's script can be started");
    let code = output.status.code().unwrap_or(-1);
    (code, String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_terminal_shows_the_progress_bar_and_coloured_logs() {
    let project = Project::new();
    project.write("chain.yml", &chain(150));
    let (code, screen) = on_terminal(&project, "run --spec chain.yml", false);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("/150 nodes"), "the bar is drawn: {screen}");
    assert!(
        screen.contains("\u{1b}[32m INFO"),
        "logs are coloured: {screen}"
    );
    assert!(screen.contains("completed: 150 node(s)"), "{screen}");
    // The last thing on the terminal is not the bar: it was cleared.
    let tail = &screen[screen.len().saturating_sub(200)..];
    assert!(!tail.trim_end().ends_with("nodes"), "{tail:?}");
}

#[test]
fn no_color_turns_colours_off_and_quiet_turns_the_bar_off() {
    let project = Project::new();
    project.write("chain.yml", &chain(150));
    let (code, screen) = on_terminal(&project, "run --spec chain.yml", true);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("INFO"), "{screen}");
    assert!(
        !screen.contains("\u{1b}[32m") && !screen.contains("\u{1b}[2m"),
        "{screen}"
    );

    let (code, screen) = on_terminal(&project, "run --spec chain.yml -q", false);
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("nodes  "), "no bar with -q: {screen}");
    assert!(!screen.contains("INFO"), "{screen}");
}
