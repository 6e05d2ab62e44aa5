//! Artifacts through the server's proxy: odd names, directories, parallel
//! download, path escapes, and multipart's fallback to a single PUT.

use tandem_mlflow_client::{Config, MlflowClient, Multipart, NewRun};
use tandem_test_support::mlflow::server;

use crate::support::{client, quick_retry, tree, unique};
use tandem_test_support::proxy::{FaultMix, Proxy};

fn sample_tree(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("outputs");
    for (rel, body) in [
        ("report.txt", "ok".to_owned()),
        ("dir with space/a+b%.txt", "special".to_owned()),
        ("ünïcode/quest?.json", "{}".to_owned()),
        ("deep/a/b/c/d.bin", "x".repeat(100_000)),
        ("empty.txt", String::new()),
    ] {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    for i in 0..20 {
        std::fs::write(dir.join(format!("deep/many-{i}.txt")), i.to_string()).unwrap();
    }
    dir
}

#[test]
fn upload_list_download_round_trip() {
    let client = client();
    let exp = client
        .get_or_create_experiment(&unique("artifacts"))
        .unwrap();
    let run_id = client
        .create_run(&NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id;
    let tmp = tempfile::tempdir().unwrap();
    let src = sample_tree(tmp.path());

    assert_eq!(
        client.log_artifacts(&run_id, &src, Some("out")).unwrap(),
        25
    );
    let single = tmp.path().join("single.txt");
    std::fs::write(&single, "one").unwrap();
    assert_eq!(
        client.log_artifact(&run_id, &single, None).unwrap(),
        "single.txt"
    );

    let root: Vec<(String, bool)> = client
        .list_artifacts(&run_id, None)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir))
        .collect();
    assert_eq!(
        root,
        [("out".to_owned(), true), ("single.txt".to_owned(), false)]
    );
    let sub = client
        .list_artifacts(&run_id, Some("out/dir with space"))
        .unwrap();
    assert_eq!(sub[0].path, "out/dir with space/a+b%.txt");
    assert_eq!(sub[0].file_size, Some(7));

    let dst = tmp.path().join("dl");
    let got = client.download_artifacts(&run_id, "out", &dst).unwrap();
    assert_eq!(got, dst.join("out"));
    assert_eq!(tree(&got), tree(&src));
    let file = client
        .download_artifacts(&run_id, "out/ünïcode/quest?.json", &tmp.path().join("one"))
        .unwrap();
    assert_eq!(std::fs::read_to_string(file).unwrap(), "{}");
    let whole = client
        .download_uri(&format!("runs:/{run_id}/"), &tmp.path().join("all"))
        .unwrap();
    assert_eq!(tree(&whole).len(), 26);

    let missing = client
        .download_artifacts(&run_id, "nope.txt", &tmp.path().join("x"))
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
}

#[test]
fn escaping_paths_are_refused_both_ways() {
    let client = client();
    let run_id = crate::support::new_run(&client, "escape");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f.txt");
    std::fs::write(&file, "x").unwrap();
    for bad in ["../other-run", "/abs", "a/../../b"] {
        let err = client.log_artifact(&run_id, &file, Some(bad)).unwrap_err();
        assert_eq!(err.kind(), "unsafe_path", "{bad}: {err}");
        let err = client
            .download_artifacts(&run_id, bad, tmp.path())
            .unwrap_err();
        assert_eq!(err.kind(), "unsafe_path", "{bad}: {err}");
    }
    assert!(client.list_artifacts(&run_id, None).unwrap().is_empty());
}

#[test]
fn multipart_falls_back_to_one_put_on_local_storage() {
    // The test server stores artifacts locally, so it answers 501 to
    // mpu/create; the client must still deliver the file intact.
    let config = Config::default()
        .with_tracking_uri(&server().uri)
        .with_retry(quick_retry(5))
        .with_multipart(Multipart::Always, 1024, 4096);
    let client = MlflowClient::new(config).unwrap();
    let exp = client
        .get_or_create_experiment(&unique("multipart"))
        .unwrap();
    let run_id = client
        .create_run(&NewRun::new(&exp.experiment_id))
        .unwrap()
        .info
        .run_id;
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.bin");
    let body: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&big, &body).unwrap();
    client.log_artifact(&run_id, &big, Some("blobs")).unwrap();
    let got = client
        .download_artifacts(&run_id, "blobs/big.bin", &tmp.path().join("dl"))
        .unwrap();
    assert_eq!(std::fs::read(got).unwrap(), body);
}

