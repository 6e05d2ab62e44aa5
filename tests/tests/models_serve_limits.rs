//! The server's limits as a user sets them: `tandem models serve` (the
//! bundled CLI, which hands them to the model's embedded executable) with
//! `--max-connections`, `--timeout-keep-alive` and `--body-budget`, on the
//! churn model. A client past the connection cap waits until the server
//! closes an idle connection; idle connections end with an end of file
//! from the server, after they open and after a response; a body larger
//! than the whole budget gets a 413 though `--max-body` allows it; and
//! `--help` documents the three flags with their defaults. Every wait is
//! for a reply or an end of file (under the hang guard), never a time.

use std::io::Write;
use std::net::TcpStream;

use serde_json::Value;
use tandem_test_support::gate::HANG_GUARD;
use tandem_test_support::http;
use tandem_test_support::http::{closed_now, connect, read_until_closed};
use tandem_tests::{tandem, tandem_bin};

use crate::models_serve::Serving;
use crate::run_support::trained_churn;

#[test]
fn serve_limits_set_on_the_command_line_hold() {
    const CAP: usize = 2;
    let project = trained_churn();
    let cwd = project.path();
    let example = std::fs::read(cwd.join("model/serving_input_example.json")).unwrap();
    // Exactly one example fits in the budget, so one more byte cannot.
    let budget = example.len().to_string();
    let server = Serving::start(
        tandem_bin(),
        cwd,
        &[
            "-m",
            "model",
            "--trust-model-executable",
            "--workers",
            "1",
            "--max-connections",
            &CAP.to_string(),
            "--timeout-keep-alive",
            "1",
            "--body-budget",
            &budget,
        ],
    );
    let addr = server.addr;
    // The embedded executable logs what it was handed.
    assert!(
        server
            .banner
            .contains(&format!("body budget {budget} bytes")),
        "{}",
        server.banner
    );
    assert!(server.banner.contains("keep-alive 1s"), "{}", server.banner);

    // Past the cap (and before any other connection, so every slot is
    // theirs), /ping is answered only once the server closed one of the
    // idle connections at its keep-alive timeout: it closes a socket
    // before freeing its slot.
    let mut idle: Vec<TcpStream> = (0..CAP).map(|_| connect(addr)).collect();
    let ping = http::get(addr.port(), "/ping", HANG_GUARD).unwrap();
    assert_eq!(ping.status, 200, "{}", ping.text());
    let closed = idle.iter().filter(|stream| closed_now(stream)).count();
    assert!(
        closed >= 1,
        "/ping was served beside {CAP} open connections"
    );
    // Each idle connection is ended by the server, having been sent nothing.
    for stream in &mut idle {
        assert_eq!(
            read_until_closed(stream),
            b"",
            "an idle connection got bytes"
        );
    }
    drop(idle);

    // A kept-alive connection is answered, then closed once idle.
    let mut kept = connect(addr);
    kept.write_all(b"GET /ping HTTP/1.1\r\nHost: tandem\r\n\r\n")
        .unwrap();
    let seen = read_until_closed(&mut kept);
    let seen = String::from_utf8_lossy(&seen);
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(!seen.contains("Connection: close"), "{seen}");

    // A body the budget holds is scored; one byte more is refused as
    // larger than the whole budget, though --max-body (64 MiB) allows it.
    let json = Some("application/json");
    let scored = http::request(
        addr.port(),
        "POST",
        "/invocations",
        json,
        &example,
        HANG_GUARD,
    )
    .unwrap();
    assert_eq!(scored.status, 200, "{}", scored.text());
    assert!(
        scored.text().contains("churn_probability"),
        "{}",
        scored.text()
    );
    let mut over = example.clone();
    over.push(b' ');
    let refused =
        http::request(addr.port(), "POST", "/invocations", json, &over, HANG_GUARD).unwrap();
    assert_eq!(refused.status, 413, "{}", refused.text());
    let error: Value = refused.json().unwrap();
    assert_eq!(error["error_code"], "RESOURCE_EXHAUSTED", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("limit of {budget} bytes")),
        "{message}"
    );

    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
}

#[test]
fn serve_help_documents_the_limits_and_their_defaults() {
    // Compared with whitespace collapsed: clap wraps to the terminal width.
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let help = tandem(["models", "serve", "--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    let long = words(&help.stdout);
    for expected in [
        "--body-budget <BYTES>",
        "268435456, 256 MiB",
        "--max-connections <N>",
        "4096",
        "open-files limit",
        "--timeout-keep-alive <SECONDS>",
        "uvicorn's --timeout-keep-alive",
        "header-read",
    ] {
        assert!(long.contains(expected), "{expected}: {}", help.stdout);
    }
    // The short help keeps each flag with its default.
    let short = tandem(["models", "serve", "-h"]);
    assert_eq!(short.code, 0, "{short:?}");
    let brief = words(&short.stdout);
    for expected in [
        "--body-budget <BYTES>",
        "[default: 268435456]",
        "--max-connections <N>",
        "[default: 4096]",
        "--timeout-keep-alive <SECONDS>",
        "[default: 5]",
    ] {
        assert!(brief.contains(expected), "{expected}: {}", short.stdout);
    }
    // A value the server could not honour is a usage error.
    let zero = tandem(["models", "serve", "-m", "model", "--max-connections", "0"]);
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(zero.stderr.contains("--max-connections"), "{zero:?}");
}
