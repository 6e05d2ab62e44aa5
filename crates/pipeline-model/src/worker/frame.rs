//! Frames: the unit of the worker protocol, in both directions.

use std::io::{ErrorKind, Read, Write};

use crate::error::Error;

/// The first bytes of every frame; anything else on the pipe is not a
/// tandem worker or loader talking.
pub const MAGIC: [u8; 4] = *b"TNDW";

/// The protocol version this build speaks. A frame of another version is
/// refused: the loader in a model's `code/` and the executable next to it
/// must come from the same tandem.
pub const PROTOCOL_VERSION: u8 = 1;

/// The longest section accepted. Sections are read as their bytes arrive
/// (memory never runs ahead of the data), so this only rejects lengths
/// that are garbage before waiting on bytes that will never come.
pub const MAX_SECTION_LEN: u64 = 1 << 36;

const HEADER_LEN: usize = 8;

/// What a frame carries; each kind has a fixed number of sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Worker → loader, once the model is loaded: a JSON object
    /// describing the worker (`protocol`, `package`, `version`).
    Ready,
    /// Loader → worker: the params (a JSON object) and the input table
    /// (an Arrow IPC stream).
    Predict,
    /// Worker → loader: predictions that are a table, as an Arrow IPC stream.
    Table,
    /// Worker → loader: any other predictions, as the JSON value tandem's
    /// server writes under `predictions`.
    Json,
    /// Worker → loader: `{"error_code": ..., "message": ...}`, as tandem's
    /// server answers the same failure.
    Error,
}

impl FrameKind {
    /// The byte that stands for the kind on the wire.
    pub fn byte(self) -> u8 {
        match self {
            FrameKind::Ready => b'R',
            FrameKind::Predict => b'P',
            FrameKind::Table => b'T',
            FrameKind::Json => b'J',
            FrameKind::Error => b'E',
        }
    }

    fn from_byte(byte: u8) -> Option<FrameKind> {
        Some(match byte {
            b'R' => FrameKind::Ready,
            b'P' => FrameKind::Predict,
            b'T' => FrameKind::Table,
            b'J' => FrameKind::Json,
            b'E' => FrameKind::Error,
            _ => return None,
        })
    }

    /// How many sections a frame of this kind has.
    pub fn sections(self) -> usize {
        match self {
            FrameKind::Predict => 2,
            _ => 1,
        }
    }
}

/// One message: a kind and its length-prefixed byte sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What the sections are.
    pub kind: FrameKind,
    /// The payloads, as many as [`FrameKind::sections`] says.
    pub sections: Vec<Vec<u8>>,
}

fn protocol(message: impl Into<String>) -> Error {
    Error::WorkerProtocol(message.into())
}

fn io(operation: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io {
        operation,
        path: "the worker pipe".to_owned(),
        source,
    }
}

impl Frame {
    /// A frame of `kind` with `sections`.
    pub fn new(kind: FrameKind, sections: Vec<Vec<u8>>) -> Frame {
        Frame { kind, sections }
    }

    /// Reads the next frame; `None` when the stream ends before one
    /// starts (the peer closed the pipe between frames).
    ///
    /// A stream ending inside a frame, a wrong magic or version, an
    /// unknown kind or a section count that does not fit the kind is an
    /// [`Error::WorkerProtocol`].
    pub fn read(input: &mut impl Read) -> Result<Option<Frame>, Error> {
        let mut header = [0; HEADER_LEN];
        if !fill(input, &mut header)? {
            return Ok(None);
        }
        if header[..4] != MAGIC {
            return Err(protocol(format!(
                "the stream does not start with a tandem frame (read {:?}, expected {:?}); \
                 is the other side a tandem worker or loader?",
                String::from_utf8_lossy(&header[..4]),
                String::from_utf8_lossy(&MAGIC)
            )));
        }
        if header[4] != PROTOCOL_VERSION {
            return Err(protocol(format!(
                "the other side speaks protocol version {}, this tandem speaks version \
                 {PROTOCOL_VERSION}: the model's Python loader (code/) and the executable \
                 running it come from different tandem releases; save the model again with \
                 one tandem",
                header[4]
            )));
        }
        let kind = FrameKind::from_byte(header[5])
            .ok_or_else(|| protocol(format!("unknown frame kind {:#04x}", header[5])))?;
        let count = usize::from(u16::from_le_bytes([header[6], header[7]]));
        if count != kind.sections() {
            return Err(protocol(format!(
                "a {kind:?} frame has {} section(s), this one announces {count}",
                kind.sections()
            )));
        }
        let mut sections = Vec::with_capacity(count);
        for index in 0..count {
            let mut length = [0; 8];
            if !fill(input, &mut length)? {
                return Err(truncated(kind));
            }
            let length = u64::from_le_bytes(length);
            if length > MAX_SECTION_LEN {
                return Err(protocol(format!(
                    "section {index} of a {kind:?} frame announces {length} bytes, over the \
                     limit of {MAX_SECTION_LEN}"
                )));
            }
            let mut section = Vec::new();
            input
                .by_ref()
                .take(length)
                .read_to_end(&mut section)
                .map_err(io("read from"))?;
            if section.len() as u64 != length {
                return Err(truncated(kind));
            }
            sections.push(section);
        }
        Ok(Some(Frame { kind, sections }))
    }