/// A client through a proxy answering the multipart routes itself, with
/// `credentials` part URLs on `part_host`.
fn multipart_client(parts: &[u64], part_host: u16) -> (Proxy, MlflowClient) {
    let credentials: Vec<serde_json::Value> = parts
        .iter()
        .map(|n| {
            serde_json::json!({"url": format!("http://127.0.0.1:{part_host}/part/{n}"),
                "part_number": n, "headers": {}})
        })
        .collect();
    let created = serde_json::json!({"upload_id": "u-1", "credentials": credentials});
    let proxy = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![
            (
                "/api/2.0/mlflow-artifacts/mpu/create/".into(),
                200,
                "application/json",
                created.to_string(),
            ),
            (
                "/api/2.0/mlflow-artifacts/mpu/".into(),
                200,
                "application/json",
                "{}".into(),
            ),
        ],
    );
    let config = Config::default()
        .with_tracking_uri(proxy.uri())
        .with_retry(quick_retry(3))
        .with_multipart(Multipart::Always, 1024, 4096);
    (proxy, MlflowClient::new(config).unwrap())
}

#[test]
fn multipart_checks_part_credentials_and_etags_before_completing() {
    // The part storage answers 200 without an ETag.
    let storage = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![("/".into(), 200, "text/plain", String::new())],
    );
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 16_384]).unwrap(); // 4 parts of 4096

    for (parts, expected) in [
        (&[1u64, 2, 3][..], "3 part credentials"),
        (&[1, 2, 3, 3][..], "part numbers [1, 2, 3, 3]"),
        (&[1, 2, 3, 4][..], "without an ETag"),
    ] {
        let (proxy, client) = multipart_client(parts, storage.port);
        let exp = client.get_or_create_experiment(&unique("mpu")).unwrap();
        let run_id = client
            .create_run(&NewRun::new(&exp.experiment_id))
            .unwrap()
            .info
            .run_id;
        let err = client
            .log_artifact(&run_id, &big, Some("blobs"))
            .unwrap_err();
        assert_eq!(err.kind(), "protocol", "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("{run_id}/artifacts/blobs/big.bin")),
            "{text}"
        );
        assert!(text.contains(expected), "{text}");
        assert!(!text.contains("abort"), "names the abort: {text}");
        assert_eq!(proxy.count("POST /api/2.0/mlflow-artifacts/mpu/abort/"), 1);
        assert_eq!(
            proxy.count("POST /api/2.0/mlflow-artifacts/mpu/complete/"),
            0
        );
    }
    // Only the run with matching credentials sent its parts.
    assert_eq!(storage.count("PUT /part/"), 4);
}

#[test]
fn a_cyclic_listing_is_an_error_not_a_loop() {
    // Every directory lists a directory `a`: a/a/a/... without end.
    let proxy = Proxy::start(
        server().port,
        FaultMix::NONE,
        vec![(
            "/api/2.0/mlflow-artifacts/artifacts?".into(),
            200,
            "application/json",
            r#"{"files": [{"path": "a", "is_dir": true}]}"#.into(),
        )],
    );
    let client = crate::support::client_for(&proxy.uri(), tandem_mlflow_client::Credentials::None);
    let run_id = crate::support::new_run(&client, "cycle");
    let tmp = tempfile::tempdir().unwrap();
    let err = client
        .download_artifacts(&run_id, "", &tmp.path().join("dl"))
        .unwrap_err();
    assert_eq!(err.kind(), "protocol", "{err}");
    assert!(err.to_string().contains("cyclic"), "{err}");
}
