//! A minimal HTTP/1.1 client over `std::net::TcpStream`, for loopback
//! servers only (MLflow, moto, the scoring servers): one request per
//! connection (`Connection: close`), the response read to the end, chunked
//! bodies decoded. No TLS, no redirects, no keep-alive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// A response: status, headers (names lowercased) and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header, names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked and cut to `Content-Length`.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, tolerating MLflow's bare `NaN`/`Infinity` tokens
    /// (its scoring server emits them for NaN outputs) by reading them as null.
    pub fn json(&self) -> Result<Value, String> {
        let text = self.text();
        serde_json::from_str(&text)
            .or_else(|_| serde_json::from_str(&nan_to_null(&text)))
            .map_err(|e| {
                format!(
                    "HTTP {}: body is not JSON ({e}): {}",
                    self.status,
                    clip(&text)
                )
            })
    }

    /// The JSON body of a 200 response, or an error naming the status and body.
    pub fn ok_json(&self) -> Result<Value, String> {
        if self.status == 200 {
            self.json()
        } else {
            Err(format!("HTTP {}: {}", self.status, clip(&self.text())))
        }
    }
}

/// `text` cut to a length fit for one line of a report.
pub fn clip(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` outside JSON
/// strings with `null`.
fn nan_to_null(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else {
            let token = ["-Infinity", "Infinity", "NaN"]
                .into_iter()
                .find(|t| rest.starts_with(t));
            if let Some(token) = token {
                out.push_str("null");
                rest = &rest[token.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Sends one request to `127.0.0.1:port` and reads the whole response.
/// `timeout` bounds connecting, each write and each read.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, String> {
    let fail = |e: std::io::Error| format!("{method} http://127.0.0.1:{port}{path}: {e}");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    stream.set_write_timeout(Some(timeout)).map_err(fail)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: */*\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(fail)?;
    stream.write_all(body).map_err(fail)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(fail)?;
    parse_response(&raw).map_err(|e| format!("{method} http://127.0.0.1:{port}{path}: {e}"))
}

/// `GET path`.
pub fn get(port: u16, path: &str, timeout: Duration) -> Result<Response, String> {
    request(port, "GET", path, None, &[], timeout)
}

/// `method path` with a JSON body.
pub fn send_json(
    port: u16,
    method: &str,
    path: &str,
    body: &Value,
    timeout: Duration,
) -> Result<Response, String> {
    request(
        port,
        method,
        path,
        Some("application/json"),
        body.to_string().as_bytes(),
        timeout,
    )
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("incomplete response ({} bytes)", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {}", clip(status_line)))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut response = Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        response.body = dechunk(&response.body)?;
    } else if let Some(length) = response
        .header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        response.body.truncate(length);
    }
    Ok(response)
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunked body")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunk".to_owned());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

/// Percent-encodes a query-string value or path segment (RFC 3986 unreserved
/// characters kept).
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// Raw connections, for tests of a server's connection handling (caps,
// keep-alive, slow clients) rather than of its answers.

/// A connection that sent nothing yet, with the hang guard on its reads.
pub fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(crate::gate::HANG_GUARD))
        .unwrap();
    stream
        .set_write_timeout(Some(crate::gate::HANG_GUARD))
        .unwrap();
    stream
}

/// Reads until the server closes the connection (EOF or reset) and
/// returns what came first.
pub fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0_u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return seen;
            }
            Err(e) => panic!("the server never closed the connection: {e}"),
        }
    }
}

/// Whether the server has already closed `stream` (checked without waiting).
pub fn closed_now(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0_u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_nan_bodies_are_read() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5\r\n{\"a\":\r\n4\r\nNaN}\r\n0\r\n\r\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.text(), "{\"a\":NaN}");
        assert_eq!(response.json().unwrap(), serde_json::json!({"a": null}));
        assert_eq!(nan_to_null(r#"["NaN", -Infinity]"#), r#"["NaN", null]"#);
        assert_eq!(encode("name='a b'"), "name%3D%27a%20b%27");
    }
}
