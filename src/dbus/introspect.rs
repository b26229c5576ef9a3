//! Introspection data for every object of a service.
//!
//! The `dbus` CLI on Venus and `dbus-spy --introspect` find items only by walking
//! `Introspect` from `/` through each `<node name>`, so every object lists its
//! members and its direct children (`victron-dbus.md` §2.2).

use std::fmt::Write;

use super::tree::{ItemTree, Object};

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

const ROOT: &str = r#"  <interface name="com.victronenergy.BusItem">
    <method name="GetItems">
      <arg direction="out" type="a{sa{sv}}"/>
    </method>
    <method name="GetValue">
      <arg direction="out" type="v"/>
    </method>
    <method name="GetText">
      <arg direction="out" type="v"/>
    </method>
    <signal name="ItemsChanged">
      <arg name="changes" type="a{sa{sv}}"/>
    </signal>
  </interface>
"#;

const NODE: &str = r#"  <interface name="com.victronenergy.BusItem">
    <method name="GetValue">
      <arg direction="out" type="v"/>
    </method>
    <method name="GetText">
      <arg direction="out" type="v"/>
    </method>
  </interface>
"#;

const LEAF_START: &str = r#"  <interface name="com.victronenergy.BusItem">
    <method name="GetValue">
      <arg direction="out" type="v"/>
    </method>
    <method name="GetText">
      <arg direction="out" type="s"/>
    </method>
    <method name="SetValue">
      <arg name="newvalue" direction="in" type="v"/>
      <arg direction="out" type="i"/>
    </method>
    <method name="GetDescription">
      <arg name="language" direction="in" type="s"/>
      <arg name="length" direction="in" type="i"/>
      <arg direction="out" type="s"/>
    </method>
"#;

const LEAF_END: &str = r#"    <signal name="PropertiesChanged">
      <arg name="changes" type="a{sv}"/>
    </signal>
  </interface>
"#;

/// The introspection XML of `path`, or `None` when the tree has no such object.
pub fn xml(tree: &ItemTree, path: &str) -> Option<String> {
    let object = tree.object(path)?;
    let mut out = String::with_capacity(2048);
    out.push_str(HEADER);
    let _ = writeln!(out, "<node name=\"{path}\">");
    out.push_str(STANDARD);
    match object {
        Object::Root => out.push_str(ROOT),
        Object::Node => out.push_str(NODE),
        Object::Leaf(item) => {
            out.push_str(LEAF_START);
            for (name, present) in [
                ("GetMin", item.min.is_some()),
                ("GetMax", item.max.is_some()),
                ("GetDefault", item.default.is_some()),
            ] {
                if present {
                    let _ = writeln!(
                        out,
                        "    <method name=\"{name}\">\n      <arg direction=\"out\" type=\"v\"/>\n    </method>"
                    );
                }
            }
            out.push_str(LEAF_END);
        }
    }
    for child in tree.children(path) {
        let _ = writeln!(out, "  <node name=\"{child}\"/>");
    }
    out.push_str("</node>\n");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbus::item::Item;

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
