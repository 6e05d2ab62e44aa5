//! Type-erased data values that flow between nodes.
//!
//! A [`Data`] is an `Arc<dyn Any + Send + Sync>` plus the name of the type it
//! holds, so cloning one is a reference-count bump and a wrong-type extraction
//! can say what was expected and what was found. Values created from a
//! [`DataValue`] also know how to copy themselves, which is what the catalog's
//! `copy` and `deepcopy` modes need.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// A type that can flow through a pipeline by value: node outputs and by-value
/// node inputs implement it.
///
/// `Clone` is the catalog's `copy` mode; [`DataValue::deep_clone`] is its
/// `deepcopy` mode and defaults to `Clone`, which is already deep for owned
/// Rust types (`Vec`, `String`, structs of them). Types whose `Clone` shares
/// buffers (arrow arrays, `Arc`) override it where a deep copy is meaningful.
///
/// [`DataValue::from_json`] lets a `params:` entry (stored as JSON) be
/// deserialized into this type at the node boundary. Implement your own types
/// with [`data_value!`](crate::data_value):
///
/// ```
/// use serde::Deserialize;
/// use tandem_pipeline_core::{data_value, Data};
///
/// #[derive(Clone)]
/// struct Scaler { mean: f64 }
/// #[derive(Clone, Deserialize)]
/// struct TrainParams { alpha: f64 }
///
/// data_value!(Scaler);
/// data_value!(params: TrainParams);
///
/// let p = Data::json(serde_json::json!({"alpha": 0.5}));
/// assert_eq!(p.into_value::<TrainParams>().unwrap().alpha, 0.5);
/// ```
pub trait DataValue: Clone + Send + Sync + 'static {
    /// A copy that shares no mutable or reference-counted state with `self`.
    fn deep_clone(&self) -> Self {
        self.clone()
    }

    /// Builds a value from a JSON parameter; `None` when the type is not
    /// deserializable from parameters.
    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        let _ = value;
        None
    }

    /// The value as JSON, for datasets that store serde values (JSON,
    /// MessagePack); `None` when the type is not serializable.
    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        None
    }

    /// Builds a value from a [`Data`] of another type this type knows how to
    /// convert from (a Polars `DataFrame` from an arrow `RecordBatch` or a
    /// `LazyFrame`); `None` when it does not. Tried at the node boundary when
    /// the stored value is not a `Self`, before JSON parameters.
    fn convert_from(data: &Data) -> Option<Result<Self, String>> {
        let _ = data;
        None
    }
}

/// Implements [`DataValue`] for your types.
///
/// - `data_value!(A, B)` makes `A` and `B` usable as node inputs and outputs;
/// - `data_value!(params: P)` also lets `params:` entries deserialize into `P`
///   (`P: serde::de::DeserializeOwned`);
/// - `data_value!(serde: M)` also lets JSON/MessagePack datasets save and load
///   `M` (`M: Serialize + DeserializeOwned`): fitted models, scalers, encoders.
#[macro_export]
macro_rules! data_value {
    (serde: $($t:ty),+ $(,)?) => {
        $(impl $crate::DataValue for $t {
            fn from_json(
                value: &$crate::__private::serde_json::Value,
            ) -> ::std::option::Option<::std::result::Result<Self, ::std::string::String>> {
                ::std::option::Option::Some($crate::__private::from_json(value))
            }
            fn to_json(
                &self,
            ) -> ::std::option::Option<
                ::std::result::Result<$crate::__private::serde_json::Value, ::std::string::String>,
            > {
                ::std::option::Option::Some($crate::__private::to_json(self))
            }
        })+
    };
    (params: $($t:ty),+ $(,)?) => {
        $(impl $crate::DataValue for $t {
            fn from_json(
                value: &$crate::__private::serde_json::Value,
            ) -> ::std::option::Option<::std::result::Result<Self, ::std::string::String>> {
                ::std::option::Option::Some($crate::__private::from_json(value))
            }
        })+
    };
    ($($t:ty),+ $(,)?) => {
        $(impl $crate::DataValue for $t {})+
    };
}

#[doc(hidden)]
pub mod __private {
    pub use serde_json;

    /// Deserializes a JSON parameter into `T`.
    pub fn from_json<T: serde::de::DeserializeOwned>(
        value: &serde_json::Value,
    ) -> Result<T, String> {
        T::deserialize(value).map_err(|e| e.to_string())
    }

    /// Serializes `value` to JSON.
    pub fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, String> {
        serde_json::to_value(value).map_err(|e| e.to_string())
    }
}

macro_rules! serde_values {
    ($($t:ty),+) => {
        $(impl DataValue for $t {
            fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
                Some(__private::from_json(value))
            }
            fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
                Some(__private::to_json(self))
            }
        })+
    };
}

