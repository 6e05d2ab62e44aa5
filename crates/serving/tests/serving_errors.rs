//! What error replies may say: never a file path of the server's, even
//! when the model's own error names one.

mod serving_support;
mod support;

use serving_support::*;
use tandem_serving::ServeConfig;

#[test]
fn error_replies_carry_no_server_paths() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("secrets").join("key.pem");
    let model = {
        let outside = outside.clone();
        failing_model(dir.path(), move |model_dir| {
            format!(
                "cannot open {}/artifacts/extra.parquet, nor {}: no such file",
                model_dir.display(),
                outside.display()
            )
        })
    };
    let server = TestServer::start(model, ServeConfig::default());
    let reply = post_json(server.addr, &split_body(&[[1.0, 2.0]]));
    let message = reply.error(400, "BAD_REQUEST");
    let body = String::from_utf8_lossy(&reply.body);
    let root = dir.path().display().to_string();
    assert!(!body.contains(&root), "{body}");
    let canonical = std::fs::canonicalize(dir.path()).unwrap();
    assert!(!body.contains(&*canonical.to_string_lossy()), "{body}");
    assert!(!body.contains("secrets"), "{body}");
    // The model's own file is named relative to the model; the rest hidden.
    assert!(
        message.contains("cannot open artifacts/extra.parquet, nor <path>: no such file"),
        "{message}"
    );
    // Client-facing messages the server writes itself carry none either.
    for reply in [
        get(server.addr, "/nowhere"),
        post(server.addr, "/invocations", Some("text/plain"), b"x"),
    ] {
        let body = String::from_utf8_lossy(&reply.body);
        assert!(!body.contains(&root), "{body}");
    }
}
