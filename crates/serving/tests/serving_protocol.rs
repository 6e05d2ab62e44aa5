//! The scoring server speaks MLflow's protocol: health endpoints, every
//! input format, params, and each error class with its status and code.

mod serving_support;
mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use serving_support::*;
use tandem_pipeline_model::PipelineModel;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_serving::{MLFLOW_VERSION, ServeConfig};

fn serve() -> (tempfile::TempDir, Arc<PipelineModel>, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let model = demo_model(dir.path());
    let server = TestServer::start(Arc::clone(&model), ServeConfig::default());
    (dir, model, server)
}

/// What `predict_request` writes for the same body: the server must not
/// change a byte of it.
fn expected(model: &PipelineModel, body: &[u8], format: InputFormat) -> Vec<u8> {
    model
        .predict_request(body, format, &serde_json::Map::new(), None)
        .unwrap()
}

/// The body of the 200 reply to `body` sent to `/invocations` as `content_type`.
fn predicted(server: &TestServer, content_type: &str, body: &[u8]) -> Vec<u8> {
    let reply = post(server.addr, "/invocations", Some(content_type), body);
    assert_eq!(
        reply.status,
        200,
        "{content_type}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.body
}

const ROWS: [[f64; 2]; 3] = [[-3.0, 0.25], [1.5, 7.25], [4.0, 10.25]];

#[test]
fn health_endpoints_answer() {
    let (_dir, _model, server) = serve();
    for path in ["/ping", "/health"] {
        let reply = get(server.addr, path);
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"\n"[..]));
    }
    let version = get(server.addr, "/version");
    assert_eq!(version.status, 200);
    assert_eq!(version.body, MLFLOW_VERSION.as_bytes());
}

