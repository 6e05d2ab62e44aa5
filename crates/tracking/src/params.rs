//! Which parameters a run logs, and how (kedro-mlflow's `params` settings).

use std::collections::BTreeMap;

use serde_json::Value;
use tandem_mlflow_client::{Param, Tag};
use tandem_pipeline_core::Pipeline;

use crate::config::{LongParamsStrategy, MAX_PARAM_LENGTH, ParamFormat, ParamsConfig};
use crate::error::Error;

/// The parameter datasets the nodes of `pipeline` consume: every
/// `params:<key>` and `parameters`, sorted (no node produces them, so they
/// are all free inputs).
pub fn consumed_parameters(pipeline: &Pipeline) -> Vec<String> {
    pipeline
        .inputs()
        .iter()
        .filter(|name| *name == "parameters" || name.starts_with("params:"))
        .cloned()
        .collect()
}

/// The params and tags to log for the parameter datasets `values` (dataset
/// name → value): `params:` stripped, mappings flattened as configured,
/// long values handled by the configured strategy.
pub fn params_to_log(
    values: &[(String, Value)],
    config: &ParamsConfig,
) -> Result<(Vec<Param>, Vec<Tag>), Error> {
    let mut flat = BTreeMap::new();
    for (name, value) in values {
        let key = &sanitize(name.strip_prefix("params:").unwrap_or(name));
        let dict = &config.dict_params;
        match value {
            Value::Object(_) if dict.flatten => {
                flatten(key, value, &dict.sep, dict.recursive, &mut flat);
            }
            _ => {
                flat.insert(key.to_owned(), value.clone());
            }
        }
    }
    let (mut params, mut tags) = (Vec::new(), Vec::new());
    for (key, value) in flat {
        let text = match (value, config.format) {
            (Value::String(s), _) => s,
            (other, ParamFormat::Str) => crate::python_str::python_str(&other),
            (other, ParamFormat::Json) => other.to_string(),
        };
        let length = text.chars().count();
        if length <= MAX_PARAM_LENGTH {
            params.push(Param::new(key, text));
            continue;
        }
        match config.long_params_strategy {
            LongParamsStrategy::Fail => {
                return Err(Error::ParamTooLong {
                    key,
                    length,
                    limit: MAX_PARAM_LENGTH,
                });
            }
            LongParamsStrategy::Tag => tags.push(Tag::new(key, text)),
            LongParamsStrategy::Truncate => {
                params.push(Param::new(
                    key,
                    text.chars().take(MAX_PARAM_LENGTH).collect::<String>(),
                ));
            }
        }
    }
    Ok((params, tags))
}

/// `key` with every character MLflow refuses in a parameter key (outside
/// letters, digits, `_ - . / :` and space) replaced by `_`, as kedro-mlflow
/// does.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `value`'s entries under `prefix<sep>key`; nested mappings are flattened
/// again when `recursive`, else kept whole as one JSON value.
fn flatten(
    prefix: &str,
    value: &Value,
    sep: &str,
    recursive: bool,
    out: &mut BTreeMap<String, Value>,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let key = format!("{prefix}{sep}{key}");
                if recursive && child.is_object() {
                    flatten(&key, child, sep, recursive, out);
                } else {
                    out.insert(key, child.clone());
                }
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::DictParams;

    fn values() -> Vec<(String, Value)> {
        vec![
            (
                "params:model".into(),
                json!({"alpha": 0.5, "opt": {"lr": 0.1}}),
            ),
            ("params:name".into(), json!("ridge")),
        ]
    }

    fn keys(params: &[Param]) -> Vec<(&str, &str)> {
        params
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect()
    }

    #[test]
    fn mappings_are_one_value_unless_flattened() {
        let (params, _) = params_to_log(&values(), &ParamsConfig::default()).unwrap();
        assert_eq!(
            keys(&params),
            [
                ("model", "{'alpha': 0.5, 'opt': {'lr': 0.1}}"),
                ("name", "ridge")
            ]
        );
        let json = ParamsConfig {
            format: ParamFormat::Json,
            ..ParamsConfig::default()
        };
        let (params, _) = params_to_log(&values(), &json).unwrap();
        assert_eq!(
            keys(&params)[0],
            ("model", r#"{"alpha":0.5,"opt":{"lr":0.1}}"#)
        );
        let odd = vec![("params:a+b@c".to_owned(), json!(1))];
        let (params, _) = params_to_log(&odd, &ParamsConfig::default()).unwrap();
        assert_eq!(keys(&params), [("a_b_c", "1")]);
        let mut config = ParamsConfig {
            dict_params: DictParams {
                flatten: true,
                recursive: true,
                sep: "/".into(),
            },
            ..ParamsConfig::default()
        };
        let (params, _) = params_to_log(&values(), &config).unwrap();
        assert_eq!(
            keys(&params),
            [
                ("model/alpha", "0.5"),
                ("model/opt/lr", "0.1"),
                ("name", "ridge")
            ]
        );
        config.dict_params.recursive = false;
        let (params, _) = params_to_log(&values(), &config).unwrap();
        assert_eq!(
            keys(&params),
            [
                ("model/alpha", "0.5"),
                ("model/opt", "{'lr': 0.1}"),
                ("name", "ridge")
            ]
        );
    }

    #[test]
    fn long_values_fail_become_tags_or_are_truncated() {
        let long = vec![(
            "params:text".to_owned(),
            json!("x".repeat(MAX_PARAM_LENGTH + 1)),
        )];
        let mut config = ParamsConfig::default();
        let err = params_to_log(&long, &config).unwrap_err();
        assert_eq!(err.kind(), "param_too_long");
        assert!(err.to_string().contains("'text'"));
        config.long_params_strategy = LongParamsStrategy::Tag;
        let (params, tags) = params_to_log(&long, &config).unwrap();
        assert!(params.is_empty());
        assert_eq!(tags[0].value.len(), MAX_PARAM_LENGTH + 1);
        config.long_params_strategy = LongParamsStrategy::Truncate;
        let (params, tags) = params_to_log(&long, &config).unwrap();
        assert!(tags.is_empty());
        assert_eq!(params[0].value.len(), MAX_PARAM_LENGTH);
    }
}
