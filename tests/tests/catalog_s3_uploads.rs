//! Unfinished multipart uploads on S3 (moto): an overwrite aborts the
//! abandoned uploads of its key, and never one a live writer still sends
//! parts to, or one this process is writing.
//!
//! The uploads are made and listed with raw S3 requests (moto does not
//! check signatures), independently of the client under test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tandem_catalog::{Credentials, Dataset, DatasetConfig, DatasetRegistry};
use tandem_pipeline_core::Data;
use tandem_test_support::gate::Gate;
use tandem_test_support::http;
use tandem_tests::moto::{SECRET, credentials, moto};

const SHORT: Duration = Duration::from_secs(30);

/// A `BytesDataset` at `s3://<bucket>/<key>` with `credentials`.
fn bytes_dataset(bucket: &str, key: &str, credentials: Credentials) -> Arc<dyn Dataset> {
    let mut options = serde_json::Map::new();
    options.insert("filepath".to_owned(), format!("s3://{bucket}/{key}").into());
    let mut config = DatasetConfig::new("entry", "BytesDataset", options);
    config.credentials = Some(credentials);
    DatasetRegistry::with_builtins()
        .build(&config)
        .expect("the entry is valid")
}

/// The test credentials ([`credentials`]) with extra settings
/// (`stale_upload_age`, another `endpoint_url`).
fn credentials_with(extra: serde_json::Value) -> Credentials {
    let mut values = std::collections::BTreeMap::from([
        ("key".to_owned(), "tandem-key-id".into()),
        ("secret".to_owned(), SECRET.into()),
        ("region_name".to_owned(), "us-east-1".into()),
    ]);
    let mut endpoint = serde_json::Value::from(moto().endpoint.clone());
    if let serde_json::Value::Object(extra) = extra {
        for (name, value) in extra {
            if name == "endpoint_url" {
                endpoint = value;
            } else {
                values.insert(name, value);
            }
        }
    }
    values.insert(
        "client_kwargs".to_owned(),
        serde_json::json!({ "endpoint_url": endpoint }),
    );
    Credentials::new(values)
}

/// The text of every `<tag>` element in `xml`.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}

/// Starts an upload of `key` (a raw `CreateMultipartUpload`); its id.
fn start_upload(bucket: &str, key: &str) -> String {
    let port = moto().port;
    let created = http::request(
        port,
        "POST",
        &format!("/{bucket}/{key}?uploads"),
        None,
        &[],
        SHORT,
    )
    .unwrap();
    assert_eq!(created.status, 200, "{}", created.text());
    elements(&created.text(), "UploadId").remove(0)
}

/// Sends part 1 of an upload, as a live writer does.
fn send_part(bucket: &str, key: &str, id: &str) {
    let path = format!("/{bucket}/{key}?partNumber=1&uploadId={id}");
    let sent = http::request(moto().port, "PUT", &path, None, b"part one", SHORT).unwrap();
    assert_eq!(sent.status, 200, "{}", sent.text());
}

/// (key, upload id) of every unfinished upload in `bucket`.
fn unfinished(bucket: &str) -> Vec<(String, String)> {
    let listed = http::get(moto().port, &format!("/{bucket}?uploads"), SHORT).unwrap();
    assert_eq!(listed.status, 200, "{}", listed.text());
    elements(&listed.text(), "Upload")
        .iter()
        .map(|u| {
            (
                elements(u, "Key").remove(0),
                elements(u, "UploadId").remove(0),
            )
        })
        .collect()
}

#[test]
fn an_overwrite_aborts_abandoned_uploads_of_its_key_only() {
    let bucket = moto().new_bucket();
    // A crashed save's upload: parts sent, never completed.
    let abandoned = start_upload(&bucket, "data/big.bin");
    send_part(&bucket, "data/big.bin", &abandoned);
    let other_key = start_upload(&bucket, "data/big.bin.old");
    let ds = bytes_dataset(
        &bucket,
        "data/big.bin",
        credentials_with(serde_json::json!({"stale_upload_age": 0})),
    );
    ds.save(Data::new(b"small".to_vec())).unwrap();
    assert_eq!(
        unfinished(&bucket),
        [("data/big.bin.old".to_owned(), other_key)],
        "the upload of the key saved is aborted, the one of a longer key kept"
    );
    assert_eq!(
        ds.load().unwrap().into_value::<Vec<u8>>().unwrap(),
        b"small"
    );
}

