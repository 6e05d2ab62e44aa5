//! Node functions: ordinary typed Rust functions behind one type-erased call.
//!
//! Any `Fn` whose arguments are `&T` (borrowed from the shared value), `&[T]`
//! or `&str` (borrowed from a stored `Vec<T>` or `String`), `T` (moved out
//! when the node holds the only handle, cloned otherwise), `&Data` or `Data`
//! (untyped), for up to ten arguments, and whose result is a single
//! [`DataValue`], a tuple of them, `()`, or a `Result` of those, converts into a
//! [`NodeFunction`] with [`IntoNodeFunction`]. The marker type parameter only
//! exists to let the compiler pick the right conversion; callers never name it.

use std::fmt;
use std::sync::Arc;

use crate::data::{Data, DataValue};
use crate::error::{BoxError, Error};

/// Marker: an argument taken by reference (`&T`).
pub struct ByRef;
/// Marker: an argument taken by value (`T`).
pub struct ByValue;
/// Marker: a slice borrowed from a stored `Vec<T>` (`&[T]`).
pub struct SliceRef;
/// Marker: a string slice borrowed from a stored `String` (`&str`).
pub struct StrRef;
/// Marker: an untyped argument (`Data`).
pub struct Raw;
/// Marker: an untyped argument by reference (`&Data`).
pub struct RawRef;

/// How one function argument is obtained from the [`Data`] bound to it.
///
/// `Held` lives for the duration of the call; `Item` borrows from it, which is
/// what lets `fn(&A)` borrow the shared value without copying it.
pub trait Arg<Marker> {
    /// What is kept alive during the call.
    type Held;
    /// What the function receives.
    type Item<'h>;
    /// Checks the value's type (deserializing JSON parameters) before the call.
    fn hold(data: Data) -> Result<Self::Held, Error>;
    /// Hands the argument to the function; called exactly once per `hold`.
    fn get(held: &mut Self::Held) -> Self::Item<'_>;
}

impl<T: DataValue> Arg<ByRef> for &T {
    type Held = Arc<T>;
    type Item<'h> = &'h T;
    fn hold(data: Data) -> Result<Arc<T>, Error> {
        data.value_arc::<T>()
    }
    fn get(held: &mut Arc<T>) -> &T {
        held
    }
}

impl<T: DataValue> Arg<ByValue> for T {
    type Held = Option<T>;
    type Item<'h> = T;
    fn hold(data: Data) -> Result<Option<T>, Error> {
        data.into_value::<T>().map(Some)
    }
    fn get(held: &mut Option<T>) -> T {
        held.take()
            .expect("tandem invariant: an argument is handed to its function once")
    }
}

impl<T: DataValue> Arg<SliceRef> for &[T] {
    type Held = Arc<Vec<T>>;
    type Item<'h> = &'h [T];
    fn hold(data: Data) -> Result<Arc<Vec<T>>, Error> {
        data.value_arc::<Vec<T>>()
    }
    fn get(held: &mut Arc<Vec<T>>) -> &[T] {
        held.as_slice()
    }
}

impl Arg<StrRef> for &str {
    type Held = Arc<String>;
    type Item<'h> = &'h str;
    fn hold(data: Data) -> Result<Arc<String>, Error> {
        data.value_arc::<String>()
    }
    fn get(held: &mut Arc<String>) -> &str {
        held.as_str()
    }
}

impl Arg<Raw> for Data {
    type Held = Option<Data>;
    type Item<'h> = Data;
    fn hold(data: Data) -> Result<Option<Data>, Error> {
        Ok(Some(data))
    }
    fn get(held: &mut Option<Data>) -> Data {
        held.take()
            .expect("tandem invariant: an argument is handed to its function once")
    }
}

impl Arg<RawRef> for &Data {
    type Held = Data;
    type Item<'h> = &'h Data;
    fn hold(data: Data) -> Result<Data, Error> {
        Ok(data)
    }
    fn get(held: &mut Data) -> &Data {
        held
    }
}

/// What a node function returns, turned into positional outputs.
pub trait IntoOutputs {
    /// How many outputs the function produces.
    const COUNT: usize;
    /// The outputs, or the function's own error.
    fn into_outputs(self) -> Result<Vec<Data>, BoxError>;
}

impl<T: DataValue> IntoOutputs for T {
    const COUNT: usize = 1;
    fn into_outputs(self) -> Result<Vec<Data>, BoxError> {
        Ok(vec![Data::new(self)])
    }
}

