//! Serde helpers for MLflow's protobuf-JSON quirks.
//!
//! - int64 fields arrive as JSON numbers but may be strings (protobuf JSON
//!   allows both), so both are accepted.
//! - doubles may be the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, which
//!   are also what MLflow expects for non-finite metric values.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

/// The largest double, which MLflow's SQL store stores in place of ±Infinity.
const CLAMPED_INFINITY: f64 = f64::MAX;

struct I64Visitor;

impl Visitor<'_> for I64Visitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a decimal string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < 9.2e18 {
            // Exact: the value is integral and in range.
            Ok(v as i64)
        } else {
            Err(E::custom(format!("{v} is not an int64")))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim().parse().map_err(E::custom)
    }
}

/// Deserializes an int64 given as a number or a string.
pub(crate) fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(I64Visitor)
}

/// Deserializes an optional int64 given as a number, a string or null.
pub(crate) fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        Int(i64),
        Float(f64),
        #[serde(borrow)]
        Str(std::borrow::Cow<'a, str>),
    }
    match Option::<Raw<'de>>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(v)) => Ok(Some(v)),
        Some(Raw::Float(v)) => I64Visitor.visit_f64(v).map(Some),
        Some(Raw::Str(s)) => I64Visitor.visit_str(&s).map(Some),
    }
}

/// Serializes a double the way MLflow's JSON API expects it.
pub(crate) fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

struct F64Visitor;

impl Visitor<'_> for F64Visitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, \"NaN\" or \"Infinity\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        // The SQL store clamps ±Infinity to ±f64::MAX on write. No real
        // metric is exactly f64::MAX, so reading it back as ±Infinity makes
        // the round trip faithful (a deliberate difference from MLflow's
        // Python client, which returns the clamped number).
        Ok(if v.abs() == CLAMPED_INFINITY {
            v.signum() * f64::INFINITY
        } else {
            v
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other.parse().map_err(E::custom),
        }
    }
}

/// Deserializes a double given as a number or MLflow's non-finite strings.
pub(crate) fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(F64Visitor)
}

/// Formats a double as Python's `repr(float)` does (`1.0`, `1e-05`, `nan`,
/// `inf`), the text MLflow's file store writes into metric files.
pub(crate) fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v != 0.0 && !(-4..16).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let plain = format!("{v}");
    if plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, serde::Serialize)]
    struct M {
        #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
        v: f64,
        #[serde(deserialize_with = "de_i64")]
        t: i64,
    }

    #[test]
    fn non_finite_doubles_round_trip_both_ways() {
        for (v, text) in [
            (f64::NAN, r#""NaN""#),
            (f64::INFINITY, r#""Infinity""#),
            (f64::NEG_INFINITY, r#""-Infinity""#),
            (1.5, "1.5"),
        ] {
            let json = serde_json::to_string(&M { v, t: 1 }).unwrap();
            assert_eq!(json, format!(r#"{{"v":{text},"t":1}}"#));
            let back: M = serde_json::from_str(&json).unwrap();
            assert!(back.v == v || (v.is_nan() && back.v.is_nan()));
        }
        let clamped: M = serde_json::from_str(r#"{"v":-1.7976931348623157e308,"t":"12"}"#).unwrap();
        assert_eq!(clamped.v, f64::NEG_INFINITY);
        assert_eq!(clamped.t, 12);
    }

    #[test]
    fn python_float_matches_repr() {
        let cases = [
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.0, "0.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (-2.5e-7, "-2.5e-07"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, expected) in cases {
            assert_eq!(python_float(v), expected);
        }
    }
}
