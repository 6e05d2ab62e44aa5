//! kedro-viz serving an export (`kedro viz run --load-file`), and headless
//! Chromium looking at the page it serves.
//!
//! Everything stays on the loopback interface: Kedro's telemetry is off,
//! and kedro-viz's start-up check for a newer release on PyPI (and anything
//! Chromium would fetch from outside) goes to a proxy address nothing
//! listens on, so it fails at once instead of leaving the machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::http;
use crate::process::{JanitorHandle, Service, free_port, run_logged};
use crate::python::with_path;

/// kedro-viz starts in about 4 s on 2 cores; the first start compiles
/// Python bytecode.
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// A loopback address nothing listens on (the discard port).
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// The environment that keeps Kedro and kedro-viz off the network.
fn offline(command: &mut Command) {
    command
        .env("DO_NOT_TRACK", "1")
        .env("KEDRO_DISABLE_TELEMETRY", "true")
        .env("HTTPS_PROXY", DEAD_PROXY)
        .env("HTTP_PROXY", DEAD_PROXY)
        .env("https_proxy", DEAD_PROXY)
        .env("http_proxy", DEAD_PROXY)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
}

/// A running `kedro viz run --load-file`, stopped (its process group) when
/// dropped.
#[derive(Debug)]
pub struct Server {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:<port>/`.
    pub url: String,
    service: Service,
}

impl Server {
    /// Starts `bin/kedro viz run` on the export directory `export`, from
    /// its parent directory (kedro-viz resolves the directory against its
    /// working directory, even an absolute one), logging to
    /// `<export>.log`, and waits until `/api/main` answers 200.
    pub fn start(bin: &Path, export: &Path, janitor: &JanitorHandle) -> Result<Server, String> {
        let parent = export
            .parent()
            .ok_or_else(|| format!("{} has no parent directory", export.display()))?;
        let name = export
            .file_name()
            .ok_or_else(|| format!("{} has no file name", export.display()))?;
        let port = free_port()?;
        let mut command = Command::new(bin.join("kedro"));
        command
            .args(["viz", "run", "--load-file"])
            .arg(name)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--no-browser")
            .current_dir(parent)
            .env("PATH", with_path(bin));
        offline(&mut command);
        let log = parent.join(format!("{}.log", name.to_string_lossy()));
        let mut service = Service::spawn("kedro viz", command, &log, janitor)?;
        service.wait_ready(START_TIMEOUT, || {
            http::get(port, "/api/main", Duration::from_secs(10)).is_ok_and(|r| r.status == 200)
        })?;
        Ok(Server {
            port,
            url: format!("http://127.0.0.1:{port}/"),
            service,
        })
    }

    /// `GET path`, which must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Result<Value, String> {
        http::get(self.port, path, Duration::from_secs(30))?.ok_json()
    }

    /// The status `GET path` answers.
    pub fn status(&self, path: &str) -> Result<u16, String> {
        Ok(http::get(self.port, path, Duration::from_secs(30))?.status)
    }

    /// The server's log so far (for failure messages).
    pub fn log_tail(&self, lines: usize) -> String {
        self.service.log_tail(lines)
    }
}

/// Debian's `chromium` (or `chromium-browser`) on PATH, if installed.
pub fn installed_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("chromium"), dir.join("chromium-browser")])
        .find(|candidate| candidate.is_file())
}

/// Debian's `chromium`: the one on PATH, else installed once with
/// `apt-get install chromium` (Debian's package, as the tests expect) when
/// this process may (root, apt-get present), under an exclusive lock on
/// `<target>/chromium.lock` so concurrent test processes wait for one
/// install. An error says why when neither works.
pub fn chromium() -> Result<PathBuf, String> {
    use std::sync::OnceLock;
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            crate::debian::find_or_install("chromium", "`chromium` on PATH", installed_chromium)
        })
        .clone()
}

/// What headless Chromium saw of a page.
#[derive(Debug)]
pub struct Page {
    /// The screenshot.
    pub png: PathBuf,
    /// The DOM after the scripts ran.
    pub dom: String,
}

/// Loads `url` in headless Chromium, giving its scripts a virtual-time
/// budget of 15 s to render, and takes a 1280×800 screenshot into
/// `dir/page.png` and the rendered DOM; both run supervised, with a
/// profile of their own under `dir`.
pub fn capture(
    chromium: &Path,
    url: &str,
    dir: &Path,
    janitor: &JanitorHandle,
) -> Result<Page, String> {
    let png = dir.join("page.png");
    let base = |profile: &str| {
        let mut command = Command::new(chromium);
        command
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .args(["--hide-scrollbars", "--window-size=1280,800"])
            .arg("--virtual-time-budget=15000")
            .arg(format!("--proxy-server={DEAD_PROXY}"))
            .arg(format!("--user-data-dir={}", dir.join(profile).display()));
        command
    };
    let mut shot = base("profile-shot");
    shot.arg(format!("--screenshot={}", png.display())).arg(url);
    run_logged(
        "chromium --screenshot",
        shot,
        &dir.join("chromium-shot.log"),
        janitor,
        Duration::from_secs(180),
    )?;
    let dom_file = dir.join("dom.html");
    let mut dump = base("profile-dom");
    dump.arg("--dump-dom").arg(url);
    // --dump-dom writes the DOM on stdout, which the supervised log holds
    // together with Chromium's own stderr chatter.
    run_logged(
        "chromium --dump-dom",
        dump,
        &dom_file,
        janitor,
        Duration::from_secs(180),
    )?;
    let dom = std::fs::read_to_string(&dom_file)
        .map_err(|e| format!("read {}: {e}", dom_file.display()))?;
    if !png.is_file() {
        return Err(format!("chromium wrote no screenshot at {}", png.display()));
    }
    Ok(Page { png, dom })
}

/// Decodes an 8-bit, non-interlaced RGB or RGBA PNG with Python's standard
/// library (zlib and the five scanline filters) and counts its distinct
/// colours (alpha ignored).
const PNG_COLOURS: &str = r#"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG file")
pos, idat = 8, b""
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    elif kind == b"IEND":
        break
if depth != 8 or interlace != 0 or ctype not in (2, 6):
    sys.exit(f"unsupported PNG: depth {depth}, colour type {ctype}, interlace {interlace}")
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
i = 0
for _ in range(h):
    f = raw[i]
    line = bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        if f == 1:
            line[x] = (line[x] + a) & 255
        elif f == 2:
            line[x] = (line[x] + b) & 255
        elif f == 3:
            line[x] = (line[x] + ((a + b) >> 1)) & 255
        elif f == 4:
            c = prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        colours.add(bytes(line[x:x + 3]))
    prev = line
print(w, h, len(colours))
"#;

/// `(width, height, distinct colours)` of the PNG at `png`, decoded by
/// `python`.
pub fn png_colours(python: &Path, png: &Path) -> Result<(u32, u32, usize), String> {
    let out = crate::python::run_script(python, PNG_COLOURS, [png])?;
    let fields: Vec<&str> = out.split_whitespace().collect();
    let parse = |i: usize| -> Result<usize, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("unexpected PNG decoder output: {out:?}"))
    };
    let (w, h, colours) = (parse(0)?, parse(1)?, parse(2)?);
    Ok((
        u32::try_from(w).map_err(|e| e.to_string())?,
        u32::try_from(h).map_err(|e| e.to_string())?,
        colours,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×1 RGB PNG (one red, one blue pixel), built by hand: the decoder
    /// must see two colours.
    fn tiny_png() -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) {
            out.extend((body.len() as u32).to_be_bytes());
            out.extend(kind);
            out.extend(body);
            // The CRC is not checked by the decoder; zero is fine here.
            out.extend([0, 0, 0, 0]);
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(2u32.to_be_bytes());
        ihdr.extend(1u32.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        // One scanline, filter 0, stored (uncompressed) in a zlib stream.
        let scanline = [0u8, 255, 0, 0, 0, 0, 255];
        let mut zlib = vec![0x78, 0x01, 0x01];
        zlib.extend((scanline.len() as u16).to_le_bytes());
        zlib.extend((!(scanline.len() as u16)).to_le_bytes());
        zlib.extend(scanline);
        let (mut a, mut b) = (1u32, 0u32);
        for byte in scanline {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        zlib.extend(((b << 16) | a).to_be_bytes());
        chunk(&mut png, b"IDAT", &zlib);
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn the_png_decoder_counts_colours() {
        // python3 is what every venv here is made with.
        let python = std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("python3"))
                    .find(|c| c.is_file())
            })
            .expect("python3 on PATH");
        let dir = crate::process::WorkDir::create("tandem-png-test").unwrap();
        let file = dir.path().join("tiny.png");
        std::fs::write(&file, tiny_png()).unwrap();
        assert_eq!(png_colours(&python, &file).unwrap(), (2, 1, 2));
    }
}
