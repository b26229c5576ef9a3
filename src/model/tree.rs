//! A service's object tree, held as one sorted table of leaves.
//!
//! Every D-Bus object of a service — `/`, the intermediate nodes and the leaves — is
//! answered from this table: a node is simply a path prefix of some leaf. Nothing is
//! registered per path, so a service of a thousand items costs a thousand table
//! entries and nothing more.

use std::collections::BTreeMap;
use std::ops::Bound;

use thiserror::Error;

use super::item::Item;
use super::value::Value;

/// A path that cannot be an item of a service.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PathError {
    #[error("`{0}`: an item path starts with `/` and has non-empty segments of [A-Za-z0-9_]")]
    Malformed(String),
    #[error("`{0}` would be both a value and a node of the tree")]
    LeafAndNode(String),
}

/// What an object path names in a tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Object<'t> {
    /// `/`.
    Root,
    /// A path that has items below it.
    Node,
    /// A path that holds a value.
    Leaf(&'t Item),
}

/// The items of one service, by full path (`/Dc/0/Voltage`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemTree {
    items: BTreeMap<String, Item>,
}

/// Checks that `path` can be an object path of a leaf.
pub fn check_path(path: &str) -> Result<(), PathError> {
    let ok = path.len() > 1
        && path.starts_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(PathError::Malformed(path.to_owned()))
    }
}

impl ItemTree {
    /// An empty tree.
    pub fn new() -> ItemTree {
        ItemTree::default()
    }

    /// Adds or replaces the item at `path`.
    pub fn insert(&mut self, path: impl Into<String>, item: Item) -> Result<(), PathError> {
        let path = path.into();
        check_path(&path)?;
        if !self.items.contains_key(&path) {
            // A new leaf may neither sit below a leaf nor above other items.
            let mut prefix = path.as_str();
            while let Some(cut) = prefix.rfind('/').filter(|&c| c > 0) {
                prefix = &prefix[..cut];
                if self.items.contains_key(prefix) {
                    return Err(PathError::LeafAndNode(prefix.to_owned()));
                }
            }
            if self.is_node(&path) {
                return Err(PathError::LeafAndNode(path));
            }
        }
        self.items.insert(path, item);
        Ok(())
    }

    /// The same tree with `item` at `path`; for building trees in one expression.
    pub fn with(mut self, path: &str, item: Item) -> Result<ItemTree, PathError> {
        self.insert(path, item)?;
        Ok(self)
    }

    /// The item at `path`.
    pub fn get(&self, path: &str) -> Option<&Item> {
        self.items.get(path)
    }

    /// Sets the value at `path`; returns whether it changed. Unknown paths are ignored.
    pub fn set(&mut self, path: &str, value: Value) -> bool {
        match self.items.get_mut(path) {
            Some(item) if item.value != value => {
                item.value = value;
                true
            }
            _ => false,
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every leaf in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Item)> {
        self.items.iter().map(|(p, i)| (p.as_str(), i))
    }

    /// What `path` names, if anything.
    pub fn object(&self, path: &str) -> Option<Object<'_>> {
        if path == "/" {
            return Some(Object::Root);
        }
        if let Some(item) = self.items.get(path) {
            return Some(Object::Leaf(item));
        }
        self.is_node(path).then_some(Object::Node)
    }

    fn is_node(&self, path: &str) -> bool {
        self.below(path).next().is_some()
    }

    /// The leaves under the node `path` (`/` for all), with their path relative to it.
    pub fn below<'t>(&'t self, path: &str) -> impl Iterator<Item = (&'t str, &'t Item)> + 't {
        let prefix = if path == "/" {
            "/".to_owned()
        } else {
            format!("{path}/")
        };
        let skip = prefix.len();
        self.items
            .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(move |(p, _)| p.starts_with(prefix.as_str()))
            .map(move |(p, i)| (&p[skip..], i))
    }

    /// The names of the direct children of `path`, in order, each once.
    pub fn children(&self, path: &str) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (rel, _) in self.below(path) {
            let first = rel.split('/').next().unwrap_or(rel);
            if names.last() != Some(&first) {
                names.push(first);
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> ItemTree {
        ItemTree::new()
            .with("/Dc/0/Voltage", Item::measured(12.6, 2, "V"))
            .and_then(|t| t.with("/Dc/0/Current", Item::new(Value::Invalid)))
            .and_then(|t| t.with("/Dc/1/Voltage", Item::new(12.1)))
            .and_then(|t| t.with("/DeviceInstance", Item::new(3)))
            .and_then(|t| t.with("/Dcx", Item::new(1)))
            .expect("valid tree")
    }

    #[test]
    fn objects_are_root_nodes_and_leaves() {
        let t = tree();
        assert_eq!(t.object("/"), Some(Object::Root));
        assert_eq!(t.object("/Dc"), Some(Object::Node));
        assert_eq!(t.object("/Dc/0"), Some(Object::Node));
        assert!(matches!(t.object("/Dc/0/Voltage"), Some(Object::Leaf(_))));
        assert_eq!(t.object("/D"), None);
        assert_eq!(t.object("/Dc/0/Voltage/x"), None);
        assert_eq!(t.object("/Dc/"), None);
    }

    #[test]
    fn subtrees_use_relative_keys() {
        let t = tree();
        let keys: Vec<_> = t.below("/Dc").map(|(k, _)| k).collect();
        assert_eq!(keys, ["0/Current", "0/Voltage", "1/Voltage"]);
        let all: Vec<_> = t.below("/").map(|(k, _)| k).collect();
        assert_eq!(all[0], "Dc/0/Current");
        assert_eq!(t.children("/"), ["Dc", "Dcx", "DeviceInstance"]);
        assert_eq!(t.children("/Dc"), ["0", "1"]);
        assert!(t.children("/DeviceInstance").is_empty());
    }

    #[test]
    fn a_path_is_a_leaf_or_a_node_never_both() {
        let mut t = tree();
        assert_eq!(
            t.insert("/Dc/0", Item::new(1)),
            Err(PathError::LeafAndNode("/Dc/0".into()))
        );
        assert_eq!(
            t.insert("/DeviceInstance/x", Item::new(1)),
            Err(PathError::LeafAndNode("/DeviceInstance".into()))
        );
        for bad in ["", "/", "Dc", "/Dc//x", "/Dc/", "/a-b", "/a b"] {
            assert_eq!(
                t.insert(bad, Item::new(1)),
                Err(PathError::Malformed(bad.into()))
            );
        }
        assert!(t.set("/Dc/1/Voltage", Value::Real(12.2)));
        assert!(!t.set("/Dc/1/Voltage", Value::Real(12.2)));
        assert!(!t.set("/Nope", Value::Real(1.0)));
    }
}
