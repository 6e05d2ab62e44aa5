//! MLflow model signatures: inferred from the input data (an arrow schema
//! and its values) and the `params:` defaults with MLflow's type names, and
//! written as the JSON strings MLflow stores in `MLmodel`.

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use tandem_pipeline_core::Data;

use crate::error::Error;

/// An MLflow column type (`mlflow.types.DataType` and its composites).
#[derive(Clone, Debug, PartialEq)]
pub enum ColType {
    /// `boolean`.
    Boolean,
    /// `integer` (32 bits).
    Integer,
    /// `long` (64 bits).
    Long,
    /// `float` (32 bits).
    Float,
    /// `double` (64 bits).
    Double,
    /// `string`.
    String,
    /// `binary` (base64 in JSON).
    Binary,
    /// `datetime` (ISO-8601 strings in JSON).
    Datetime,
    /// `array` of one item type.
    Array(Box<ColType>),
    /// `object` with named properties, sorted by name.
    Object(Vec<Property>),
}

/// A property of an [`ColType::Object`].
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// The key.
    pub name: String,
    /// Its type.
    pub col_type: ColType,
    /// Whether every value has it.
    pub required: bool,
}

/// One input column (MLflow's `ColSpec`); unnamed for a list input.
#[derive(Clone, Debug, PartialEq)]
pub struct ColSpec {
    /// The column name.
    pub name: Option<String>,
    /// Its type.
    pub col_type: ColType,
    /// Whether it must be present (inferred: it has no missing values).
    pub required: bool,
}

/// One inference parameter (MLflow's `ParamSpec`).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The name, without `params:`.
    pub name: String,
    /// Its type; a list parameter has its items' type and `shape [-1]`.
    pub param_type: ColType,
    /// The default value.
    pub default: Value,
    /// Whether it is a list.
    pub is_list: bool,
}

impl ColType {
    /// MLflow's name of a scalar type.
    fn name(&self) -> &'static str {
        match self {
            ColType::Boolean => "boolean",
            ColType::Integer => "integer",
            ColType::Long => "long",
            ColType::Float => "float",
            ColType::Double => "double",
            ColType::String => "string",
            ColType::Binary => "binary",
            ColType::Datetime => "datetime",
            ColType::Array(_) => "array",
            ColType::Object(_) => "object",
        }
    }

    /// MLflow's type of an arrow type, as `infer_signature` maps the pandas
    /// dtype arrow converts it to. `data` (the column's values) decides
    /// whether object properties are required; without it, nullability does.
    pub fn from_arrow(data_type: &DataType, data: Option<&ArrayRef>) -> Result<ColType, String> {
        Ok(match data_type {
            DataType::Boolean => ColType::Boolean,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => ColType::Integer,
            DataType::Int64 | DataType::UInt32 => ColType::Long,
            DataType::Float16 | DataType::Float32 => ColType::Float,
            DataType::Float64 => ColType::Double,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColType::String,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => ColType::Binary,
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => ColType::Datetime,
            DataType::Dictionary(_, values) => ColType::from_arrow(values, None)?,
            DataType::List(item)
            | DataType::LargeList(item)
            | DataType::ListView(item)
            | DataType::LargeListView(item)
            | DataType::FixedSizeList(item, _) => {
                ColType::Array(Box::new(ColType::from_arrow(item.data_type(), None)?))
            }
            DataType::Struct(fields) => {
                let children =
                    data.and_then(|a| a.as_any().downcast_ref::<arrow_array::StructArray>());
                let mut properties = fields
                    .iter()
                    .enumerate()
                    .map(|(i, field)| {
                        let child = children.map(|s| s.column(i));
                        Ok(Property {
                            name: field.name().clone(),
                            col_type: ColType::from_arrow(field.data_type(), child)?,
                            required: is_required(field, child),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                properties.sort_by(|a, b| a.name.cmp(&b.name));
                ColType::Object(properties)
            }
            // MLflow has no type for these (uint64 included: it overflows `long`).
            other => return Err(format!("arrow type {other} has no MLflow equivalent")),
        })
    }

    /// The type of a JSON value (a parameter default or one of its parts);
    /// `None` for null and for values no single type describes.
    fn of_json(value: &Value) -> Option<ColType> {
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(ColType::Boolean),
            Value::Number(n) if n.is_f64() => Some(ColType::Double),
            Value::Number(_) => Some(ColType::Long),
            Value::String(_) => Some(ColType::String),
            Value::Array(items) => common_type(items).map(|t| ColType::Array(Box::new(t))),
            Value::Object(map) => {
                let mut properties = Vec::with_capacity(map.len());
                for (name, value) in map {
                    properties.push(Property {
                        name: name.clone(),
                        col_type: ColType::of_json(value)?,
                        required: true,
                    });
                }
                properties.sort_by(|a, b| a.name.cmp(&b.name));
                Some(ColType::Object(properties))
            }
        }
    }

    /// Writes `"type"` and, for composites, `"items"` or `"properties"`.
    fn serialize_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("type", self.name())?;
        match self {
            ColType::Array(items) => map.serialize_entry("items", &TypeOnly(items)),
            ColType::Object(properties) => {
                map.serialize_entry("properties", &Properties(properties))
            }
            _ => Ok(()),
        }
    }
}

/// The item type shared by every value of a list: ints widen to double
/// next to floats, as numpy does.
fn common_type(items: &[Value]) -> Option<ColType> {
    let mut common: Option<ColType> = None;
    for item in items {
        let t = ColType::of_json(item)?;
        common = Some(match (common, t) {
            (None, t) => t,
            (Some(a), b) if a == b => a,
            (Some(ColType::Long), ColType::Double) | (Some(ColType::Double), ColType::Long) => {
                ColType::Double
            }
            _ => return None,
        });
    }
    common
}

fn is_required(field: &Field, data: Option<&ArrayRef>) -> bool {
    match data {
        None => !field.is_nullable(),
        Some(array) => array.null_count() == 0 && !has_nan(array),
    }
}

/// MLflow counts NaN as missing: pandas has no other missing float.
fn has_nan(array: &ArrayRef) -> bool {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type};
    match array.data_type() {
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .any(|v| v.is_nan()),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .any(|v| v.is_nan()),
        _ => false,
    }
}

