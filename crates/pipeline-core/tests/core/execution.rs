//! Running typed node functions: borrowing, moving, parameters, errors.

use std::sync::Arc;

use serde::Deserialize;
use tandem_pipeline_core::{Data, DatasetNames, NodeBuilder, NodeFunction, data_value, node};

use crate::support::assert_error;

fn add(a: &i64, b: &i64) -> i64 {
    a + b
}

#[expect(
    clippy::ptr_arg,
    reason = "node arguments borrow the stored type, a Vec"
)]
fn address_of(v: &Vec<u8>) -> usize {
    v.as_ptr() as usize
}

fn take_address(v: Vec<u8>) -> usize {
    v.as_ptr() as usize
}

fn divide(a: &f64, b: &f64) -> Result<f64, String> {
    if *b == 0.0 {
        Err("division by zero".to_owned())
    } else {
        Ok(a / b)
    }
}

#[expect(
    clippy::ptr_arg,
    reason = "node arguments borrow the stored type, a Vec"
)]
fn min_max(xs: &Vec<i64>) -> (i64, i64, usize) {
    let min = xs.iter().copied().min().unwrap_or_default();
    let max = xs.iter().copied().max().unwrap_or_default();
    (min, max, xs.len())
}

fn seed() -> Vec<i64> {
    vec![3, 1, 2]
}

#[expect(
    clippy::too_many_arguments,
    reason = "exercises the eight-argument conversion"
)]
fn eight(a: &i64, b: &i64, c: i64, d: &i64, e: &i64, f: i64, g: &i64, h: &String) -> String {
    format!("{}{h}", a + b + c + d + e + f + g)
}

fn scale(x: &f64, factor: f64) -> f64 {
    x * factor
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
struct TrainParams {
    alpha: f64,
    layers: Vec<u32>,
}
data_value!(params: TrainParams);

fn train(x: &f64, params: &TrainParams) -> f64 {
    x * params.alpha + params.layers.len() as f64
}

fn label(x: &i64) -> String {
    format!("#{x}")
}

fn untyped(x: &Data, y: Data) -> Data {
    let n = x.downcast_ref::<i64>().unwrap() + y.downcast_ref::<i64>().unwrap();
    Data::new(n)
}

fn sink(_: &i64) {}

fn value<T: Clone + 'static>(d: &Data) -> T {
    d.downcast_ref::<T>().unwrap().clone()
}