impl IntoOutputs for Data {
    const COUNT: usize = 1;
    fn into_outputs(self) -> Result<Vec<Data>, BoxError> {
        Ok(vec![self])
    }
}

impl IntoOutputs for () {
    const COUNT: usize = 0;
    fn into_outputs(self) -> Result<Vec<Data>, BoxError> {
        Ok(Vec::new())
    }
}

impl<X: IntoOutputs, E: Into<BoxError>> IntoOutputs for Result<X, E> {
    const COUNT: usize = X::COUNT;
    fn into_outputs(self) -> Result<Vec<Data>, BoxError> {
        self.map_err(Into::into).and_then(X::into_outputs)
    }
}

macro_rules! tuple_outputs {
    ($n:expr; $($t:ident $v:ident),+) => {
        impl<$($t: DataValue),+> IntoOutputs for ($($t,)+) {
            const COUNT: usize = $n;
            fn into_outputs(self) -> Result<Vec<Data>, BoxError> {
                let ($($v,)+) = self;
                Ok(vec![$(Data::new($v)),+])
            }
        }
    };
}

tuple_outputs!(2; A a, B b);
tuple_outputs!(3; A a, B b, C c);
tuple_outputs!(4; A a, B b, C c, D d);
tuple_outputs!(5; A a, B b, C c, D d, E e);
tuple_outputs!(6; A a, B b, C c, D d, E e, F f);
tuple_outputs!(7; A a, B b, C c, D d, E e, F f, G g);
tuple_outputs!(8; A a, B b, C c, D d, E e, F f, G g, H h);

/// Why a call did not produce outputs.
pub(crate) enum CallError {
    /// The input at this position has the wrong type.
    Input(usize, Error),
    /// The function itself failed.
    Failed(BoxError),
}

type CallFn = dyn Fn(Vec<Data>) -> Result<Vec<Data>, CallError> + Send + Sync;

struct Inner {
    id: String,
    inputs: Option<usize>,
    outputs: Option<usize>,
    params: Option<Vec<String>>,
    call: Arc<CallFn>,
}

/// A type-erased node function with its id, its arity and (optionally) its
/// parameter names, which `inputs` mappings bind to.
///
/// ```
/// use tandem_pipeline_core::{Data, NodeFunction};
///
/// fn scale(x: &f64, factor: f64) -> f64 { x * factor }
/// let f = NodeFunction::new(scale).with_params(["x", "factor"]);
/// assert!(f.id().ends_with("scale"));
/// assert_eq!(f.input_count(), Some(2));
/// ```
#[derive(Clone)]
pub struct NodeFunction {
    inner: Arc<Inner>,
}

impl NodeFunction {
    /// Wraps a typed function; its id defaults to its Rust path
    /// (`std::any::type_name`), e.g. `my_project::fit_scaler`.
    pub fn new<M>(f: impl IntoNodeFunction<M>) -> Self {
        f.into_node_function()
    }

    /// A function over untyped values taking any number of inputs.
    ///
    /// It must return as many outputs as the node declares; the node checks
    /// this when it runs.
    pub fn variadic(
        id: impl Into<String>,
        f: impl Fn(Vec<Data>) -> Result<Vec<Data>, BoxError> + Send + Sync + 'static,
    ) -> Self {
        NodeFunction {
            inner: Arc::new(Inner {
                id: id.into(),
                inputs: None,
                outputs: None,
                params: None,
                call: Arc::new(move |inputs| f(inputs).map_err(CallError::Failed)),
            }),
        }
    }

    fn typed(
        id: &str,
        inputs: usize,
        outputs: usize,
        call: impl Fn(Vec<Data>) -> Result<Vec<Data>, CallError> + Send + Sync + 'static,
    ) -> Self {
        NodeFunction {
            inner: Arc::new(Inner {
                id: id.to_owned(),
                inputs: Some(inputs),
                outputs: Some(outputs),
                params: None,
                call: Arc::new(call),
            }),
        }
    }

    /// Sets the id under which the function is serialized and registered.
    pub fn with_id(self, id: impl Into<String>) -> Self {
        self.rebuild(|inner| inner.id = id.into())
    }

    /// Declares the function's parameter names, in order, so that nodes can
    /// bind inputs by name (`{x: x_train, factor: params:factor}`).
    pub fn with_params<S: Into<String>>(self, names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        self.rebuild(|inner| inner.params = Some(names))
    }

