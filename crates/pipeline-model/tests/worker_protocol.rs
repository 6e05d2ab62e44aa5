//! `run_worker` with a real saved model: the ready frame, predictions as
//! Arrow, the same signature enforcement and error codes as the HTTP
//! server, and a clean end on EOF or on a broken stream.

mod support;

use std::sync::Arc;

use arrow_array::RecordBatch;
use serde_json::{Map, Value, json};
use support::demo_model;
use tandem_pipeline_core::Data;
use tandem_pipeline_model::worker::{Frame, FrameKind, run_worker};

fn ipc(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    out
}

fn predict_frame(params: &Value, batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    Frame::new(
        FrameKind::Predict,
        vec![params.to_string().into_bytes(), ipc(batch)],
    )
    .write(&mut out)
    .unwrap();
    out
}

/// Every frame the worker wrote.
fn frames(mut output: &[u8]) -> Vec<Frame> {
    std::iter::from_fn(|| Frame::read(&mut output).unwrap()).collect()
}

fn json_of(frame: &Frame) -> Value {
    serde_json::from_slice(&frame.sections[0]).unwrap()
}

fn table_of(frame: &Frame) -> RecordBatch {
    assert_eq!(frame.kind, FrameKind::Table, "{:?}", json_of(frame));
    let reader = arrow_ipc::reader::StreamReader::try_new(&frame.sections[0][..], None).unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn a_worker_answers_each_request_in_order_then_stops_at_eof() {
    let dir = tempfile::tempdir().unwrap();
    let model = demo_model(dir.path());
    let features = support::table(6, false);
    let reordered = RecordBatch::try_from_iter([
        ("extra", Arc::clone(features.column(0))),
        ("x2", Arc::clone(features.column_by_name("x2").unwrap())),
        ("x1", Arc::clone(features.column_by_name("x1").unwrap())),
    ])
    .unwrap();
    let only_x1 = features.project(&[0]).unwrap();

    let mut input = predict_frame(&json!({}), &reordered);
    input.extend(predict_frame(&json!({"threshold": 100.0}), &features));
    input.extend(predict_frame(&json!({}), &only_x1));
    input.extend(predict_frame(&json!({"nope": 1}), &features));
    let mut output = Vec::new();
    run_worker(&model, &input[..], &mut output).unwrap();

    let answers = frames(&output);
    assert_eq!(answers.len(), 5);
    assert_eq!(answers[0].kind, FrameKind::Ready);
    assert_eq!(json_of(&answers[0])["protocol"], 1);
    assert_eq!(json_of(&answers[0])["package"], "tandem-test-support");

    let expected = model
        .predict(Data::new(features.clone()), &Map::new(), None)
        .unwrap();
    assert_eq!(table_of(&answers[1]), *support::batch(&expected));
    let strict = table_of(&answers[2]);
    let labels = strict.column_by_name("label").unwrap();
    assert_eq!(
        labels
            .as_any()
            .downcast_ref::<arrow_array::BooleanArray>()
            .unwrap()
            .true_count(),
        0
    );

    // The HTTP server's code and message for the same failures.
    assert_eq!(answers[3].kind, FrameKind::Error);
    let missing = json_of(&answers[3]);
    assert_eq!(missing["error_code"], "INVALID_PARAMETER_VALUE");
    let message = missing["message"].as_str().unwrap();
    assert!(
        message.contains("missing required input column(s) 'x2'"),
        "{message}"
    );
    assert_eq!(
        json_of(&answers[4])["error_code"],
        "INVALID_PARAMETER_VALUE"
    );
}

#[test]
fn a_broken_stream_gets_an_error_frame_and_ends_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let model = demo_model(dir.path());
    let mut input = predict_frame(&json!({}), &support::table(2, false));
    input.extend(b"{\"dataframe_split\": {}}");
    let mut output = Vec::new();
    let error = run_worker(&model, &input[..], &mut output).unwrap_err();
    assert_eq!(error.kind(), "worker_protocol");
    let answers = frames(&output);
    let kinds: Vec<FrameKind> = answers.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [FrameKind::Ready, FrameKind::Table, FrameKind::Error]
    );
    assert_eq!(json_of(&answers[2])["error_code"], "INTERNAL_ERROR");

    // A params section that is not an object is the request's fault only.
    let mut input = Vec::new();
    Frame::new(FrameKind::Predict, vec![b"[1]".to_vec(), b"junk".to_vec()])
        .write(&mut input)
        .unwrap();
    let mut output = Vec::new();
    run_worker(&model, &input[..], &mut output).unwrap();
    let answer = json_of(&frames(&output)[1]);
    assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE", "{answer}");
}