#[test]
fn borrowed_arguments_produce_a_value() {
    let n = node(add, ["a", "b"], "c").name("adder").build().unwrap();
    let out = n.run(vec![Data::new(2_i64), Data::new(40_i64)]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(value::<i64>(&out[0]), 42);
}

#[test]
fn borrowed_argument_is_not_copied() {
    let input = Data::new(vec![1_u8, 2, 3]);
    let original = input.downcast_ref::<Vec<u8>>().unwrap().as_ptr() as usize;
    let n = node(address_of, "v", "addr").build().unwrap();
    let out = n.run(vec![input.clone()]).unwrap();
    assert_eq!(value::<usize>(&out[0]), original);
}

#[test]
fn by_value_argument_is_moved_when_unique() {
    let input = Data::new(vec![1_u8, 2, 3]);
    let original = input.downcast_ref::<Vec<u8>>().unwrap().as_ptr() as usize;
    let arc = input.downcast_arc::<Vec<u8>>().unwrap();
    assert_eq!(Arc::strong_count(&arc), 2);
    drop(arc);
    let n = node(take_address, "v", "addr").build().unwrap();
    let out = n.run(vec![input]).unwrap();
    assert_eq!(value::<usize>(&out[0]), original);
}

#[test]
fn by_value_argument_is_cloned_when_shared() {
    let input = Data::new(vec![1_u8, 2, 3]);
    let original = input.downcast_ref::<Vec<u8>>().unwrap().as_ptr() as usize;
    let n = node(take_address, "v", "addr").build().unwrap();
    let out = n.run(vec![input.clone()]).unwrap();
    assert_ne!(value::<usize>(&out[0]), original);
    // The caller's value is untouched and no longer shared with the node.
    assert_eq!(input.downcast_ref::<Vec<u8>>().unwrap(), &[1, 2, 3]);
    let arc = input.downcast_arc::<Vec<u8>>().unwrap();
    assert_eq!(Arc::strong_count(&arc), 2);
}

#[test]
fn repeated_input_is_bound_twice() {
    let n = node(add, ["a", "a"], "b").build().unwrap();
    let a = Data::new(21_i64);
    let out = n.run(vec![a.clone(), a]).unwrap();
    assert_eq!(value::<i64>(&out[0]), 42);
}

#[test]
fn result_outputs_and_errors() {
    let n = node(divide, ["a", "b"], "q").name("div").build().unwrap();
    let ok = n.run(vec![Data::new(1.0_f64), Data::new(4.0_f64)]).unwrap();
    assert_eq!(value::<f64>(&ok[0]), 0.25);
    let err = n
        .run(vec![Data::new(1.0_f64), Data::new(0.0_f64)])
        .unwrap_err();
    assert_error(
        &err,
        "node_failed",
        &["node 'div' failed", "division by zero"],
    );
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(source.to_string(), "division by zero");
}

#[test]
fn tuple_outputs_are_positional() {
    let n = node(min_max, "xs", ["lo", "hi", "n"]).build().unwrap();
    let out = n.run(vec![Data::new(vec![4_i64, -2, 9])]).unwrap();
    assert_eq!(value::<i64>(&out[0]), -2);
    assert_eq!(value::<i64>(&out[1]), 9);
    assert_eq!(value::<usize>(&out[2]), 3);
}

#[test]
fn zero_inputs_and_zero_outputs() {
    let n = node(seed, (), "xs").build().unwrap();
    assert!(n.inputs().is_empty());
    let out = n.run(Vec::new()).unwrap();
    assert_eq!(value::<Vec<i64>>(&out[0]), [3, 1, 2]);
    let s = node(sink, "x", ()).build().unwrap();
    assert!(s.run(vec![Data::new(1_i64)]).unwrap().is_empty());
}

#[test]
fn eight_inputs_mixing_borrowed_and_owned() {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let n = node(eight, names, "out").build().unwrap();
    assert_eq!(n.function().unwrap().input_count(), Some(8));
    let mut inputs: Vec<Data> = (1..=7_i64).map(Data::new).collect();
    inputs.push(Data::new(String::from("!")));
    let out = n.run(inputs).unwrap();
    assert_eq!(value::<String>(&out[0]), "28!");
}

#[test]
fn params_deserialize_into_primitives_and_structs() {
    let n = node(scale, ["x", "params:factor"], "y").build().unwrap();
    let out = n
        .run(vec![Data::new(2.0_f64), Data::json(serde_json::json!(1.5))])
        .unwrap();
    assert_eq!(value::<f64>(&out[0]), 3.0);

    let n = node(train, ["x", "params:train"], "y")
        .name("train")
        .build()
        .unwrap();
    let params = Data::json(serde_json::json!({"alpha": 0.5, "layers": [8, 4]}));
    let out = n.run(vec![Data::new(4.0_f64), params]).unwrap();
    assert_eq!(value::<f64>(&out[0]), 4.0);

    let bad = Data::json(serde_json::json!({"alpha": "high"}));
    let err = n.run(vec![Data::new(4.0_f64), bad]).unwrap_err();
    assert_error(
        &err,
        "invalid_parameter",
        &["TrainParams", "for input 'params:train' of node 'train'"],
    );
}

#[test]
fn type_mismatch_names_types_dataset_and_node() {
    let n = node(add, ["a", "b"], "c").name("adder").build().unwrap();
    let err = n
        .run(vec![Data::new(1_i64), Data::new(String::from("x"))])
        .unwrap_err();
    assert_error(
        &err,
        "type_mismatch",
        &[
            "`i64`",
            "`alloc::string::String`",
            "input 'b'",
            "node 'adder'",
        ],
    );
    let owned = node(scale, ["x", "f"], "y").name("scale").build().unwrap();
    let err = owned
        .run(vec![Data::new(1.0_f64), Data::new(1_u8)])
        .unwrap_err();
    assert_error(
        &err,
        "type_mismatch",
        &["`f64`", "`u8`", "input 'f'", "node 'scale'"],
    );
}

#[test]
fn mapping_inputs_bind_by_declared_parameter_names() {
    let f = NodeFunction::new(scale).with_params(["x", "factor"]);
    let n = node(
        f,
        DatasetNames::map([("factor", "params:k"), ("x", "raw")]),
        "y",
    )
    .build()
    .unwrap();
    assert_eq!(n.inputs(), ["raw", "params:k"]);
    let out = n
        .run(vec![Data::new(3.0_f64), Data::json(serde_json::json!(2.0))])
        .unwrap();
    assert_eq!(value::<f64>(&out[0]), 6.0);
}

#[test]
fn wrong_number_of_inputs_at_run_time() {
    let n = node(add, ["a", "b"], "c").name("adder").build().unwrap();
    let err = n.run(vec![Data::new(1_i64)]).unwrap_err();
    assert_error(
        &err,
        "node_io",
        &["node 'adder'", "expected 2 input(s) ['a', 'b'], but got 1"],
    );
}

#[test]
fn variadic_functions_are_checked_against_declared_outputs() {
    let f = NodeFunction::variadic("tests.fan", Ok);
    let n = node(f, ["a", "b"], ["x", "y", "z"])
        .name("fan")
        .build()
        .unwrap();
    let err = n.run(vec![Data::new(1_i64), Data::new(2_i64)]).unwrap_err();
    assert_error(
        &err,
        "node_io",
        &["node 'fan'", "returned 2 output(s) but the node declares 3"],
    );
    let ok = node(
        NodeFunction::variadic("tests.fan", Ok),
        ["a", "b"],
        ["x", "y"],
    )
    .build()
    .unwrap();
    let out = ok.run(vec![Data::new(1_i64), Data::new(2_i64)]).unwrap();
    assert_eq!(value::<i64>(&out[1]), 2);
}

#[test]
fn untyped_arguments_and_results() {
    let n = node(untyped, ["a", "b"], "c").build().unwrap();
    let out = n.run(vec![Data::new(1_i64), Data::new(2_i64)]).unwrap();
    assert_eq!(value::<i64>(&out[0]), 3);
}

#[test]
fn unresolved_node_cannot_run() {
    let n = NodeBuilder::unresolved("pkg.fit", "a", "b")
        .name("fit")
        .build()
        .unwrap();
    let err = n.run(vec![Data::new(1_i64)]).unwrap_err();
    assert_error(&err, "unresolved_function", &["'fit'", "'pkg.fit'"]);
}

#[test]
fn outputs_flow_between_nodes() {
    let first = node(seed, (), "xs").build().unwrap();
    let second = node(min_max, "xs", ["lo", "hi", "n"]).build().unwrap();
    let third = node(label, "hi", "text").build().unwrap();
    let xs = first.run(Vec::new()).unwrap().remove(0);
    let stats = second.run(vec![xs]).unwrap();
    let text = third.run(vec![stats[1].clone()]).unwrap();
    assert_eq!(value::<String>(&text[0]), "#3");
}

fn total(xs: &[f64], label: &str) -> String {
    format!("{label}={}", xs.iter().sum::<f64>())
}

#[test]
fn slices_and_str_borrow_stored_vecs_and_strings() {
    let n = node(total, ["xs", "label"], "out")
        .name("total")
        .build()
        .unwrap();
    let xs = Data::new(vec![1.0_f64, 2.5]);
    let out = n
        .run(vec![xs.clone(), Data::new(String::from("sum"))])
        .unwrap();
    assert_eq!(out[0].downcast_ref::<String>().unwrap(), "sum=3.5");
    // A slice parameter also reads a JSON list parameter.
    let json = n
        .run(vec![
            Data::json(serde_json::json!([1.0, 1.0])),
            Data::json(serde_json::json!("p")),
        ])
        .unwrap();
    assert_eq!(json[0].downcast_ref::<String>().unwrap(), "p=2");
    let err = n
        .run(vec![Data::new(3_i64), Data::new(String::new())])
        .unwrap_err();
    assert_eq!(err.kind(), "type_mismatch");
    assert!(err.to_string().contains("Vec<f64>"), "{err}");
}
