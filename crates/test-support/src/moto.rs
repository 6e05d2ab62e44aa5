//! A real S3-speaking server: moto's, from
//! [`TOOLS_VENV`](crate::python::TOOLS_VENV), on a free loopback port,
//! supervised by [`crate::process`]. Tests share one per process
//! ([`server`]); `cargo xtask e2e` starts its own with [`Moto::start`].

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::http;
use crate::process::{JanitorHandle, Service, for_process, free_port};
use crate::python::tools_bin;

/// Makes sure no AWS SDK in a child process ever asks an instance metadata
/// endpoint for credentials (all S3 access uses explicit keys and endpoint).
pub const NO_CLOUD: [(&str, &str); 1] = [("AWS_EC2_METADATA_DISABLED", "true")];

const SHORT: Duration = Duration::from_secs(10);

/// A running moto server, stopped (its whole process group) when dropped.
#[derive(Debug)]
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The port it listens on.
    pub port: u16,
    _service: Service,
}

impl Moto {
    /// Starts `bin/moto_server` with its output in `log`, registered with
    /// `janitor`, and waits until it answers.
    pub fn start(bin: &Path, log: &Path, janitor: &JanitorHandle) -> Result<Moto, String> {
        let port = free_port()?;
        let mut command = Command::new(bin.join("moto_server"));
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(NO_CLOUD);
        let mut service = Service::spawn("moto_server", command, log, janitor)?;
        service.wait_ready(Duration::from_secs(60), || {
            http::get(port, "/", SHORT).is_ok_and(|r| r.status == 200)
        })?;
        Ok(Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            _service: service,
        })
    }

    /// Creates `bucket` (path-style, unsigned: moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let response = http::request(self.port, "PUT", &format!("/{bucket}"), None, &[], SHORT)?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(format!(
                "creating bucket {bucket}: HTTP {}: {}",
                response.status,
                http::clip(&response.text())
            ))
        }
    }

    /// Creates a bucket no other caller in this process uses and returns
    /// its name.
    ///
    /// # Panics
    ///
    /// When moto refuses to create it.
    pub fn new_bucket(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let bucket = format!("tandem-test-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.create_bucket(&bucket)
            .unwrap_or_else(|e| panic!("{e}"));
        bucket
    }
}

/// The process's moto server, started on first use and stopped when the
/// process ends.
///
/// # Panics
///
/// When the venv cannot be set up or the server does not answer within 60 s.
pub fn server() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let scope = for_process();
        scope
            .new_dir("moto")
            .and_then(|dir| Moto::start(tools_bin(), &dir.join("moto.log"), &scope.janitor()))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}
