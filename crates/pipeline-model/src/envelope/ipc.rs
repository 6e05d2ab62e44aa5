//! Checks on an Arrow IPC stream that arrow-ipc's reader leaves out.
//!
//! The reader (60.1) panics on a buffer its message places outside the
//! message body, on a fixed-width buffer (offsets, keys, values) whose
//! length is not a whole number of values, and on a union longer than
//! its type ids; it takes negative lengths and counts for huge ones, and
//! it reserves a message body's stated length (up to 64 MiB) before
//! reading it. So before the reader sees a stream, every message is
//! checked here: its body within the stream, every buffer within the
//! body and of whole values, every length and count non-negative; union
//! columns are refused (no MLflow signature has them).

use std::collections::VecDeque;

use arrow_ipc::{Message, MessageHeader, RecordBatch};
use arrow_schema::{DataType, Schema};

use crate::error::Error;

/// What starts a message's metadata length since Arrow 0.15.
const CONTINUATION: [u8; 4] = [0xff; 4];

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("cannot read the Arrow IPC stream: {message}"))
}

/// Checks the messages of the stream `body`, as far as the reader would
/// read them: where the reader would stop (at the end-of-stream marker or
/// at the end of the bytes) or fail without harm (metadata that is not a
/// message, a schema it cannot read, a negative metadata length,
/// truncated metadata), so does this.
pub(crate) fn check_stream(body: &[u8]) -> Result<(), Error> {
    let mut schema: Option<Schema> = None;
    let mut rest = body;
    loop {
        let Some((prefix, after)) = rest.split_first_chunk::<4>() else {
            return Ok(());
        };
        let (prefix, after) = if *prefix == CONTINUATION {
            match after.split_first_chunk::<4>() {
                Some(next) => next,
                None => return Ok(()),
            }
        } else {
            (prefix, after)
        };
        let Ok(meta_len) = usize::try_from(i32::from_le_bytes(*prefix)) else {
            return Ok(());
        };
        if meta_len == 0 || meta_len > after.len() {
            return Ok(());
        }
        let (metadata, after) = after.split_at(meta_len);
        let Ok(message) = arrow_ipc::root_as_message(metadata) else {
            return Ok(());
        };
        let body_len = usize::try_from(message.bodyLength())
            .ok()
            .filter(|len| *len <= after.len())
            .ok_or_else(|| {
                invalid(format!(
                    "a message body of {} bytes, {} left in the stream",
                    message.bodyLength(),
                    after.len()
                ))
            })?;
        match &schema {
            // The first message is the schema.
            None => {
                let Some(read) = message
                    .header_as_schema()
                    .and_then(|fb| arrow_ipc::convert::try_fb_to_schema(fb).ok())
                else {
                    return Ok(());
                };
                check_schema(&read)?;
                schema = Some(read);
            }
            Some(schema) => check_message(&message, schema, body_len)?,
        }
        rest = &after[body_len..];
    }
}

fn check_message(message: &Message<'_>, schema: &Schema, body_len: usize) -> Result<(), Error> {
    let (batch, fields) = match message.header_type() {
        MessageHeader::RecordBatch => match message.header_as_record_batch() {
            Some(batch) => (
                batch,
                schema.fields().iter().map(|f| f.data_type()).collect(),
            ),
            None => return Ok(()),
        },
        MessageHeader::DictionaryBatch => {
            let Some(dictionary) = message.header_as_dictionary_batch() else {
                return Ok(());
            };
            // A dictionary batch is one column of the values of the
            // dictionary its id names.
            #[expect(deprecated, reason = "the reader finds dictionaries by field dict_id")]
            let fields = schema.fields_with_dict_id(dictionary.id());
            let values = match fields.first().map(|f| f.data_type()) {
                Some(DataType::Dictionary(_, values)) => values.as_ref(),
                _ => return Ok(()),
            };
            match dictionary.data() {
                Some(batch) => (batch, vec![values]),
                None => return Ok(()),
            }
        }
        _ => return Ok(()),
    };
    check_batch(&batch, body_len)?;
    // Compressed buffers have their compressed lengths (and this build
    // of the reader refuses them).
    if batch.compression().is_none() {
        let mut layout = Layout {
            buffers: batch
                .buffers()
                .iter()
                .flatten()
                .map(|b| b.length())
                .collect(),
            variadic: batch.variadicBufferCounts().iter().flatten().collect(),
        };
        for data_type in fields {
            match layout.array(data_type) {
                Ok(()) => {}
                // The batch has fewer buffers than its schema needs: the
                // reader refuses it.
                Err(None) => break,
                Err(Some(e)) => return Err(e),
            }
        }
    }
    Ok(())
}

