//! What a stage that keeps services per device does when the core tells it of
//! devices — the one protocol of the mapper and the switches:
//!
//! - a NAME appears: it is known; what was heard from its address so far becomes
//!   its own (the by-address services are handed over to the NAME);
//! - an address is taken by another NAME: what was kept by that address goes;
//! - a device is identified (product, configuration): its published services
//!   show it, and what waited for it is decided;
//! - a NAME goes (gone, or a new instance makes it another NAME): its services go
//!   and it is no longer known.

use crate::can::Micros;
use crate::core::Event;
use crate::devices::Device;
use crate::model::ServiceSink;
use crate::network::Name;

use super::identity::{self, DeviceId, Identity};
use super::kind::Kind;

/// A stage's side of the protocol; [`DeviceServices::on_device_event`] runs it.
pub trait DeviceServices {
    /// `name` appeared; its identity is not known yet.
    fn know(&mut self, name: Name);
    /// The identity of `name` as the core now has it; the one kept, returned.
    fn identify(&mut self, name: Name, identity: Option<Identity>) -> Identity;
    /// `name` is gone.
    fn unknow(&mut self, name: Name);
    /// What was kept for `address` becomes `name`'s.
    fn hand_over(&mut self, now: Micros, address: u8, name: Name, sink: &dyn ServiceSink);
    /// What was kept for `id` goes, its services withdrawn.
    fn forget(&mut self, id: DeviceId, sink: &dyn ServiceSink);
    /// The published services of `id`: their names and kinds.
    fn published_of(&self, id: DeviceId) -> Vec<(String, Kind)>;
    /// What waited for `id`'s identity is decided now.
    fn settle_device(&mut self, now: Micros, id: DeviceId, sink: &dyn ServiceSink);

    /// A device's state changed in the core; `device` is the core's record of
    /// the NAME the event is about, where it still has one.
    fn on_device_event(
        &mut self,
        now: Micros,
        event: &Event,
        device: Option<&Device>,
        sink: &dyn ServiceSink,
    ) {
        match *event {
            Event::Appeared { name, address } => {
                self.know(name);
                if let Some(a) = address {
                    self.hand_over(now, a, name, sink);
                }
            }
            Event::AddressChanged { to: Some(a), .. } => {
                self.forget(DeviceId::Address(a), sink);
            }
            Event::Identified { name } | Event::IdentityUpdated { name } => {
                let identity = self.identify(
                    name,
                    device.map(|d| Identity {
                        product: d.product.clone(),
                        config: d.config.clone(),
                    }),
                );
                let id = DeviceId::Name(name);
                for (service, kind) in self.published_of(id) {
                    for (path, v) in identity::product_paths(id, kind, &identity) {
                        sink.set(&service, path, v);
                    }
                }
                self.settle_device(now, id, sink);
            }
            Event::InstanceChanged { old: name, .. } | Event::Gone { name } => {
                self.forget(DeviceId::Name(name), sink);
                self.unknow(name);
            }
            _ => {}
        }
    }
}
