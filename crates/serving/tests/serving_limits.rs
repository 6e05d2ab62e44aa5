//! The server under load and at its limits: timeouts, many concurrent
//! clients, graceful shutdown with requests in flight.
//!
//! Event-based, never timed: slow predictions block at a [`Gate`] the test
//! opens, and the tests check what happened while they were held.

mod serving_support;
mod support;

use std::net::TcpStream;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, json};
use serving_support::*;
use tandem_pipeline_model::envelope::InputFormat;
use tandem_serving::ServeConfig;
use tandem_test_support::gate::{Gate, HANG_GUARD};

/// How long the timeout tests let a request run: long enough that a fast
/// prediction on a loaded machine stays well inside it, since those tests
/// wait for it to expire.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A request whose prediction blocks at the model's gate (`hold`), or not.
fn request(hold: bool) -> serde_json::Value {
    let mut body = split_body(&[[1.0, 2.0]]);
    body["params"] = json!({"hold": hold});
    body
}

#[test]
fn a_request_past_the_timeout_gets_504_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::new());
    let config = ServeConfig {
        timeout: TIMEOUT,
        workers: 2,
        ..ServeConfig::default()
    };
    let server = TestServer::start(gated_model(dir.path(), Arc::clone(&gate)), config);
    let _release = gate.open_on_drop();
    let addr = server.addr;
    let held = thread::spawn(move || {
        let started = Instant::now();
        let reply = post_json(addr, &request(true));
        (reply, started.elapsed())
    });
    gate.wait_for_arrivals(1);
    // Health checks and other predictions are answered while the held one
    // is blocked in its node.
    assert_eq!(get(addr, "/ping").status, 200);
    assert_eq!(post_json(addr, &request(false)).status, 200);
    assert_eq!(gate.passed(), 0);

    // The 504 arrives with the gate still closed: the timeout answered the
    // client, not the prediction ending.
    let (reply, elapsed) = held.join().unwrap();
    let message = reply.error(504, "DEADLINE_EXCEEDED");
    assert!(message.contains("2.000"), "{message}");
    assert_eq!(gate.passed(), 0, "the prediction ended before its 504");
    // A lower bound only (load can only lengthen it): not answered early.
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    // The abandoned prediction still holds one worker; the other serves.
    assert_eq!(post_json(addr, &request(false)).status, 200);
    gate.open();
}

#[test]
fn requests_waiting_for_a_busy_worker_time_out_too() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::new());
    let config = ServeConfig {
        timeout: TIMEOUT,
        workers: 1,
        ..ServeConfig::default()
    };
    let server = TestServer::start(gated_model(dir.path(), Arc::clone(&gate)), config);
    let _release = gate.open_on_drop();
    let addr = server.addr;
    let busy = thread::spawn(move || post_json(addr, &request(true)));
    gate.wait_for_arrivals(1);
    // The only worker is held, so this one times out waiting for it.
    post_json(addr, &request(false)).error(504, "DEADLINE_EXCEEDED");
    busy.join().unwrap().error(504, "DEADLINE_EXCEEDED");
    assert_eq!(gate.passed(), 0, "the held prediction ended early");
    assert_eq!(gate.arrived(), 1, "the waiting request reached the model");
    // Once the held prediction really ends, its worker serves again.
    gate.open();
    assert_eq!(post_json(addr, &request(false)).status, 200);
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
    let gate = Arc::new(Gate::new());
    let server = TestServer::start(
        gated_model(dir.path(), Arc::clone(&gate)),
        ServeConfig::default(),
    );
    let _release = gate.open_on_drop();
    let addr = server.addr;
    let in_flight = thread::spawn(move || post_json(addr, &request(true)));
    gate.wait_for_arrivals(1);

    let (stopped, stop_returned) = mpsc::channel();
    let stopper = {
        let gate = Arc::clone(&gate);
        thread::spawn(move || {
            let result = server.stop();
            // Whether the held prediction had ended when `stop` returned.
            let _ = stopped.send(gate.passed());
            result
        })
    };
    // Shutdown has begun once the listener is gone.
    let guard = Instant::now() + HANG_GUARD;
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < guard, "the server never stopped listening");
        thread::sleep(Duration::from_millis(5));
    }
    assert!(
        stop_returned.try_recv().is_err(),
        "stop returned with a request in flight"
    );
    gate.open();
    let passed = stop_returned
        .recv_timeout(HANG_GUARD)
        .expect("stop never returned");
    assert_eq!(passed, 1, "stop returned before the request finished");
    stopper.join().unwrap().unwrap();

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