fn check_batch(batch: &RecordBatch<'_>, body_len: usize) -> Result<(), Error> {
    if batch.length() < 0 {
        return Err(invalid(format!("a batch of {} rows", batch.length())));
    }
    for node in batch.nodes().iter().flatten() {
        if node.length() < 0 || node.null_count() < 0 {
            return Err(invalid(format!(
                "an array of {} values with {} nulls",
                node.length(),
                node.null_count()
            )));
        }
    }
    for buffer in batch.buffers().iter().flatten() {
        let end = usize::try_from(buffer.offset())
            .ok()
            .zip(usize::try_from(buffer.length()).ok())
            .and_then(|(offset, length)| offset.checked_add(length));
        if end.is_none_or(|end| end > body_len) {
            return Err(invalid(format!(
                "a buffer of {} bytes at {}, outside its message body of {body_len} bytes",
                buffer.length(),
                buffer.offset()
            )));
        }
    }
    Ok(())
}

/// A batch's buffers, taken in the order the reader takes them.
struct Layout {
    /// The lengths of the buffers left.
    buffers: VecDeque<i64>,
    /// The variadic buffer counts left (of view columns).
    variadic: VecDeque<i64>,
}

/// `None` when the buffers run out, which the reader reports itself.
type Step = Result<(), Option<Error>>;

impl Layout {
    /// A buffer of any length (validity bits, bytes).
    fn bytes(&mut self) -> Step {
        self.buffers.pop_front().map(drop).ok_or(None)
    }

    /// A buffer of values `width` bytes wide.
    fn fixed(&mut self, width: usize, data_type: &DataType) -> Step {
        let length = self.buffers.pop_front().ok_or(None)?;
        match usize::try_from(length) {
            Ok(length) if length % width != 0 => Err(Some(invalid(format!(
                "a buffer of {length} bytes for {data_type} values of {width} bytes"
            )))),
            _ => Ok(()),
        }
    }

    /// The buffers of an array of `data_type`, its children's included.
    fn array(&mut self, data_type: &DataType) -> Step {
        match data_type {
            DataType::Null => Ok(()),
            DataType::Boolean | DataType::FixedSizeBinary(_) => {
                self.bytes()?;
                self.bytes()
            }
            DataType::Utf8 | DataType::Binary => {
                self.bytes()?;
                self.fixed(4, data_type)?;
                self.bytes()
            }
            DataType::LargeUtf8 | DataType::LargeBinary => {
                self.bytes()?;
                self.fixed(8, data_type)?;
                self.bytes()
            }
            DataType::Utf8View | DataType::BinaryView => {
                let count = self.variadic.pop_front().ok_or(None)?;
                self.bytes()?;
                self.fixed(16, data_type)?;
                for _ in 0..count {
                    self.bytes()?;
                }
                Ok(())
            }
            DataType::List(item) | DataType::Map(item, _) => {
                self.bytes()?;
                self.fixed(4, data_type)?;
                self.array(item.data_type())
            }
            DataType::LargeList(item) => {
                self.bytes()?;
                self.fixed(8, data_type)?;
                self.array(item.data_type())
            }
            DataType::ListView(item) | DataType::LargeListView(item) => {
                let width = if matches!(data_type, DataType::ListView(_)) {
                    4
                } else {
                    8
                };
                self.bytes()?;
                self.fixed(width, data_type)?;
                self.fixed(width, data_type)?;
                self.array(item.data_type())
            }
            DataType::FixedSizeList(item, _) => {
                self.bytes()?;
                self.array(item.data_type())
            }
            DataType::Struct(fields) => {
                self.bytes()?;
                for field in fields {
                    self.array(field.data_type())?;
                }
                Ok(())
            }
            DataType::RunEndEncoded(run_ends, values) => {
                self.array(run_ends.data_type())?;
                self.array(values.data_type())
            }
            // The values are in a dictionary batch of their own.
            DataType::Dictionary(keys, _) => {
                self.bytes()?;
                self.fixed(keys.primitive_width().unwrap_or(1), data_type)
            }
            // Refused with the schema.
            DataType::Union(_, _) => Err(None),
            other => {
                self.bytes()?;
                match other.primitive_width() {
                    Some(width) => self.fixed(width, other),
                    None => self.bytes(),
                }
            }
        }
    }
}

/// Refuses union columns, whose stated length the reader trusts.
fn check_schema(schema: &Schema) -> Result<(), Error> {
    match schema
        .fields()
        .iter()
        .find(|field| has_union(field.data_type()))
    {
        Some(field) => Err(invalid(format!(
            "column '{}' is a union ({}), which model inputs cannot be",
            field.name(),
            field.data_type()
        ))),
        None => Ok(()),
    }
}

fn has_union(data_type: &DataType) -> bool {
    match data_type {
        DataType::Union(_, _) => true,
        DataType::List(field)
        | DataType::LargeList(field)
        | DataType::ListView(field)
        | DataType::LargeListView(field)
        | DataType::FixedSizeList(field, _)
        | DataType::Map(field, _) => has_union(field.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| has_union(f.data_type())),
        DataType::Dictionary(_, values) => has_union(values),
        DataType::RunEndEncoded(run_ends, values) => {
            has_union(run_ends.data_type()) || has_union(values.data_type())
        }
        _ => false,
    }
}