#[test]
fn an_upload_with_recent_parts_is_left_to_its_writer() {
    let bucket = moto().new_bucket();
    let live = start_upload(&bucket, "data/big.bin");
    send_part(&bucket, "data/big.bin", &live);
    // The default age: a part sent a moment ago is a live writer's.
    let ds = bytes_dataset(&bucket, "data/big.bin", credentials());
    ds.save(Data::new(b"small".to_vec())).unwrap();
    assert_eq!(unfinished(&bucket), [("data/big.bin".to_owned(), live)]);
}

#[test]
fn the_age_setting_must_be_whole_seconds() {
    let bucket = moto().new_bucket();
    let mut options = serde_json::Map::new();
    options.insert("filepath".to_owned(), format!("s3://{bucket}/x.bin").into());
    let mut config = DatasetConfig::new("entry", "BytesDataset", options);
    config.credentials = Some(credentials_with(
        serde_json::json!({"stale_upload_age": "an hour"}),
    ));
    let err = DatasetRegistry::with_builtins().build(&config).unwrap_err();
    assert_eq!(err.kind(), "invalid_config", "{err}");
    assert!(err.to_string().contains("stale_upload_age"), "{err}");
}

/// A loopback TCP proxy to moto that holds every connection whose request
/// uploads a part at `gate` until the test opens it.
fn part_holding_proxy(gate: Arc<Gate>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let gate = Arc::clone(&gate);
            std::thread::spawn(move || relay(client, &gate));
        }
    });
    port
}

fn relay(mut client: TcpStream, gate: &Gate) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", moto().port)) else {
        return;
    };
    let (Ok(mut from_server), Ok(mut to_client)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(std::net::Shutdown::Both);
    });
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let first_line = buf[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = String::from_utf8_lossy(first_line);
        if line.starts_with("PUT ") && line.contains("partNumber=") {
            gate.wait();
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Both);
}

/// A save of this process holds its upload open (its parts held by a
/// proxy) while another save of the same key, told to abort every upload
/// it finds, runs: the live upload survives and completes.
#[test]
fn a_save_never_aborts_an_upload_this_process_is_writing() {
    let bucket = moto().new_bucket();
    let gate = Arc::new(Gate::new());
    let _open = gate.open_on_drop();
    let proxy = part_holding_proxy(Arc::clone(&gate));
    let eager = serde_json::json!({"stale_upload_age": 0});
    let mut through_proxy = eager.clone();
    through_proxy["endpoint_url"] = format!("http://127.0.0.1:{proxy}").into();
    let slow = bytes_dataset(&bucket, "data/big.bin", credentials_with(through_proxy));
    // Over the catalog's multipart threshold (32 MB).
    let big: Vec<u8> = (0..40 * 1024 * 1024_u32).map(|i| (i % 251) as u8).collect();
    let writer = std::thread::spawn({
        let big = big.clone();
        move || slow.save(Data::new(big))
    });
    gate.wait_for_arrivals(1);
    let listed = unfinished(&bucket);
    assert_eq!(listed.len(), 1, "{listed:?}");

    let other = bytes_dataset(&bucket, "data/big.bin", credentials_with(eager));
    other.save(Data::new(b"small".to_vec())).unwrap();
    assert_eq!(unfinished(&bucket), listed, "the live upload was aborted");

    gate.open();
    writer.join().unwrap().unwrap();
    assert!(unfinished(&bucket).is_empty());
    assert!(other.load().unwrap().into_value::<Vec<u8>>().unwrap() == big);
}
