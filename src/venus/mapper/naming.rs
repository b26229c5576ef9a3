//! A service's name and its complete spec: every path, invalid where unknown, with
//! the identity and settings Venus asks for.

use super::*;

/// The complete service as first published.
pub(super) fn spec(
    cfg: &MapperConfig,
    id: DeviceId,
    s: &Service,
    identity: &Identity,
) -> ServiceSpec {
    let preferred = match (s.kind.is_channel(), id) {
        (true, _) => s.data_instance.map_or(0, u32::from),
        (false, DeviceId::Name(n)) => u32::from(n.device_instance()),
        (false, DeviceId::Address(_)) => 0,
    };
    let mut items = ItemTree::new();
    let mut add = |path: &str, item: Item| {
        if let Err(e) = items.insert(path, item) {
            tracing::warn!(service = %s.name, "{e}");
        }
    };
    for (path, item) in identity::generic_items(id, s.kind, identity, s.data_instance, preferred) {
        add(path, item);
    }
    for (p, v) in s.kind.paths().iter().zip(&s.shown) {
        let mut item = Item::new(v.clone()).with_format(p.format);
        if p.path == "/TemperatureType" {
            // A user setting in Victron's drivers: the default follows the source.
            item = item
                .writable(WriteRule::Integer)
                .with_range(0, 6)
                .with_default(v.clone());
        }
        add(p.path, item);
    }
    let mut spec = ServiceSpec::new(s.name.clone(), items);
    spec.settings = Some(DeviceSettings {
        uid: identity::settings_uid(
            &identity::bus_element(&cfg.iface),
            id,
            s.kind,
            s.suffix.as_deref(),
        ),
        class: s.kind.class().to_owned(),
        preferred_instance: preferred,
    });
    spec
}
