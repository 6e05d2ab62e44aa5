//! Worker mode: a loaded model answering predictions over a byte stream,
//! the stdin/stdout of a `models worker` child process. This is how
//! MLflow's Python side (the `python_function` flavor's loader,
//! `code/tandem_pyfunc.py` in a model) runs a tandem model: `mlflow models
//! serve`, `mlflow models predict` and `mlflow.pyfunc.load_model` all end
//! up sending frames to a worker.
//!
//! # Protocol
//!
//! Both directions are a sequence of frames:
//!
//! ```text
//! magic    4 bytes   "TNDW"
//! version  u8        1 (PROTOCOL_VERSION)
//! kind     u8        'R', 'P', 'T', 'J' or 'E'
//! count    u16 LE    how many sections follow (fixed by the kind)
//! count ×  u64 LE length, then that many bytes
//! ```
//!
//! | kind | direction | sections |
//! |---|---|---|
//! | `R` ready | worker → loader, once, after the model loaded | JSON `{"protocol", "package", "version"}` |
//! | `P` predict | loader → worker | params (a JSON object), the input table (an Arrow IPC stream) |
//! | `T` table | worker → loader | the predictions table (an Arrow IPC stream) |
//! | `J` json | worker → loader | the JSON value tandem's server writes under `predictions` |
//! | `E` error | worker → loader | JSON `{"error_code", "message"}` |
//!
//! The worker answers each `P` with exactly one `T`, `J` or `E`, in order,
//! and stops when its input ends between frames. The input table goes
//! through the same signature enforcement as the HTTP server's parquet
//! and Arrow bodies (reordering, missing and extra columns, lossless casts
//! only), and errors carry the `error_code` the server would answer, so
//! MLflow's server returns the same status as tandem's.
//!
//! A frame the worker cannot read (another magic or version, an unknown
//! kind, a wrong section count, a stream ending mid-frame) is answered
//! with an `E` frame (`INTERNAL_ERROR`) if the loader still listens, and
//! ends the worker with an [`Error::WorkerProtocol`]: after a bad frame
//! the stream cannot be trusted to start a new one, and waiting on it
//! could hang both sides.
//!
//! ```no_run
//! use tandem_pipeline_core::FunctionRegistry;
//! use tandem_pipeline_model::{LoadOptions, PipelineModel, worker::run_worker};
//!
//! let model = PipelineModel::load("model", &FunctionRegistry::with_builtins(), &LoadOptions::default())?;
//! run_worker(&model, std::io::stdin().lock(), std::io::stdout().lock())?;
//! # Ok::<(), tandem_pipeline_model::Error>(())
//! ```

mod frame;

