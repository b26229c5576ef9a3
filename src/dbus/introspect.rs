//! Introspection data for every object of a service.
//!
//! The `dbus` CLI on Venus and `dbus-spy --introspect` find items only by walking
//! `Introspect` from `/` through each `<node name>`, so every object lists its
//! members and its direct children (`docs/architecture.md#objects-and-members`).

use std::fmt::Write;

use crate::model::tree::{ItemTree, Object};

const HEADER: &str = "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n";

const STANDARD: &str = r#"  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg direction="out" type="s"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg direction="out" type="s"/>
    </method>
  </interface>
"#;

/// One argument: name (empty for none), direction (empty for signals), type.
type Arg = (&'static str, &'static str, &'static str);

const OUT_V: &[Arg] = &[("", "out", "v")];
const CHANGES: &[Arg] = &[("changes", "", "a{sa{sv}}")];
const SET_VALUE: &[Arg] = &[("newvalue", "in", "v"), ("", "out", "i")];
const GET_DESCRIPTION: &[Arg] = &[
    ("language", "in", "s"),
    ("length", "in", "i"),
    ("", "out", "s"),
];

/// Writes a `<method>` or `<signal>` element.
fn member(out: &mut String, kind: &str, name: &str, args: &[Arg]) {
    let _ = writeln!(out, "    <{kind} name=\"{name}\">");
    for (arg, direction, ty) in args {
        out.push_str("      <arg");
        if !arg.is_empty() {
            let _ = write!(out, " name=\"{arg}\"");
        }
        if !direction.is_empty() {
            let _ = write!(out, " direction=\"{direction}\"");
        }
        let _ = writeln!(out, " type=\"{ty}\"/>");
    }
    let _ = writeln!(out, "    </{kind}>");
}

/// The introspection XML of `path`, or `None` when the tree has no such object.
pub fn xml(tree: &ItemTree, path: &str) -> Option<String> {
    let object = tree.object(path)?;
    let mut out = String::with_capacity(2048);
    out.push_str(HEADER);
    let _ = writeln!(out, "<node name=\"{path}\">");
    out.push_str(STANDARD);
    out.push_str("  <interface name=\"com.victronenergy.BusItem\">\n");
    let o = &mut out;
    match object {
        Object::Root | Object::Node => {
            if object == Object::Root {
                member(o, "method", "GetItems", &[("", "out", "a{sa{sv}}")]);
            }
            member(o, "method", "GetValue", OUT_V);
            member(o, "method", "GetText", OUT_V);
            if object == Object::Root {
                member(o, "signal", "ItemsChanged", CHANGES);
            }
        }
        Object::Leaf(item) => {
            member(o, "method", "GetValue", OUT_V);
            member(o, "method", "GetText", &[("", "out", "s")]);
            member(o, "method", "SetValue", SET_VALUE);
            member(o, "method", "GetDescription", GET_DESCRIPTION);
            for (name, present) in [
                ("GetMin", item.min.is_some()),
                ("GetMax", item.max.is_some()),
                ("GetDefault", item.default.is_some()),
            ] {
                if present {
                    member(o, "method", name, OUT_V);
                }
            }
            member(
                o,
                "signal",
                "PropertiesChanged",
                &[("changes", "", "a{sv}")],
            );
        }
    }
    out.push_str("  </interface>\n");
    for child in tree.children(path) {
        let _ = writeln!(out, "  <node name=\"{child}\"/>");
    }
    out.push_str("</node>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Item;

    #[test]
    fn lists_members_and_direct_children() {
        let tree = ItemTree::new()
            .with("/Dc/0/Voltage", Item::new(1.0))
            .and_then(|t| t.with("/Mgmt/ProcessName", Item::new("x")))
            .and_then(|t| t.with("/Soc", Item::new(1.0).with_range(0, 100)))
            .expect("valid");
        let root = xml(&tree, "/").expect("root");
        assert!(root.contains("<method name=\"GetItems\">"));
        assert!(
            root.contains("<node name=\"Dc\"/>\n  <node name=\"Mgmt\"/>\n  <node name=\"Soc\"/>")
        );
        let node = xml(&tree, "/Dc").expect("node");
        assert!(node.contains("<node name=\"0\"/>") && !node.contains("GetItems"));
        let leaf = xml(&tree, "/Soc").expect("leaf");
        assert!(
            leaf.contains("SetValue") && leaf.contains("GetMin") && !leaf.contains("GetDefault")
        );
        assert_eq!(
            leaf.matches("<node name=").count(),
            1,
            "only the leaf itself"
        );
        assert_eq!(xml(&tree, "/Nope"), None);
    }
}