serde_values!(
    bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, String
);

impl DataValue for serde_json::Value {
    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        Some(Ok(value.clone()))
    }
    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        Some(Ok(self.clone()))
    }
}

impl<T: DataValue> DataValue for Vec<T> {
    fn deep_clone(&self) -> Self {
        self.iter().map(DataValue::deep_clone).collect()
    }

    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        let items = match value {
            serde_json::Value::Array(items) => items,
            other => return Some(Err(format!("expected an array, found {other}"))),
        };
        items.iter().map(T::from_json).collect()
    }

    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        let items: Option<Result<Vec<_>, String>> = self.iter().map(T::to_json).collect();
        items.map(|r| r.map(serde_json::Value::Array))
    }
}

impl<T: DataValue> DataValue for Option<T> {
    fn deep_clone(&self) -> Self {
        self.as_ref().map(DataValue::deep_clone)
    }

    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        match value {
            serde_json::Value::Null => Some(Ok(None)),
            other => T::from_json(other).map(|r| r.map(Some)),
        }
    }

    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        match self {
            None => Some(Ok(serde_json::Value::Null)),
            Some(v) => v.to_json(),
        }
    }
}

impl<T: DataValue> DataValue for BTreeMap<String, T> {
    fn deep_clone(&self) -> Self {
        self.iter()
            .map(|(k, v)| (k.clone(), v.deep_clone()))
            .collect()
    }

    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        json_object(value, |k, v| {
            T::from_json(v).map(|r| r.map(|v| (k.to_owned(), v)))
        })
    }

    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        map_to_json(self.iter())
    }
}

impl<T: DataValue> DataValue for HashMap<String, T> {
    fn deep_clone(&self) -> Self {
        self.iter()
            .map(|(k, v)| (k.clone(), v.deep_clone()))
            .collect()
    }

    fn from_json(value: &serde_json::Value) -> Option<Result<Self, String>> {
        json_object(value, |k, v| {
            T::from_json(v).map(|r| r.map(|v| (k.to_owned(), v)))
        })
    }

    fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        map_to_json(self.iter())
    }
}

fn json_object<C, T>(
    value: &serde_json::Value,
    entry: impl Fn(&str, &serde_json::Value) -> Option<Result<(String, T), String>>,
) -> Option<Result<C, String>>
where
    C: FromIterator<(String, T)>,
{
    match value {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| entry(k, v)).collect(),
        other => Some(Err(format!("expected an object, found {other}"))),
    }
}