    /// Writes the frame (not flushed).
    pub fn write(&self, output: &mut impl Write) -> Result<(), Error> {
        let count = u16::try_from(self.sections.len())
            .map_err(|_| protocol("a frame holds at most 65535 sections"))?;
        let mut header = [0; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = PROTOCOL_VERSION;
        header[5] = self.kind.byte();
        header[6..].copy_from_slice(&count.to_le_bytes());
        output.write_all(&header).map_err(io("write to"))?;
        for section in &self.sections {
            output
                .write_all(&(section.len() as u64).to_le_bytes())
                .map_err(io("write to"))?;
            output.write_all(section).map_err(io("write to"))?;
        }
        Ok(())
    }
}

fn truncated(kind: FrameKind) -> Error {
    protocol(format!(
        "the stream ended inside a {kind:?} frame (the other side stopped mid-message)"
    ))
}

/// Fills `buffer`; `false` when the stream ended before its first byte,
/// an error when it ended after.
fn fill(input: &mut impl Read, buffer: &mut [u8]) -> Result<bool, Error> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(protocol(
                    "the stream ended inside a frame (the other side stopped mid-message)",
                ));
            }
            Ok(read) => filled += read,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io("read from")(e)),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(frame: &Frame) -> Vec<u8> {
        let mut out = Vec::new();
        frame.write(&mut out).unwrap();
        out
    }

    fn read(bytes: &[u8]) -> Result<Option<Frame>, Error> {
        Frame::read(&mut &bytes[..])
    }

    #[test]
    fn frames_round_trip_in_sequence() {
        let predict = Frame::new(
            FrameKind::Predict,
            vec![b"{\"threshold\": 0.7}".to_vec(), vec![0, 1, 2]],
        );
        let empty = Frame::new(FrameKind::Json, vec![Vec::new()]);
        let mut stream = bytes(&predict);
        assert_eq!(&stream[..8], b"TNDW\x01P\x02\x00");
        stream.extend(bytes(&empty));
        let mut input = &stream[..];
        assert_eq!(Frame::read(&mut input).unwrap(), Some(predict));
        assert_eq!(Frame::read(&mut input).unwrap(), Some(empty));
        assert_eq!(Frame::read(&mut input).unwrap(), None);
    }

    #[test]
    fn a_foreign_stream_or_version_is_refused_clearly() {
        let mut wire = bytes(&Frame::new(FrameKind::Json, vec![b"1".to_vec()]));
        let error = read(b"{\"predictions\": [1]}").unwrap_err();
        assert_eq!(error.kind(), "worker_protocol");
        assert!(error.to_string().contains("tandem frame"), "{error}");

        wire[4] = 2;
        let error = read(&wire).unwrap_err().to_string();
        assert!(error.contains("version 2"), "{error}");
        assert!(error.contains("different tandem releases"), "{error}");

        wire[4] = PROTOCOL_VERSION;
        wire[5] = b'Z';
        assert!(
            read(&wire)
                .unwrap_err()
                .to_string()
                .contains("unknown frame kind")
        );
        wire[5] = b'P';
        let error = read(&wire).unwrap_err().to_string();
        assert!(error.contains("2 section(s)"), "{error}");
    }

    #[test]
    fn a_truncated_frame_is_an_error_not_a_wait() {
        let wire = bytes(&Frame::new(
            FrameKind::Predict,
            vec![b"{}".to_vec(), vec![7; 100]],
        ));
        for cut in [3, 8, 12, 17, wire.len() - 1] {
            let error = read(&wire[..cut]).unwrap_err();
            assert_eq!(error.kind(), "worker_protocol", "cut at {cut}");
            assert!(error.to_string().contains("ended inside"), "{error}");
        }
    }

    #[test]
    fn absurd_lengths_are_refused_before_reading() {
        let mut wire = b"TNDW\x01J\x01\x00".to_vec();
        wire.extend((MAX_SECTION_LEN + 1).to_le_bytes());
        let error = read(&wire).unwrap_err().to_string();
        assert!(error.contains("over the limit"), "{error}");
    }
}