#[test]
fn every_input_format_predicts_like_predict_request() {
    let (_dir, model, server) = serve();
    let split = split_body(&ROWS);
    let records: Vec<Value> = ROWS
        .iter()
        .map(|[x1, x2]| json!({"x2": x2, "x1": x1, "extra": "ignored"}))
        .collect();
    let columnar = json!({"x1": ROWS.map(|r| r[0]), "x2": ROWS.map(|r| r[1])});
    let reference = expected(&model, split.to_string().as_bytes(), InputFormat::Json);
    let predictions: Value = serde_json::from_slice(&reference).unwrap();
    assert_eq!(predictions["predictions"].as_array().unwrap().len(), 3);
    for body in [
        split,
        json!({"dataframe_records": records}),
        json!({"instances": records}),
        json!({"inputs": columnar}),
    ] {
        let reply = post_json(server.addr, &body);
        assert_eq!(reply.status, 200, "{body}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.body, reference, "{body}");
    }

    let csv = "x1,x2\n-3.0,0.25\n1.5,7.25\n4,10.25\n";
    for content_type in ["text/csv", "text/csv; charset=utf-8"] {
        assert_eq!(predicted(&server, content_type, csv.as_bytes()), reference);
    }

    let table = support::table(7, false);
    let parquet = tandem_test_support::parquet::write(&table, Default::default());
    assert_eq!(
        predicted(&server, "application/vnd.apache.parquet", &parquet),
        expected(&model, &parquet, InputFormat::Parquet)
    );

    // Arrow IPC (tandem's server only; MLflow's Python loader sends
    // DataFrames this way), its columns out of the signature's order.
    let reordered = arrow_array::RecordBatch::try_from_iter([
        ("x2", Arc::clone(table.column_by_name("x2").unwrap())),
        ("x1", Arc::clone(table.column_by_name("x1").unwrap())),
    ])
    .unwrap();
    let mut stream = Vec::new();
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(&mut stream, &reordered.schema()).unwrap();
    writer.write(&reordered).unwrap();
    writer.finish().unwrap();
    assert_eq!(
        predicted(&server, "application/vnd.apache.arrow.stream", &stream),
        expected(&model, &parquet, InputFormat::Parquet)
    );
    let garbage = post(
        server.addr,
        "/invocations",
        Some("application/vnd.apache.arrow.stream"),
        b"not arrow",
    );
    garbage.error(400, "BAD_REQUEST");
}

#[test]
fn params_apply_to_their_request_only() {
    let (_dir, _model, server) = serve();
    let labels = |body: &Value| -> Vec<Value> {
        let reply = post_json(server.addr, body);
        assert_eq!(reply.status, 200);
        let predictions = reply.json()["predictions"].as_array().unwrap().clone();
        predictions.iter().map(|p| p["label"].clone()).collect()
    };
    let mut body = split_body(&ROWS);
    let default = labels(&body);
    body["params"] = json!({"threshold": -1000.0});
    assert_eq!(labels(&body), vec![json!(true); 3]);
    body["params"] = json!({"threshold": 1000});
    assert_eq!(labels(&body), vec![json!(false); 3]);
    assert_eq!(labels(&split_body(&ROWS)), default);
}

#[test]
fn bad_requests_get_mlflow_errors_and_the_server_carries_on() {
    let (_dir, _model, server) = serve();
    let addr = server.addr;
    let invocations =
        |content_type: Option<&str>, body: &[u8]| post(addr, "/invocations", content_type, body);
    let json_type = Some("application/json");

    let message = invocations(json_type, b"{not json").error(400, "BAD_REQUEST");
    assert!(message.contains("JSON"), "{message}");
    invocations(json_type, b"[1, 2]").error(400, "BAD_REQUEST");
    invocations(json_type, b"{}").error(400, "BAD_REQUEST");
    let both = json!({"instances": [], "inputs": {}});
    post_json(addr, &both).error(400, "BAD_REQUEST");
    // MLflow's schema-enforcement answer, class included.
    let missing = post_json(addr, &json!({"dataframe_records": [{"x1": 1.0}]}));
    let message = missing.error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("x2"), "{message}");
    let answer: serde_json::Value = serde_json::from_slice(&missing.body).unwrap();
    assert_eq!(answer["error_class"], "SCHEMA_ENFORCEMENT_FAILED");
    let uncastable = json!({"dataframe_split": {"columns": ["x1", "x2"], "data": [["a", 1.0]]}});
    let message = post_json(addr, &uncastable).error(400, "BAD_REQUEST");
    assert!(message.contains("x1"), "{message}");
    let booleans = json!({"dataframe_split": {"columns": ["x1", "x2"], "data": [[true, 1.0]]}});
    post_json(addr, &booleans).error(400, "BAD_REQUEST");
    invocations(Some("text/csv"), b"x1,x2\n1.0,abc\n").error(400, "BAD_REQUEST");
    invocations(Some("application/vnd.apache.parquet"), b"PAR1 garbage").error(400, "BAD_REQUEST");
    invocations(json_type, &[0xff, 0xfe, 0x00]).error(400, "BAD_REQUEST");

    let mut body = split_body(&ROWS);
    body["params"] = json!({"nope": 1});
    let message = post_json(addr, &body).error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("threshold"), "{message}");
    body["params"] = json!({"threshold": "high"});
    post_json(addr, &body).error(400, "INVALID_PARAMETER_VALUE");

    for content_type in [
        None,
        Some("text/plain"),
        Some("application/json; format=pandas-split"),
        Some("application/x-www-form-urlencoded"),
    ] {
        invocations(content_type, b"{}").error(415, "BAD_REQUEST");
    }

    get(addr, "/nope").error(404, "ENDPOINT_NOT_FOUND");
    get(addr, "/invocations").error(405, "BAD_REQUEST");
    post(addr, "/ping", json_type, b"{}").error(405, "BAD_REQUEST");

    let garbage = send(addr, b"NOT HTTP AT ALL\r\n\r\n");
    assert_eq!(garbage.status, 400);

    assert_eq!(get(addr, "/ping").status, 200);
    assert_eq!(post_json(addr, &split_body(&ROWS)).status, 200);
}

#[test]
fn the_body_limit_holds_with_or_without_a_length() {
    let dir = tempfile::tempdir().unwrap();
    let model = demo_model(dir.path());
    let limit = 1024;
    let config = ServeConfig {
        max_body: limit,
        ..ServeConfig::default()
    };
    let server = TestServer::start(model, config);
    let small = split_body(&ROWS).to_string();
    let mut padded = small.clone().into_bytes();
    padded.resize(limit, b' ');
    let exact = post(
        server.addr,
        "/invocations",
        Some("application/json"),
        &padded,
    );
    assert_eq!(exact.status, 200);

    padded.push(b' ');
    let message = post(
        server.addr,
        "/invocations",
        Some("application/json"),
        &padded,
    )
    .error(413, "RESOURCE_EXHAUSTED");
    assert!(message.contains("1024"), "{message}");
    post_chunked(server.addr, "application/json", &padded, 100).error(413, "RESOURCE_EXHAUSTED");
    let chunked = post_chunked(server.addr, "application/json", small.as_bytes(), 10);
    assert_eq!(chunked.status, 200);

    // A declared length far over the limit is refused before any byte is read.
    let huge = format!(
        "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{",
        u64::MAX / 2
    );
    send(server.addr, huge.as_bytes()).error(413, "RESOURCE_EXHAUSTED");
    assert_eq!(get(server.addr, "/health").status, 200);
}