fn map_to_json<'a, T: DataValue>(
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Option<Result<serde_json::Value, String>> {
    let mut object = serde_json::Map::new();
    for (k, v) in entries {
        match v.to_json()? {
            Ok(json) => {
                object.insert(k.clone(), json);
            }
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(serde_json::Value::Object(object)))
}

/// Shared ownership: cloning and deep-cloning share the pointee, which is how
/// non-`Clone` types (a trained model handle, say) travel through a pipeline.
impl<T: ?Sized + Send + Sync + 'static> DataValue for Arc<T> {}

/// Arrow record batches: `Clone` shares the column buffers, `deep_clone` copies them.
impl DataValue for arrow_array::RecordBatch {
    /// Copies every column's buffers. Should arrow refuse the copy (offset
    /// overflow on a pathological array), the batch is shared instead: the
    /// value is immutable either way, only memory independence is lost.
    fn deep_clone(&self) -> Self {
        let columns: Option<Vec<_>> = self.columns().iter().map(deep_copy_array).collect();
        columns
            .and_then(|c| arrow_array::RecordBatch::try_new(self.schema(), c).ok())
            .unwrap_or_else(|| self.clone())
    }
}

fn deep_copy_array(array: &arrow_array::ArrayRef) -> Option<arrow_array::ArrayRef> {
    let data = array.to_data();
    let mut copy = arrow_data::transform::MutableArrayData::new(vec![&data], false, data.len());
    copy.try_extend(0, 0, data.len()).ok()?;
    Some(arrow_array::make_array(copy.freeze()))
}

type Copier = fn(&Data) -> Option<Data>;
type ToJson = fn(&Data) -> Option<Result<serde_json::Value, String>>;

/// What a [`DataValue`] can do once its type is erased.
#[derive(Clone, Copy)]
struct ValueOps {
    shallow: Copier,
    deep: Copier,
    to_json: ToJson,
}

/// A type-erased, cheaply clonable value.
///
/// ```
/// use tandem_pipeline_core::Data;
///
/// let d = Data::new(vec![1.0_f64, 2.0]);
/// assert_eq!(d.type_name(), "alloc::vec::Vec<f64>");
/// assert_eq!(d.downcast_ref::<Vec<f64>>().unwrap(), &[1.0, 2.0]);
/// let err = d.downcast_ref::<String>().unwrap_err();
/// assert_eq!(err.kind(), "type_mismatch");
/// ```
#[derive(Clone)]
pub struct Data {
    value: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
    ops: Option<ValueOps>,
}

impl Data {
    /// Wraps a [`DataValue`]; the result supports [`Data::try_clone`] and [`Data::try_deep_clone`].
    pub fn new<T: DataValue>(value: T) -> Self {
        Data {
            value: Arc::new(value),
            type_name: std::any::type_name::<T>(),
            ops: Some(ValueOps {
                shallow: |d| d.downcast_ref::<T>().ok().map(|v| Data::new(v.clone())),
                deep: |d| {
                    d.downcast_ref::<T>()
                        .ok()
                        .map(|v| Data::new(v.deep_clone()))
                },
                to_json: |d| d.downcast_ref::<T>().ok().and_then(DataValue::to_json),
            }),
        }
    }

    /// Wraps any thread-safe value; it can be shared and borrowed but not copied.
    pub fn opaque<T: Any + Send + Sync>(value: T) -> Self {
        Data {
            value: Arc::new(value),
            type_name: std::any::type_name::<T>(),
            ops: None,
        }
    }

    /// Wraps a JSON value, the form in which `params:` entries are stored.
    pub fn json(value: serde_json::Value) -> Self {
        Data::new(value)
    }

    /// The Rust type name of the held value.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether the held value is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.value.is::<T>()
    }

    /// Whether the value can be copied ([`Data::try_clone`] returns `Some`).
    pub fn is_copyable(&self) -> bool {
        self.ops.is_some()
    }

    /// Whether both handles share the same allocation.
    pub fn ptr_eq(&self, other: &Data) -> bool {
        Arc::ptr_eq(&self.value, &other.value)
    }

    /// Borrows the value as a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Result<&T, Error> {
        self.value
            .downcast_ref::<T>()
            .ok_or_else(|| self.mismatch::<T>())
    }

    /// A shared handle on the value as a `T`.
    pub fn downcast_arc<T: Any + Send + Sync>(&self) -> Result<Arc<T>, Error> {
        Arc::clone(&self.value)
            .downcast::<T>()
            .map_err(|_| self.mismatch::<T>())
    }

    /// A shared handle on the value as a `T`, deserializing a JSON parameter
    /// into `T` when the value is JSON and `T` is not.
    pub fn value_arc<T: DataValue>(&self) -> Result<Arc<T>, Error> {
        match self.downcast_arc::<T>() {
            Ok(v) => Ok(v),
            Err(mismatch) => self.param_value::<T>(mismatch).map(Arc::new),
        }
    }

    /// Takes the value out as a `T`: moved when this is the only handle,
    /// cloned otherwise; a JSON parameter is deserialized into `T`.
    pub fn into_value<T: DataValue>(self) -> Result<T, Error> {
        match Arc::clone(&self.value).downcast::<T>() {
            Ok(arc) => {
                drop(self);
                Ok(Arc::try_unwrap(arc).unwrap_or_else(|shared| (*shared).clone()))
            }
            Err(_) => {
                let mismatch = self.mismatch::<T>();
                self.param_value::<T>(mismatch)
            }
        }
    }

    /// A shallow copy (`Clone`), or `None` for an opaque value.
    pub fn try_clone(&self) -> Option<Data> {
        self.ops.and_then(|ops| (ops.shallow)(self))
    }

    /// A deep copy ([`DataValue::deep_clone`]), or `None` for an opaque value.
    pub fn try_deep_clone(&self) -> Option<Data> {
        self.ops.and_then(|ops| (ops.deep)(self))
    }

    /// The value as JSON, or `None` when its type is not serializable (see
    /// [`DataValue::to_json`]).
    pub fn to_json(&self) -> Option<Result<serde_json::Value, String>> {
        self.ops.and_then(|ops| (ops.to_json)(self))
    }

    fn param_value<T: DataValue>(&self, mismatch: Error) -> Result<T, Error> {
        match T::convert_from(self) {
            None => {}
            Some(Ok(v)) => return Ok(v),
            Some(Err(message)) => {
                return Err(Error::Conversion {
                    expected: std::any::type_name::<T>(),
                    actual: self.type_name,
                    message,
                    context: String::new(),
                });
            }
        }
        let Some(json) = self.value.downcast_ref::<serde_json::Value>() else {
            return Err(mismatch);
        };
        match T::from_json(json) {
            None => Err(mismatch),
            Some(Ok(v)) => Ok(v),
            Some(Err(message)) => Err(Error::InvalidParameter {
                expected: std::any::type_name::<T>(),
                message,
                context: String::new(),
            }),
        }
    }

    fn mismatch<T: Any>(&self) -> Error {
        Error::TypeMismatch {
            expected: std::any::type_name::<T>(),
            actual: self.type_name,
            context: String::new(),
        }
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data<{}>", self.type_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Float64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
    struct Params {
        alpha: f64,
        layers: Vec<u32>,
    }
    crate::data_value!(params: Params);

    #[test]
    fn wrong_type_names_expected_and_actual() {
        let err = Data::new(1_i64).downcast_ref::<f64>().unwrap_err();
        assert_eq!(err.kind(), "type_mismatch");
        let msg = err.to_string();
        assert!(msg.contains("`f64`") && msg.contains("`i64`"), "{msg}");
    }

    #[test]
    fn into_value_moves_unique_and_clones_shared() {
        let d = Data::new(vec![1_u8, 2, 3]);
        let keep = d.clone();
        let v: Vec<u8> = d.into_value().unwrap();
        assert_eq!(v, vec![1, 2, 3]);
        assert_eq!(keep.downcast_ref::<Vec<u8>>().unwrap(), &vec![1, 2, 3]);
        let unique = Data::new(String::from("x"));
        assert_eq!(unique.into_value::<String>().unwrap(), "x");
    }

    #[test]
    fn params_deserialize_into_declared_types() {
        let p = Data::json(serde_json::json!({"alpha": 0.1, "layers": [3, 4]}));
        let typed: Params = p.clone().into_value().unwrap();
        assert_eq!(
            typed,
            Params {
                alpha: 0.1,
                layers: vec![3, 4]
            }
        );
        assert_eq!(
            *p.value_arc::<serde_json::Value>().unwrap(),
            serde_json::json!({"alpha": 0.1, "layers": [3, 4]})
        );
        assert_eq!(
            Data::json(serde_json::json!(2.5))
                .into_value::<f64>()
                .unwrap(),
            2.5
        );
        let bad = Data::json(serde_json::json!("nope"))
            .into_value::<f64>()
            .unwrap_err();
        assert_eq!(bad.kind(), "invalid_parameter");
        let maps: BTreeMap<String, Vec<i32>> = Data::json(serde_json::json!({"a": [1]}))
            .into_value()
            .unwrap();
        assert_eq!(maps["a"], vec![1]);
    }

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Model {
        weights: Vec<f64>,
    }
    crate::data_value!(serde: Model);

    #[test]
    fn serde_values_round_trip_through_json() {
        let d = Data::new(Model {
            weights: vec![1.5, -2.0],
        });
        let json = d.to_json().unwrap().unwrap();
        assert_eq!(json, serde_json::json!({"weights": [1.5, -2.0]}));
        let back: Model = Data::json(json).into_value().unwrap();
        assert_eq!(back.weights, vec![1.5, -2.0]);
        let nested: BTreeMap<String, Vec<i32>> = [("a".to_owned(), vec![1])].into();
        assert_eq!(
            Data::new(nested).to_json().unwrap().unwrap(),
            serde_json::json!({"a": [1]})
        );
        assert!(Data::new(Arc::new(3_u8)).to_json().is_none());
        assert!(Data::opaque(3_u8).to_json().is_none());
    }

    #[test]
    fn opaque_values_cannot_be_copied() {
        struct NotClone;
        let d = Data::opaque(NotClone);
        assert!(!d.is_copyable());
        assert!(d.try_clone().is_none() && d.try_deep_clone().is_none());
        assert!(d.is::<NotClone>());
    }

    #[test]
    fn clone_copies_and_assign_shares() {
        let d = Data::new(vec![1.0_f64]);
        let copied = d.try_clone().unwrap();
        assert!(!copied.ptr_eq(&d));
        assert!(d.clone().ptr_eq(&d));
    }

    #[test]
    fn record_batch_deep_clone_copies_buffers() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let col = Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]));
        let batch = RecordBatch::try_new(schema, vec![col]).unwrap();
        let d = Data::new(batch.clone());
        let shallow = d.try_clone().unwrap().into_value::<RecordBatch>().unwrap();
        let deep = d
            .try_deep_clone()
            .unwrap()
            .into_value::<RecordBatch>()
            .unwrap();
        let values = |b: &RecordBatch| b.column(0).to_data().buffers()[0].as_ptr();
        assert_eq!(values(&shallow), values(&batch));
        assert_ne!(values(&deep), values(&batch));
        assert_eq!(deep, batch);
        assert_eq!(deep.column(0).len(), 3);
    }
}