use std::io::{BufReader, BufWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use tandem_pipeline_core::Data;

use crate::envelope::ScoringError;
use crate::envelope::{self, InputFormat};
use crate::error::Error;
use crate::pipeline_model::PipelineModel;

pub use frame::{Frame, FrameKind, MAGIC, MAX_SECTION_LEN, PROTOCOL_VERSION};

/// Serves `model` over a frame stream: writes the ready frame, then
/// answers predict frames from `input` on `output` until `input` ends.
///
/// Returns `Ok` when `input` ends between frames; an error when a frame
/// is malformed (after answering it with an error frame when possible) or
/// `output` cannot be written. A failing prediction is an error frame,
/// never an error of this function.
pub fn run_worker(
    model: &PipelineModel,
    input: impl Read,
    output: impl Write,
) -> Result<(), Error> {
    let mut input = BufReader::new(input);
    let mut output = BufWriter::new(output);
    send(&mut output, &ready(model)?)?;
    loop {
        let request = match Frame::read(&mut input) {
            Ok(Some(frame)) if frame.kind == FrameKind::Predict => frame,
            Ok(Some(frame)) => {
                return refuse(
                    &mut output,
                    Error::WorkerProtocol(format!(
                        "a worker reads predict frames, not {:?} frames",
                        frame.kind
                    )),
                );
            }
            Ok(None) => return Ok(()),
            Err(error) => return refuse(&mut output, error),
        };
        let answered = catch_unwind(AssertUnwindSafe(|| predict(model, &request.sections)));
        let response = match answered {
            Ok(Ok(frame)) => frame,
            Ok(Err(error)) => error_frame(ScoringError::from(error)),
            Err(_) => error_frame(ScoringError::internal(
                "the prediction panicked; the worker's stderr has the panic message",
            )),
        };
        send(&mut output, &response)?;
    }
}

fn send(output: &mut impl Write, frame: &Frame) -> Result<(), Error> {
    frame.write(output)?;
    output.flush().map_err(|source| Error::Io {
        operation: "write to",
        path: "the worker pipe".to_owned(),
        source,
    })
}

/// Answers a frame that breaks the protocol and gives up on the stream.
/// The answer is best effort: a loader that sent garbage may be gone.
fn refuse(output: &mut impl Write, error: Error) -> Result<(), Error> {
    let _ = send(
        output,
        &error_frame(ScoringError::internal(error.to_string())),
    );
    Err(error)
}

fn ready(model: &PipelineModel) -> Result<Frame, Error> {
    let flavor = model.flavor();
    let hello = json!({
        "protocol": PROTOCOL_VERSION,
        "package": flavor.package_name,
        "version": flavor.package_version,
    });
    Ok(Frame::new(FrameKind::Ready, vec![json_bytes(&hello)?]))
}

/// One prediction: the params and the Arrow input, checked as tandem's
/// server checks a typed body, then the output in its frame.
fn predict(model: &PipelineModel, sections: &[Vec<u8>]) -> Result<Frame, Error> {
    let [params, table] = sections else {
        return Err(Error::WorkerProtocol(format!(
            "a predict frame has 2 sections, got {}",
            sections.len()
        )));
    };
    let params: Map<String, Value> = serde_json::from_slice(params)
        .map_err(|e| Error::InvalidParameter(format!("the params are not a JSON object: {e}")))?;
    let input = envelope::parse_input(table, InputFormat::ArrowStream, model.input_spec())?;
    let output = model.predict(input.data, &params, None)?;
    output_frame(&output)
}

/// A table (or a non-empty list of them, concatenated as the server
/// does) as Arrow IPC; anything else as the JSON tandem's server writes.
fn output_frame(output: &Data) -> Result<Frame, Error> {
    let table = match (
        output.downcast_ref::<RecordBatch>(),
        output.downcast_ref::<Vec<RecordBatch>>(),
    ) {
        (Ok(batch), _) => Some(batch.clone()),
        (_, Ok(batches)) if !batches.is_empty() => Some(
            arrow_select::concat::concat_batches(&batches[0].schema(), batches)
                .map_err(|e| unserializable(output, e))?,
        ),
        _ => None,
    };
    if let Some(batch) = table {
        return Ok(Frame::new(
            FrameKind::Table,
            vec![ipc_stream(&batch).map_err(|e| unserializable(output, e))?],
        ));
    }
    let mut body = envelope::predictions(output)?;
    Ok(Frame::new(
        FrameKind::Json,
        vec![json_bytes(&body["predictions"].take())?],
    ))
}

fn ipc_stream(batch: &RecordBatch) -> Result<Vec<u8>, arrow_schema::ArrowError> {
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.into_inner()
}

fn unserializable(output: &Data, reason: impl std::fmt::Display) -> Error {
    Error::Unserializable {
        what: "the predictions".to_owned(),
        type_name: output.type_name().to_owned(),
        reason: reason.to_string(),
    }
}

fn json_bytes(value: &Value) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Unserializable {
        what: "a worker frame".to_owned(),
        type_name: "serde_json::Value".to_owned(),
        reason: e.to_string(),
    })
}

fn error_frame(error: ScoringError) -> Frame {
    // The worker's answer keeps to code and message: the loader raises
    // MLflow's exception from those two.
    let body = json!({"error_code": error.code, "message": error.message});
    Frame::new(FrameKind::Error, vec![body.to_string().into_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_body(frame: &Frame) -> Value {
        assert_eq!(frame.kind, FrameKind::Error);
        serde_json::from_slice(&frame.sections[0]).unwrap()
    }

    #[test]
    fn error_frames_carry_the_servers_code_and_message() {
        let bad_input = error_frame(ScoringError::from(Error::InvalidInput(
            "no column 'a'".into(),
        )));
        assert_eq!(
            error_body(&bad_input),
            json!({"error_code": "BAD_REQUEST", "message": "invalid model input: no column 'a'"})
        );
        let unknown = error_frame(ScoringError::from(Error::UnknownParameter {
            name: "t".into(),
            valid: vec!["threshold".into()],
        }));
        assert_eq!(
            error_body(&unknown)["error_code"],
            "INVALID_PARAMETER_VALUE"
        );
    }

    #[test]
    fn a_broken_stream_is_answered_then_refused() {
        let mut output = Vec::new();
        let error = refuse(&mut output, Error::WorkerProtocol("bad magic".into())).unwrap_err();
        assert_eq!(error.kind(), "worker_protocol");
        let answer = Frame::read(&mut &output[..]).unwrap().unwrap();
        assert_eq!(error_body(&answer)["error_code"], "INTERNAL_ERROR");
        assert!(
            error_body(&answer)["message"]
                .as_str()
                .unwrap()
                .contains("bad magic")
        );
    }

    #[test]
    fn tables_go_back_as_arrow_and_other_values_as_json() {
        let batch = RecordBatch::try_from_iter([(
            "p",
            std::sync::Arc::new(arrow_array::Float64Array::from(vec![0.25, 0.5]))
                as arrow_array::ArrayRef,
        )])
        .unwrap();
        let frame = output_frame(&Data::new(vec![batch.clone(), batch.clone()])).unwrap();
        assert_eq!(frame.kind, FrameKind::Table);
        let reader =
            arrow_ipc::reader::StreamReader::try_new(&frame.sections[0][..], None).unwrap();
        let read: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].num_rows(), 4);

        let frame = output_frame(&Data::new(vec![1.5_f64, f64::NAN])).unwrap();
        assert_eq!(frame.kind, FrameKind::Json);
        assert_eq!(frame.sections, vec![b"[1.5,null]".to_vec()]);
    }
}