struct TypeOnly<'a>(&'a ColType);

impl Serialize for TypeOnly<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.serialize_entries(&mut map)?;
        map.end()
    }
}

struct Properties<'a>(&'a [Property]);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for property in self.0 {
            map.serialize_entry(&property.name, &PropertyBody(property))?;
        }
        map.end()
    }
}

struct PropertyBody<'a>(&'a Property);

impl Serialize for PropertyBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.col_type.serialize_entries(&mut map)?;
        map.serialize_entry("required", &self.0.required)?;
        map.end()
    }
}

/// MLflow's key order: type (and items/properties), name, required.
impl Serialize for ColSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.col_type.serialize_entries(&mut map)?;
        if let Some(name) = &self.name {
            map.serialize_entry("name", name)?;
        }
        map.serialize_entry("required", &self.required)?;
        map.end()
    }
}

/// MLflow's key order: name, default, shape, type (and items/properties).
impl Serialize for ParamSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("default", &self.default)?;
        map.serialize_entry("shape", &self.is_list.then_some([-1]))?;
        self.param_type.serialize_entries(&mut map)?;
        map.end()
    }
}

/// The input columns of a table, with MLflow's names and types.
pub fn infer_schema(batch: &RecordBatch) -> Result<Vec<ColSpec>, Error> {
    infer_columns(std::slice::from_ref(batch))
}

fn infer_columns(batches: &[RecordBatch]) -> Result<Vec<ColSpec>, Error> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let schema = first.schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let column = first.column(i);
            let col_type = ColType::from_arrow(field.data_type(), Some(column))
                .map_err(|e| Error::InvalidSignature(format!("column '{}': {e}", field.name())))?;
            let required = batches
                .iter()
                .all(|b| is_required(field, Some(b.column(i))));
            Ok(ColSpec {
                name: Some(field.name().clone()),
                col_type,
                required,
            })
        })
        .collect()
}

/// The signature inputs of the data a model receives: named columns for a
/// table (`RecordBatch` or `Vec<RecordBatch>`), one unnamed column for a
/// list of scalars (`Vec<f64>`, `Vec<String>`...); `None` for other values,
/// which MLflow cannot describe.
pub fn infer_inputs(data: &Data) -> Result<Option<Vec<ColSpec>>, Error> {
    if let Ok(batch) = data.downcast_ref::<RecordBatch>() {
        return infer_schema(batch).map(Some);
    }
    if let Ok(batches) = data.downcast_ref::<Vec<RecordBatch>>() {
        return infer_columns(batches).map(Some);
    }
    let list_type = if data.is::<Vec<f64>>() {
        ColType::Double
    } else if data.is::<Vec<f32>>() {
        ColType::Float
    } else if data.is::<Vec<i64>>() || data.is::<Vec<u32>>() {
        ColType::Long
    } else if data.is::<Vec<i32>>()
        || data.is::<Vec<i16>>()
        || data.is::<Vec<i8>>()
        || data.is::<Vec<u16>>()
    {
        ColType::Integer
    } else if data.is::<Vec<bool>>() {
        ColType::Boolean
    } else if data.is::<Vec<String>>() {
        ColType::String
    } else {
        match data.downcast_ref::<Value>() {
            Ok(Value::Array(items)) => match common_type(items) {
                Some(t) if !matches!(t, ColType::Array(_) | ColType::Object(_)) => t,
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }
    };
    Ok(Some(vec![ColSpec {
        name: None,
        col_type: list_type,
        // MLflow never makes an unnamed input optional.
        required: true,
    }]))
}

/// The parameter spec of a `params:` default, as MLflow's
/// `infer_signature(params=...)` writes it; `None` (with a warning) for
/// values it cannot describe: null, empty or mixed lists, lists of lists.
pub fn infer_param(name: &str, default: &Value) -> Option<ParamSpec> {
    let spec = match default {
        Value::Array(items) => match common_type(items) {
            Some(t) if !matches!(t, ColType::Array(_)) && !items.is_empty() => {
                let default = if t == ColType::Double {
                    // numpy widens the ints of a mixed list: [1.5, 2] → [1.5, 2.0].
                    Value::Array(items.iter().map(widen).collect())
                } else {
                    default.clone()
                };
                Some(ParamSpec {
                    name: name.to_owned(),
                    param_type: t,
                    default,
                    is_list: true,
                })
            }
            _ => None,
        },
        other => ColType::of_json(other).map(|t| ParamSpec {
            name: name.to_owned(),
            param_type: t,
            default: other.clone(),
            is_list: false,
        }),
    };
    if spec.is_none() {
        tracing::warn!(
            parameter = name,
            "parameter '{name}' has a default MLflow cannot describe ({default}); it is left out of the signature"
        );
    }
    spec
}

fn widen(value: &Value) -> Value {
    match value.as_f64() {
        Some(f) if value.is_i64() || value.is_u64() => Value::from(f),
        _ => value.clone(),
    }
}
