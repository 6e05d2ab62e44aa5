//! The server under load and at its limits: timeouts, many concurrent
//! clients, graceful shutdown with requests in flight.

mod serving_support;
mod support;

use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, json};
use serving_support::*;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_serving::ServeConfig;

fn slow_request(delay: f64) -> serde_json::Value {
    let mut body = split_body(&[[1.0, 2.0]]);
    body["params"] = json!({"delay": delay});
    body
}

#[test]
fn a_request_past_the_timeout_gets_504_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        timeout: Duration::from_millis(300),
        workers: 2,
        ..ServeConfig::default()
    };
    let server = TestServer::start(slow_model(dir.path()), config);
    let addr = server.addr;
    let slow = thread::spawn(move || {
        let started = Instant::now();
        let reply = post_json(addr, &slow_request(3.0));
        (reply, started.elapsed())
    });
    thread::sleep(Duration::from_millis(50));
    // Health checks and fast predictions do not wait for the slow one
    // (3 s); the bound leaves room for a loaded machine.
    let started = Instant::now();
    assert_eq!(get(addr, "/ping").status, 200);
    assert_eq!(post_json(addr, &slow_request(0.0)).status, 200);
    assert!(started.elapsed() < Duration::from_millis(1500));

    let (reply, elapsed) = slow.join().unwrap();
    let message = reply.error(504, "DEADLINE_EXCEEDED");
    assert!(message.contains("0.300"), "{message}");
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(2500),
        "{elapsed:?}"
    );
    assert_eq!(post_json(addr, &slow_request(0.0)).status, 200);
}

#[test]
fn requests_waiting_for_a_busy_worker_time_out_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        timeout: Duration::from_millis(400),
        workers: 1,
        ..ServeConfig::default()
    };
    let server = TestServer::start(slow_model(dir.path()), config);
    let addr = server.addr;
    let busy = thread::spawn(move || post_json(addr, &slow_request(1.0)));
    thread::sleep(Duration::from_millis(100));
    post_json(addr, &slow_request(0.0)).error(504, "DEADLINE_EXCEEDED");
    busy.join().unwrap().error(504, "DEADLINE_EXCEEDED");
}

#[test]
fn concurrent_clients_get_their_own_predictions() {
    const THREADS: usize = 16;
    const CALLS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let model = demo_model(dir.path());
    let config = ServeConfig {
        workers: 4,
        ..ServeConfig::default()
    };
    let server = TestServer::start(Arc::clone(&model), config);
    let rows: Vec<[f64; 2]> = (0..50)
        .map(|i| [f64::from(i % 9) - 4.0, f64::from(i % 13)])
        .collect();
    let bodies: Vec<serde_json::Value> = (0..THREADS)
        .map(|t| {
            let mut body = split_body(&rows[..10 + t * 2]);
            body["params"] = json!({"threshold": t as f64 / 2.0 - 4.0});
            body
        })
        .collect();
    let expected: Vec<Vec<u8>> = bodies
        .iter()
        .map(|b| {
            let bytes = b.to_string().into_bytes();
            model
                .predict_request(&bytes, InputFormat::Json, &Map::new(), None)
                .unwrap()
        })
        .collect();
    assert!(expected.windows(2).all(|w| w[0] != w[1]));
    let addr = server.addr;
    let handles: Vec<_> = bodies
        .into_iter()
        .zip(expected)
        .map(|(body, expected)| {
            thread::spawn(move || {
                for _ in 0..CALLS {
                    let reply = post_json(addr, &body);
                    assert_eq!(reply.status, 200);
                    assert_eq!(reply.body, expected);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn shutdown_lets_in_flight_requests_finish_then_refuses_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(slow_model(dir.path()), ServeConfig::default());
    let addr = server.addr;
    let in_flight = thread::spawn(move || post_json(addr, &slow_request(0.6)));
    thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    server.stop().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "stop returned before the request finished"
    );
    let reply = in_flight.join().unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["predictions"].as_array().unwrap().len(), 1);
    assert!(TcpStream::connect(addr).is_err());
}