    fn rebuild(self, edit: impl FnOnce(&mut Inner)) -> Self {
        let old = &self.inner;
        let mut inner = Inner {
            id: old.id.clone(),
            inputs: old.inputs,
            outputs: old.outputs,
            params: old.params.clone(),
            call: Arc::clone(&old.call),
        };
        edit(&mut inner);
        NodeFunction {
            inner: Arc::new(inner),
        }
    }

    /// The function id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The short name used in default node names: the last path segment of the id.
    pub fn short_name(&self) -> String {
        short_name(&self.inner.id)
    }

    /// The number of inputs, or `None` for a variadic function.
    pub fn input_count(&self) -> Option<usize> {
        self.inner.inputs
    }

    /// The number of outputs, or `None` when it depends on the node.
    pub fn output_count(&self) -> Option<usize> {
        self.inner.outputs
    }

    /// The declared parameter names, if any.
    pub fn params(&self) -> Option<&[String]> {
        self.inner.params.as_deref()
    }

    pub(crate) fn call(&self, inputs: Vec<Data>) -> Result<Vec<Data>, CallError> {
        (self.inner.call)(inputs)
    }
}

impl fmt::Debug for NodeFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeFunction")
            .field("id", &self.inner.id)
            .field("inputs", &self.inner.inputs)
            .field("outputs", &self.inner.outputs)
            .finish()
    }
}

/// The last segment of a function id (`a::b::fit` → `fit`, `builtin:identity`
/// → `identity`), with characters that are not valid in node names replaced.
pub(crate) fn short_name(id: &str) -> String {
    let last = id.rsplit([':', '.']).find(|s| !s.is_empty()).unwrap_or(id);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        // Nothing to clean (the common case): one copy.
        return last.to_owned();
    }
    let cleaned: String = last
        .chars()
        .filter(|c| !matches!(c, '{' | '}'))
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "node".to_owned()
    } else {
        cleaned
    }
}

/// Conversion of a typed function into a [`NodeFunction`].
///
/// Implemented for `Fn`s of up to ten arguments; see the module docs for the
/// accepted argument and return types.
pub trait IntoNodeFunction<Marker> {
    /// Performs the conversion.
    fn into_node_function(self) -> NodeFunction;
}

impl IntoNodeFunction<NodeFunction> for NodeFunction {
    fn into_node_function(self) -> NodeFunction {
        self
    }
}

macro_rules! typed_function {
    ($n:expr; $($a:ident $m:ident $h:ident),*) => {
        impl<Func, Ret, $($a, $m,)*> IntoNodeFunction<(Ret, $($a, $m,)*)> for Func
        where
            Ret: IntoOutputs,
            $($a: Arg<$m>,)*
            Func: Fn($($a),*) -> Ret
                + for<'h> Fn($(<$a as Arg<$m>>::Item<'h>),*) -> Ret
                + Send
                + Sync
                + 'static,
        {
            #[allow(unused_variables, unused_mut, unused_assignments, non_snake_case)]
            fn into_node_function(self) -> NodeFunction {
                let id = std::any::type_name::<Func>();
                NodeFunction::typed(id, $n, Ret::COUNT, move |inputs: Vec<Data>| {
                    let mut inputs = inputs.into_iter();
                    let mut position = 0usize;
                    $(
                        let mut $h = match inputs.next() {
                            Some(data) => <$a as Arg<$m>>::hold(data)
                                .map_err(|e| CallError::Input(position, e))?,
                            None => return Err(CallError::Input(position, Error::InvalidNode {
                                node: None,
                                message: "missing input".to_owned(),
                            })),
                        };
                        position += 1;
                    )*
                    let ret = (self)($(<$a as Arg<$m>>::get(&mut $h)),*);
                    ret.into_outputs().map_err(CallError::Failed)
                })
            }
        }
    };
}

typed_function!(0;);
typed_function!(1; A1 M1 h1);
typed_function!(2; A1 M1 h1, A2 M2 h2);
typed_function!(3; A1 M1 h1, A2 M2 h2, A3 M3 h3);
typed_function!(4; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4);
typed_function!(5; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5);
typed_function!(6; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5, A6 M6 h6);
typed_function!(7; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5, A6 M6 h6, A7 M7 h7);
typed_function!(8; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5, A6 M6 h6, A7 M7 h7, A8 M8 h8);
typed_function!(9; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5, A6 M6 h6, A7 M7 h7, A8 M8 h8, A9 M9 h9);
typed_function!(10; A1 M1 h1, A2 M2 h2, A3 M3 h3, A4 M4 h4, A5 M5 h5, A6 M6 h6, A7 M7 h7, A8 M8 h8, A9 M9 h9, A10 M10 h10);
