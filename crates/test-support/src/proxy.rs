//! An in-process HTTP proxy between a client under test and a loopback
//! server (a real `mlflow server`, moto) that injects faults: 503s (HTML,
//! with `Retry-After`), 429s (JSON), connections dropped before forwarding,
//! and — the hard case — connections dropped after the server acted but
//! before the client saw the answer, answers held back, and a dead server
//! (every connection closed unanswered), from a chosen request on if need
//! be. Faults can be aimed at chosen requests; it can also answer or
//! redirect chosen paths itself, and records request heads, so tests count
//! attempts instead of measuring times.
//!
//! The one home of this proxy: the MLflow client's tests and the
//! workspace's `tandem run` tests both use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::gate::HANG_GUARD;

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded, the answer passed back.
    Forward,
    /// A 503 with an HTML body and `Retry-After` ([`Proxy::set_retry_after`]).
    Unavailable,
    /// A 429 with MLflow's JSON error.
    TooMany,
    /// The connection closed before forwarding: the server never saw it.
    DropBefore,
    /// Forwarded, then the connection closed without the answer: the
    /// server acted, the client cannot know.
    DropAfter,
    /// Forwarded, and the answer held back for the proxy's delay.
    Late,
}

/// Shares of requests (in percent) that get each fault.
#[derive(Clone, Copy, Debug)]
pub struct FaultMix {
    /// [`Fault::Unavailable`].
    pub unavailable: u64,
    /// [`Fault::TooMany`].
    pub too_many: u64,
    /// [`Fault::DropBefore`].
    pub drop_before: u64,
    /// [`Fault::DropAfter`].
    pub drop_after: u64,
}

impl FaultMix {
    /// No random faults: everything is forwarded unless aimed.
    pub const NONE: FaultMix = FaultMix {
        unavailable: 0,
        too_many: 0,
        drop_before: 0,
        drop_after: 0,
    };
}

/// Answers a request itself: (path prefix, status, content type, body).
pub type Canned = (String, u16, &'static str, String);

struct Shared {
    upstream: u16,
    mix: FaultMix,
    canned: Vec<Canned>,
    rng: AtomicU64,
    retry_after: AtomicU64,
    stop: AtomicBool,
    heads: Mutex<Vec<String>>,
    /// Notified whenever a request head is recorded.
    arrived: Condvar,
    faults: Mutex<Vec<Fault>>,
    /// Faults aimed at requests whose `METHOD /path` starts with a prefix,
    /// each for a number of matching requests.
    aimed: Mutex<Vec<(String, Fault, u32)>>,
    redirects: Mutex<Vec<(String, String)>>,
    dead: AtomicBool,
    /// Requests whose `METHOD /path` starts with this kill the server.
    die_at: Mutex<Option<String>>,
    /// The index in `heads` of the first request the dead server refused.
    died_at: Mutex<Option<usize>>,
    delay_ms: AtomicU64,
}

/// A running proxy; it stops accepting when dropped.
pub struct Proxy {
    /// The loopback port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`
    /// with `mix` of random faults, answering `canned` paths itself.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub fn start(upstream: u16, mix: FaultMix, canned: Vec<Canned>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream,
            mix,
            canned,
            // One seed for every proxy: a test sees the same faults on every run.
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            retry_after: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            heads: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            faults: Mutex::new(Vec::new()),
            aimed: Mutex::new(Vec::new()),
            redirects: Mutex::new(Vec::new()),
            dead: AtomicBool::new(false),
            die_at: Mutex::new(None),
            died_at: Mutex::new(None),
            delay_ms: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(&s, conn));
            }
        });
        Proxy { port, shared }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `Retry-After` (seconds) the 503s ask for from now on (0 at first).
    pub fn set_retry_after(&self, seconds: u64) {
        self.shared.retry_after.store(seconds, Ordering::SeqCst);
    }

    /// Gives the next `times` requests whose `METHOD /path` starts with
    /// `prefix` the fault `fault` (before the random mix is consulted).
    pub fn aim(&self, prefix: &str, fault: Fault, times: u32) {
        self.shared
            .aimed
            .lock()
            .unwrap()
            .push((prefix.to_owned(), fault, times));
    }

    /// Answers requests whose path starts with `prefix` with a 307 to `location`.
    pub fn redirect(&self, prefix: &str, location: &str) {
        self.shared
            .redirects
            .lock()
            .unwrap()
            .push((prefix.to_owned(), location.to_owned()));
    }

    /// From now on every connection is closed unanswered (a dead server
    /// that still lets the proxy count the attempts), or served again.
    pub fn set_dead(&self, dead: bool) {
        self.shared.dead.store(dead, Ordering::SeqCst);
    }

    /// The server dies at the first request whose `METHOD /path` starts
    /// with `prefix` (`"POST /api/2.0/mlflow/logged-models "`, the trailing
    /// space ending the path): that request and every later one are closed
    /// unanswered, as by [`Proxy::set_dead`]. For a server that dies at a
    /// chosen point of a run, which a test cannot time from outside.
    pub fn die_at(&self, prefix: &str) {
        *self.shared.die_at.lock().unwrap() = Some(prefix.to_owned());
    }

    /// The request heads from the one that killed the server at
    /// [`Proxy::die_at`] on (empty while it lives).
    pub fn heads_since_death(&self) -> Vec<String> {
        let heads = self.shared.heads.lock().unwrap();
        match *self.shared.died_at.lock().unwrap() {
            Some(index) => heads[index..].to_vec(),
            None => Vec::new(),
        }
    }

    /// How long [`Fault::Late`] holds an answer back.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// How many requests so far had a request line starting with `prefix`
    /// (`"POST /api/2.0/mlflow/runs/log-batch"`).
    pub fn count(&self, prefix: &str) -> usize {
        self.heads()
            .iter()
            .filter(|h| h.starts_with(prefix))
            .count()
    }

    /// Blocks until `times` requests whose request line starts with
    /// `prefix` have arrived (an event, not a time: the proxy records a
    /// head before it forwards, holds or drops the request).
    ///
    /// # Panics
    ///
    /// After [`HANG_GUARD`] without them, naming what did arrive.
    pub fn wait_for(&self, prefix: &str, times: usize) {
        let heads = self.shared.heads.lock().unwrap();
        let (heads, waited) = self
            .shared
            .arrived
            .wait_timeout_while(heads, HANG_GUARD, |heads| {
                heads.iter().filter(|h| h.starts_with(prefix)).count() < times
            })
            .unwrap();
        assert!(
            !waited.timed_out(),
            "{times} × {prefix} never arrived; requests seen: {:#?}",
            heads
                .iter()
                .map(|h| h.lines().next().unwrap_or_default())
                .collect::<Vec<_>>()
        );
    }

    /// Request lines and headers seen so far.
    pub fn heads(&self) -> Vec<String> {
        self.shared.heads.lock().unwrap().clone()
    }

    /// The faults injected so far.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared.faults.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn next_percent(s: &Shared) -> u64 {
    // xorshift64: deterministic per proxy, no dependency needed.
    let mut x = s.rng.load(Ordering::SeqCst);
    loop {
        let mut y = x;
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        match s
            .rng
            .compare_exchange(x, y, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => return y % 100,
            Err(current) => x = current,
        }
    }
}

