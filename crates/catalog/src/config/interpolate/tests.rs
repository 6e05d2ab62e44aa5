use serde_json::{Value, json};

use super::*;

fn resolve(tree: Value) -> Result<Value, Failure> {
    Interpolator::new()
        .resolve_tree(tree.as_object().unwrap())
        .map(Value::Object)
}

fn failure(tree: Value) -> (String, String) {
    let f = resolve(tree).unwrap_err();
    (f.full_key(), f.message)
}

#[test]
fn absolute_relative_and_indexed_keys() {
    let resolved = resolve(json!({
        "a": {"b": [1, {"c": "deep"}], "s": "x"},
        "abs": "${a.b[1].c}",
        "dotted_index": "${a.b.0}",
        "m": {"k": 5, "sib": "${.k}", "inner": {"up": "${..k}", "top": "${...abs}"}},
        "l": [10, "${.0}"],
    }))
    .unwrap();
    assert_eq!(resolved["abs"], "deep");
    assert_eq!(resolved["dotted_index"], 1);
    assert_eq!(resolved["m"]["sib"], 5);
    assert_eq!(resolved["m"]["inner"]["up"], 5);
    assert_eq!(resolved["m"]["inner"]["top"], "deep");
    assert_eq!(resolved["l"], json!([10, 10]));
}

#[test]
fn whole_strings_keep_types_and_mixed_strings_are_python_text() {
    let resolved = resolve(json!({
        "n": 3, "f": 1.0, "b": true, "z": null, "d": {"x": "${n}"}, "l": [1, "${n}"],
        "whole": {"n": "${n}", "f": "${f}", "b": "${b}", "z": "${z}", "d": "${d}", "l": "${l}"},
        "text": "n=${n} f=${f} b=${b} z=${z} d=${d}",
        "escaped": "\\${n} and ${n}",
    }))
    .unwrap();
    assert_eq!(
        resolved["whole"],
        json!({"n": 3, "f": 1.0, "b": true, "z": null, "d": {"x": 3}, "l": [1, 3]})
    );
    assert_eq!(resolved["text"], "n=3 f=1.0 b=True z=None d={'x': 3}");
    assert_eq!(resolved["escaped"], "${n} and 3");
}

#[test]
fn chains_resolve_through_interpolated_containers() {
    let resolved = resolve(json!({
        "base": {"x": {"y": 1}},
        "alias": "${base}",
        "through": "${alias.x.y}",
        "c": "${b}", "b": "${a}", "a": "end",
    }))
    .unwrap();
    assert_eq!(resolved["through"], 1);
    assert_eq!(resolved["c"], "end");
}

#[test]
fn cycles_and_depth_are_errors_naming_the_key() {
    let (key, message) = failure(json!({"a": {"x": "${b}"}, "b": "${a.x}"}));
    assert_eq!(key, "a.x");
    assert_eq!(message, "Recursive interpolation detected: a.x -> b -> a.x");
    let (key, message) = failure(json!({"s": "${s}"}));
    assert_eq!(
        (key.as_str(), message.as_str()),
        ("s", "Recursive interpolation detected: s -> s")
    );

    let mut chain = serde_json::Map::new();
    for i in 0..200 {
        chain.insert(format!("k{i}"), json!(format!("${{k{}}}", i + 1)));
    }
    chain.insert("k200".into(), json!(0));
    let (_, message) = failure(Value::Object(chain));
    assert!(message.contains("deeper than 64"), "{message}");
}

#[test]
fn missing_keys_use_omegaconfs_message_and_the_innermost_path() {
    assert_eq!(
        failure(json!({"b": {"x": "${nope.x}"}})),
        ("b.x".into(), "Interpolation key 'nope.x' not found".into())
    );
    assert_eq!(
        failure(json!({"l": [0, {"k": "pre ${.nope}"}]})),
        (
            "l[1].k".into(),
            "Interpolation key '.nope' not found".into()
        )
    );
    assert_eq!(
        failure(json!({"a": "${b}", "b": "${c}"})),
        ("b".into(), "Interpolation key 'c' not found".into())
    );
    assert_eq!(
        failure(json!({"a": "${x", "b": 1})).1,
        "invalid interpolation: unterminated interpolation: missing '}'"
    );
}

#[test]
fn resolvers_and_their_arguments() {
    let interpolator = Interpolator::new()
        .with_globals(
            json!({"g": {"dir": "data"}, "n": 2})
                .as_object()
                .unwrap()
                .clone(),
        )
        .with_runtime_params(json!({"r": 7}).as_object().unwrap().clone())
        .with_resolver("args", |args| Ok(Value::Array(args.to_vec())));
    let tree = json!({
        "k": "n",
        "typed": "${args:1, 2.5, true, null, bare text, 'q, ${k}', \"d\", ${k}, x${k}y}",
        "nested": "${globals:${.k}}",
        "default_interp": "${globals:missing, ${runtime_params:r}}",
        "dict": "${globals:g}",
        "path": "${globals:g.dir}/${runtime_params:out, 'data/02'}",
        "select": "${oc.select:k}", "select_missing": "${oc.select:nope}",
        "select_default": "${oc.select:nope, 4}",
        "keys": "${oc.dict.keys:m}", "values": "${oc.dict.values:m}",
        "m": {"a": 1, "b": "${k}"},
        "empty": "${args:}",
    });
    let resolved = interpolator.resolve(tree.as_object().unwrap()).unwrap();
    assert_eq!(
        resolved["typed"],
        json!([1, 2.5, true, null, "bare text", "q, n", "d", "n", "xny"])
    );
    assert_eq!(resolved["nested"], 2);
    assert_eq!(resolved["default_interp"], 7);
    assert_eq!(resolved["dict"], json!({"dir": "data"}));
    assert_eq!(resolved["path"], "data/data/02");
    assert_eq!(resolved["select"], "n");
    assert_eq!(resolved["select_missing"], Value::Null);
    assert_eq!(resolved["select_default"], 4);
    assert_eq!(resolved["keys"], json!(["a", "b"]));
    assert_eq!(resolved["values"], json!([1, "n"]));
    assert_eq!(resolved["empty"], json!([]));
}

