//! The map from function ids (what a [`PipelineSpec`](crate::PipelineSpec)
//! stores) back to code.

use std::collections::BTreeMap;

use crate::function::{IntoNodeFunction, NodeFunction};

/// Node functions by id, used to turn a spec into a runnable pipeline.
///
/// Registering an id that is already present replaces the earlier function:
/// the last registration wins, so a project can override a builtin or a
/// library's function without unregistering it first.
///
/// ```
/// use tandem_pipeline_core::FunctionRegistry;
///
/// fn fit(x: &Vec<f64>) -> f64 { x.iter().sum() }
/// let mut registry = FunctionRegistry::with_builtins();
/// registry.register("my_project::fit", fit);
/// assert_eq!(registry.get("my_project::fit").unwrap().id(), "my_project::fit");
/// assert!(registry.contains(FunctionRegistry::IDENTITY));
/// assert_eq!(registry.ids().collect::<Vec<_>>(), ["builtin:identity", "my_project::fit"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct FunctionRegistry {
    functions: BTreeMap<String, NodeFunction>,
}

impl FunctionRegistry {
    /// The id of the builtin that copies each input to the output at the same
    /// position; a node using it must declare as many outputs as inputs.
    pub const IDENTITY: &'static str = "builtin:identity";

    /// An empty registry.
    pub fn new() -> Self {
        FunctionRegistry::default()
    }

    /// A registry holding the builtins ([`FunctionRegistry::IDENTITY`]).
    pub fn with_builtins() -> Self {
        let mut registry = FunctionRegistry::new();
        // Variadic: the output count is only known per node, and `Node::run`
        // reports a node whose declared outputs do not match its inputs.
        registry.register_function(NodeFunction::variadic(FunctionRegistry::IDENTITY, Ok));
        registry
    }

    /// Registers `function` under `id` (which becomes the function's id),
    /// replacing any function registered under the same id.
    pub fn register<M>(
        &mut self,
        id: impl Into<String>,
        function: impl IntoNodeFunction<M>,
    ) -> &mut Self {
        let id = id.into();
        let function = function.into_node_function().with_id(id.clone());
        self.functions.insert(id, function);
        self
    }

    /// Registers `function` under its own id, replacing any function
    /// registered under the same id.
    pub fn register_function(&mut self, function: NodeFunction) -> &mut Self {
        self.functions.insert(function.id().to_owned(), function);
        self
    }

    /// The function registered under `id`.
    pub fn get(&self, id: &str) -> Option<&NodeFunction> {
        self.functions.get(id)
    }

    /// Whether a function is registered under `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.functions.contains_key(id)
    }

    /// The registered ids, sorted.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.functions.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Data;
    use crate::node::NodeBuilder;

    fn double(x: &i64) -> i64 {
        x * 2
    }

    fn triple(x: &i64) -> i64 {
        x * 3
    }

    #[test]
    fn register_sets_the_id_and_replaces_duplicates() {
        let mut registry = FunctionRegistry::new();
        registry.register("math.scale", double);
        registry.register("math.scale", triple);
        assert_eq!(registry.ids().len(), 1);
        let f = registry.get("math.scale").unwrap();
        assert_eq!(f.id(), "math.scale");
        let node = NodeBuilder::unresolved("math.scale", "x", "y")
            .build()
            .unwrap()
            .resolved(f.clone())
            .unwrap();
        let out = node.run(vec![Data::new(2i64)]).unwrap();
        assert_eq!(*out[0].downcast_ref::<i64>().unwrap(), 6);
    }

    #[test]
    fn register_function_keeps_its_id() {
        let mut registry = FunctionRegistry::new();
        registry.register_function(NodeFunction::new(double).with_id("custom"));
        assert!(registry.contains("custom"));
        assert!(registry.get("double").is_none());
    }

    fn identity_node(inputs: &[&str], outputs: &[&str]) -> crate::Node {
        let registry = FunctionRegistry::with_builtins();
        let function = registry.get(FunctionRegistry::IDENTITY).unwrap().clone();
        NodeBuilder::unresolved(FunctionRegistry::IDENTITY, inputs, outputs)
            .build()
            .unwrap()
            .resolved(function)
            .unwrap()
    }

    #[test]
    fn identity_copies_inputs_to_outputs_in_order() {
        let node = identity_node(&["a", "b"], &["c", "d"]);
        let out = node
            .run(vec![Data::new(1i64), Data::new("two".to_owned())])
            .unwrap();
        assert_eq!(*out[0].downcast_ref::<i64>().unwrap(), 1);
        assert_eq!(out[1].downcast_ref::<String>().unwrap(), "two");
    }

    #[test]
    fn identity_with_mismatched_outputs_is_an_error() {
        let node = identity_node(&["a", "b"], &["c"]);
        let err = node
            .run(vec![Data::new(1i64), Data::new(2i64)])
            .unwrap_err();
        assert_eq!(err.kind(), "node_io");
        assert!(err.to_string().contains("returned 2 output(s)"), "{err}");
    }
}