fn choose(s: &Shared) -> Fault {
    let r = next_percent(s);
    let m = s.mix;
    let table = [
        (m.unavailable, Fault::Unavailable),
        (m.too_many, Fault::TooMany),
        (m.drop_before, Fault::DropBefore),
        (m.drop_after, Fault::DropAfter),
    ];
    let mut acc = 0;
    for (share, fault) in table {
        acc += share;
        if r < acc {
            return fault;
        }
    }
    Fault::Forward
}

/// The aimed fault for a request `METHOD /path`, using up one of its times.
fn aimed(s: &Shared, target: &str) -> Option<Fault> {
    let mut aimed = s.aimed.lock().unwrap();
    let (_, fault, times) = aimed
        .iter_mut()
        .find(|(prefix, _, times)| *times > 0 && target.starts_with(prefix.as_str()))?;
    *times -= 1;
    Some(*fault)
}

/// Reads one request: head (lines) and body (by Content-Length).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn respond(conn: &mut TcpStream, status: u16, content_type: &str, extra: &str, body: &str) {
    let _ = write!(
        conn,
        "HTTP/1.1 {status} Fault\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve(s: &Shared, conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    let Some((head, body)) = read_request(&mut reader) else {
        return;
    };
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_owned();
    let target = head
        .first()
        // The trailing space lets an aimed prefix end a path exactly.
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ") + " ")
        .unwrap_or_default();
    {
        // One lock over recording and dying, so `died_at` indexes `heads`.
        let mut heads = s.heads.lock().unwrap();
        heads.push(head.join("\n"));
        let dies = s
            .die_at
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|prefix| target.starts_with(prefix));
        if dies && !s.dead.swap(true, Ordering::SeqCst) {
            *s.died_at.lock().unwrap() = Some(heads.len() - 1);
        }
        s.arrived.notify_all();
    }
    if s.dead.load(Ordering::SeqCst) {
        s.faults.lock().unwrap().push(Fault::DropBefore);
        let _ = conn.shutdown(Shutdown::Both);
        return;
    }
    let redirect = s
        .redirects
        .lock()
        .unwrap()
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, location)| location.clone());
    if let Some(location) = redirect {
        respond(
            &mut conn,
            307,
            "text/plain",
            &format!("Location: {location}\r\n"),
            "",
        );
        return;
    }
    if let Some((_, status, ctype, text)) = s
        .canned
        .iter()
        .find(|(prefix, ..)| path.starts_with(prefix.as_str()))
    {
        respond(&mut conn, *status, ctype, "", text);
        return;
    }
    let fault = aimed(s, &target).unwrap_or_else(|| choose(s));
    s.faults.lock().unwrap().push(fault);
    match fault {
        Fault::Unavailable => respond(
            &mut conn,
            503,
            "text/html",
            &format!("Retry-After: {}\r\n", s.retry_after.load(Ordering::SeqCst)),
            "<html><body><h1>503 Service Unavailable</h1></body></html>",
        ),
        Fault::TooMany => respond(
            &mut conn,
            429,
            "application/json",
            "",
            r#"{"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}"#,
        ),
        Fault::DropBefore => {}
        Fault::Forward | Fault::DropAfter | Fault::Late => {
            let Some(answer) = forward(s.upstream, &head, &body) else {
                return;
            };
            if fault == Fault::Late {
                std::thread::sleep(Duration::from_millis(s.delay_ms.load(Ordering::SeqCst)));
            }
            if fault != Fault::DropAfter {
                let _ = conn.write_all(&answer);
            }
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
}

/// Sends the request upstream on a fresh connection and returns the raw answer.
fn forward(upstream: u16, head: &[String], body: &[u8]) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let mut out = String::new();
    for (i, line) in head.iter().enumerate() {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if i > 0 && (name == "connection" || name == "host") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Host: 127.0.0.1:{upstream}\r\nConnection: close\r\n\r\n"
    ));
    up.write_all(out.as_bytes()).ok()?;
    up.write_all(body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    Some(answer)
}