#[test]
fn unknown_and_disabled_resolvers() {
    assert_eq!(
        failure(json!({"a": "${foo:1}"})).1,
        "Unsupported interpolation type foo"
    );
    assert_eq!(
        failure(json!({"a": "${oc.env:HOME}"})).1,
        "Unsupported interpolation type oc.env"
    );
    let globals_only = Interpolator::new().for_globals();
    let err = globals_only
        .resolve_tree(json!({"a": "${runtime_params:x, 1}"}).as_object().unwrap())
        .unwrap_err();
    assert_eq!(
        err.message,
        "The `runtime_params:` resolver is not supported for globals."
    );
    // A built-in name cannot be replaced.
    let shadow = Interpolator::new().with_resolver("oc.select", |_| Ok(json!("mine")));
    let resolved = shadow
        .resolve(json!({"a": "${oc.select:b}", "b": 1}).as_object().unwrap())
        .unwrap();
    assert_eq!(resolved["a"], 1);
}

#[test]
fn resolver_errors_never_echo_values() {
    let secret = "hunter2-${nope}";
    let err = Interpolator::new()
        .with_env_vars(true)
        .resolve(json!({"db": {"password": secret}}).as_object().unwrap())
        .unwrap_err();
    let shown = err.to_string();
    assert_eq!(
        shown,
        "entry 'db.password': Interpolation key 'nope' not found"
    );
    assert!(!shown.contains("hunter2"));
}

#[test]
fn list_and_mapping_arguments_reach_resolvers_typed() {
    let resolved = Interpolator::new()
        .with_resolver("echo", |args| Ok(Value::Array(args.to_vec())))
        .resolve_tree(
            json!({
                "x": 3,
                "out": "${echo:[1, 'two', ${x}], {k: [true, null], j: {}}}",
            })
            .as_object()
            .unwrap(),
        )
        .unwrap();
    assert_eq!(
        resolved["out"],
        json!([[1, "two", 3], {"k": [true, null], "j": {}}])
    );
}

#[test]
fn oc_decode_reads_one_element_from_a_string() {
    let resolved = resolve(json!({
        "n": "${oc.decode:'123'}",
        "f": "${oc.decode:'1.5'}",
        "b": "${oc.decode:'true'}",
        "l": "${oc.decode:'[1, ${n}]'}",
        "d": "${oc.decode:'{a: 1, b: [x]}'}",
        "s": "${oc.decode:'\"quoted\"'}",
        "none": "${oc.decode:null}",
        "text": "${oc.decode:hello}",
    }))
    .unwrap();
    assert_eq!(resolved["n"], 123);
    assert_eq!(resolved["f"], 1.5);
    assert_eq!(resolved["b"], true);
    assert_eq!(resolved["l"], json!([1, 123]));
    assert_eq!(resolved["d"], json!({"a": 1, "b": ["x"]}));
    assert_eq!(resolved["s"], "quoted");
    assert_eq!(resolved["none"], Value::Null);
    assert_eq!(resolved["text"], "hello");
    let (key, message) = failure(json!({"k": "${oc.decode:5}"}));
    assert_eq!(key, "k");
    assert!(
        message.contains("can only take strings or None"),
        "{message}"
    );
    assert!(message.contains("`int`"), "{message}");
}

#[test]
fn oc_create_builds_mappings_and_lists() {
    let resolved = resolve(json!({
        "m": "${oc.create:{a: 1}}",
        "y": "${oc.create:'{b: [1, 2]}'}",
        "l": "${oc.create:'- 1\n- two'}",
    }))
    .unwrap();
    assert_eq!(resolved["m"], json!({"a": 1}));
    assert_eq!(resolved["y"], json!({"b": [1, 2]}));
    assert_eq!(resolved["l"], json!([1, "two"]));
    let (key, message) = failure(json!({"k": "${oc.create:'plain'}"}));
    assert_eq!(key, "k");
    assert!(message.contains("not a mapping or list"), "{message}");
}

#[test]
fn oc_deprecated_returns_the_new_keys_value() {
    let resolved = resolve(json!({
        "new": {"key": [1, 2]},
        "old": "${oc.deprecated:new.key}",
        "custom": "${oc.deprecated:new.key, 'use $NEW_KEY, not $OLD_KEY'}",
    }))
    .unwrap();
    assert_eq!(resolved["old"], json!([1, 2]));
    assert_eq!(resolved["custom"], json!([1, 2]));
    let (key, message) = failure(json!({"old": {"k": "${oc.deprecated:gone}"}}));
    assert_eq!(key, "old.k");
    assert!(
        message.contains("In oc.deprecated resolver at 'old.k': Key not found: 'gone'"),
        "{message}"
    );
}
