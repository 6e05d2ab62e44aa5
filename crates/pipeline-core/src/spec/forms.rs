//! How specs map onto serde's data model: [`DatasetNames`] in any of its
//! written forms, and spec entries that are either a node or a nested
//! `pipeline:`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::{NodeSpec, PipelineSpec, SpecItem};
use crate::names::DatasetNames;

impl Serialize for DatasetNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DatasetNames::None => serializer.serialize_none(),
            DatasetNames::One(name) => serializer.serialize_str(name),
            DatasetNames::List(names) => {
                let mut seq = serializer.serialize_seq(Some(names.len()))?;
                for name in names {
                    seq.serialize_element(name)?;
                }
                seq.end()
            }
            DatasetNames::Map(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (key, name) in pairs {
                    map.serialize_entry(key, name)?;
                }
                map.end()
            }
        }
    }
}

/// Accepts a string, a list, a mapping or null, keeping the form; an empty
/// list stays a list because Kedro node equality tells `[]` from `None`.
impl<'de> Deserialize<'de> for DatasetNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NamesVisitor)
    }
}

struct NamesVisitor;

impl<'de> Visitor<'de> for NamesVisitor {
    type Value = DatasetNames;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dataset name, a list of names, a mapping of names, or null")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<DatasetNames, E> {
        Ok(DatasetNames::One(name.to_owned()))
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<DatasetNames, E> {
        Ok(DatasetNames::One(name))
    }

    fn visit_unit<E: de::Error>(self) -> Result<DatasetNames, E> {
        Ok(DatasetNames::None)
    }

    fn visit_none<E: de::Error>(self) -> Result<DatasetNames, E> {
        Ok(DatasetNames::None)
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<DatasetNames, D::Error> {
        inner.deserialize_any(NamesVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DatasetNames, A::Error> {
        let mut names = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(DatasetNames::List(names))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DatasetNames, A::Error> {
        let mut pairs: Vec<(String, String)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(key) = map.next_key::<String>()? {
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{key}` in mapping"
                )));
            }
            let name = map.next_value::<String>()?;
            pairs.push((key, name));
        }
        Ok(DatasetNames::Map(pairs))
    }
}

/// Tags may be written as one name or a list, as Kedro accepts both.
pub(super) fn tag_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    match DatasetNames::deserialize(deserializer)? {
        DatasetNames::Map(_) => Err(de::Error::custom(
            "tags must be a name or a list of names, not a mapping",
        )),
        names => Ok(names.names().into_iter().map(str::to_owned).collect()),
    }
}

struct Tags(Vec<String>);

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        tag_list(deserializer).map(Tags)
    }
}

impl Serialize for SpecItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SpecItem::Node(n) => n.serialize(serializer),
            SpecItem::Pipeline(p) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("pipeline", p)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for SpecItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ItemVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ItemKey {
    Name,
    Func,
    Inputs,
    Outputs,
    Tags,
    Namespace,
    Pipeline,
}

/// Reads a node or a `pipeline:` entry key by key, so that errors point at
/// the offending key rather than at the end of the entry.
struct ItemVisitor;

impl ItemVisitor {
    fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, key: &'static str) -> Result<(), E> {
        if slot.is_some() {
            return Err(E::duplicate_field(key));
        }
        *slot = Some(value);
        Ok(())
    }
}

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = SpecItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a node (a mapping with `func`) or a nested pipeline (`pipeline: {...}`)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpecItem, A::Error> {
        let mut name = None;
        let mut func = None;
        let mut inputs = None;
        let mut outputs = None;
        let mut tags = None;
        let mut namespace = None;
        let mut nested: Option<PipelineSpec> = None;
        let mut node_key: Option<&'static str> = None;
        while let Some(key) = map.next_key::<ItemKey>()? {
            let label = match key {
                ItemKey::Name => "name",
                ItemKey::Func => "func",
                ItemKey::Inputs => "inputs",
                ItemKey::Outputs => "outputs",
                ItemKey::Tags => "tags",
                ItemKey::Namespace => "namespace",
                ItemKey::Pipeline => "pipeline",
            };
            let mixed = match key {
                ItemKey::Pipeline => node_key,
                _ if nested.is_some() => Some(label),
                _ => {
                    node_key = Some(label);
                    None
                }
            };
            if let Some(found) = mixed {
                return Err(de::Error::custom(format_args!(
                    "a `pipeline` entry cannot also have node keys (found `{found}`); \
                     put the options inside the `pipeline` mapping"
                )));
            }
            match key {
                ItemKey::Name => Self::set(&mut name, map.next_value::<String>()?, label)?,
                ItemKey::Func => Self::set(&mut func, map.next_value::<String>()?, label)?,
                ItemKey::Inputs => Self::set(&mut inputs, map.next_value()?, label)?,
                ItemKey::Outputs => Self::set(&mut outputs, map.next_value()?, label)?,
                ItemKey::Tags => Self::set(&mut tags, map.next_value::<Tags>()?.0, label)?,
                ItemKey::Namespace => {
                    Self::set(&mut namespace, map.next_value::<String>()?, label)?;
                }
                ItemKey::Pipeline => Self::set(&mut nested, map.next_value()?, label)?,
            }
        }
        if let Some(nested) = nested {
            return Ok(SpecItem::Pipeline(nested));
        }
        let func = func.ok_or_else(|| de::Error::missing_field("func"))?;
        Ok(SpecItem::Node(NodeSpec {
            name,
            func,
            inputs: inputs.unwrap_or_default(),
            outputs: outputs.unwrap_or_default(),
            tags: tags.unwrap_or_default(),
            namespace,
        }))
    }
}
