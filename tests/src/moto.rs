//! A real S3-speaking server for the catalog's S3 tests: moto, from the
//! Python venv (see [`crate::python`]), one per test process.
//!
//! The server runs under `sh`, which waits for end-of-file on its standard
//! input and then kills it. That pipe's write end belongs to the test
//! process, so the server dies with the test process however it ends
//! (normal exit, panic, SIGKILL): statics are never dropped, so no `Drop`
//! could do this.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tandem_catalog::Credentials;

/// Runs `moto_server` (`$0`) on 127.0.0.1:`$1` until stdin closes.
const SUPERVISOR: &str =
    r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill "$pid""#;

/// The secret key in [`Moto::credentials`] (moto accepts any), for tests
/// that check it never shows up in messages.
pub const SECRET: &str = "tandem-secret-key";

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    port: u16,
    /// Held so the supervisor's stdin stays open for the process's lifetime.
    _supervisor: Mutex<Child>,
}

/// The process's moto server, started on first use.
///
/// # Panics
///
/// When the venv cannot be set up or the server does not answer within 60 s.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

impl Moto {
    fn start() -> Moto {
        let server = crate::python::venv_bin("moto_server");
        let port = free_port();
        let mut supervisor = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(&server)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh can be started");
        let started = Instant::now();
        loop {
            if http(port, "GET", "/").is_ok_and(|status| status == 200) {
                break;
            }
            if let Ok(Some(status)) = supervisor.try_wait() {
                panic!("moto_server exited early ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            port,
            _supervisor: Mutex::new(supervisor),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket no other test of this process uses and returns its name.
    ///
    /// # Panics
    ///
    /// When moto refuses to create it.
    pub fn new_bucket(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let bucket = format!("tandem-test-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let status = http(self.port, "PUT", &format!("/{bucket}"))
            .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e}"));
        assert_eq!(status, 200, "creating bucket {bucket}");
        bucket
    }

    /// Credentials as a credentials.yml entry would give them, with Kedro's
    /// (fsspec's) names and every setting explicit, so the S3 client never
    /// looks for credentials in the environment or a metadata service.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            [
                ("key".to_owned(), "tandem-key-id".into()),
                ("secret".to_owned(), SECRET.into()),
                ("region_name".to_owned(), "us-east-1".into()),
                (
                    "client_kwargs".to_owned(),
                    serde_json::json!({"endpoint_url": self.endpoint()}),
                ),
            ]
            .into(),
        )
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a loopback port can be bound")
        .port()
}

/// Sends a body-less HTTP/1.1 request and returns the response status.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head = String::from_utf8_lossy(&response);
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {head:.80}")))
}
