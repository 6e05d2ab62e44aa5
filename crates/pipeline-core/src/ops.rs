//! Pipeline algebra: `+`/`|` (union), `-` (difference), `&` (intersection) and `Sum`.
//!
//! Nodes compare with Kedro's node equality, so identical nodes on both sides
//! appear once. A union can fail (two different nodes with one name, or one
//! output produced twice), so `+` and `|` yield a `Result`; difference and
//! intersection only remove nodes and cannot.

use std::collections::HashSet;
use std::iter::Sum;
use std::ops::{Add, BitAnd, BitOr, Sub};
use std::sync::Arc;

use crate::error::Error;
use crate::node::Node;
use crate::pipeline::Pipeline;

impl Pipeline {
    /// The union of both pipelines' nodes, re-validated.
    ///
    /// ```
    /// use tandem_pipeline_core::{node, Pipeline};
    /// fn f(x: &i64) -> i64 { *x }
    /// let a = Pipeline::new([node(f, "a", "b").name("n1").build().unwrap()]).unwrap();
    /// let b = Pipeline::new([node(f, "b", "c").name("n2").build().unwrap()]).unwrap();
    /// let both = (&a + &b).unwrap();
    /// assert_eq!(both.len(), 2);
    /// assert_eq!((&both - &a).len(), 1);
    /// assert_eq!((&both & &a), a);
    /// ```
    pub fn union(&self, other: &Pipeline) -> Result<Pipeline, Error> {
        if other.is_empty() {
            return Ok(self.clone());
        }
        if self.is_empty() {
            return Ok(other.clone());
        }
        let mut seen: HashSet<&Node> = HashSet::with_capacity(self.len() + other.len());
        let nodes: Vec<Arc<Node>> = self
            .node_arcs()
            .iter()
            .chain(other.node_arcs())
            .filter(|n| seen.insert(n))
            .cloned()
            .collect();
        Pipeline::from_arcs(nodes, true)
    }

    /// The nodes of `self` that are not in `other`.
    pub fn difference(&self, other: &Pipeline) -> Pipeline {
        let theirs: HashSet<&Node> = other.nodes().collect();
        self.retain(|n| !theirs.contains(n))
    }

    /// The nodes in both pipelines.
    pub fn intersection(&self, other: &Pipeline) -> Pipeline {
        let theirs: HashSet<&Node> = other.nodes().collect();
        self.retain(|n| theirs.contains(n))
    }

    fn retain(&self, keep: impl Fn(&Node) -> bool) -> Pipeline {
        let nodes = self
            .node_arcs()
            .iter()
            .filter(|n| keep(n))
            .cloned()
            .collect();
        Pipeline::from_valid(nodes)
    }
}

macro_rules! binary_ops {
    ($($lhs:ty, $rhs:ty;)+) => {$(
        impl Add<$rhs> for $lhs {
            type Output = Result<Pipeline, Error>;
            fn add(self, rhs: $rhs) -> Self::Output {
                self.union(&rhs)
            }
        }
        impl BitOr<$rhs> for $lhs {
            type Output = Result<Pipeline, Error>;
            fn bitor(self, rhs: $rhs) -> Self::Output {
                self.union(&rhs)
            }
        }
        impl Sub<$rhs> for $lhs {
            type Output = Pipeline;
            fn sub(self, rhs: $rhs) -> Pipeline {
                self.difference(&rhs)
            }
        }
        impl BitAnd<$rhs> for $lhs {
            type Output = Pipeline;
            fn bitand(self, rhs: $rhs) -> Pipeline {
                self.intersection(&rhs)
            }
        }
    )+};
}

binary_ops! {
    Pipeline, Pipeline;
    &Pipeline, &Pipeline;
    Pipeline, &Pipeline;
    &Pipeline, Pipeline;
}

/// Sums pipelines with `+`; the empty sum is the empty pipeline. All nodes are
/// gathered first and validated once, so summing many pipelines stays linear.
impl Sum<Pipeline> for Result<Pipeline, Error> {
    fn sum<I: Iterator<Item = Pipeline>>(iter: I) -> Self {
        let all: Vec<Pipeline> = iter.collect();
        union_all(all.iter())
    }
}

impl<'a> Sum<&'a Pipeline> for Result<Pipeline, Error> {
    fn sum<I: Iterator<Item = &'a Pipeline>>(iter: I) -> Self {
        union_all(iter)
    }
}

fn union_all<'a>(pipelines: impl Iterator<Item = &'a Pipeline>) -> Result<Pipeline, Error> {
    let mut seen: HashSet<&Node> = HashSet::new();
    let mut nodes: Vec<Arc<Node>> = Vec::new();
    for p in pipelines {
        for n in p.node_arcs() {
            if seen.insert(n) {
                nodes.push(Arc::clone(n));
            }
        }
    }
    Pipeline::from_arcs(nodes, true)
}
