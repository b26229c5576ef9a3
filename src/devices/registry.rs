//! The devices known to the gateway, by NAME, and the addresses heard without one.
//!
//! Memory is bounded whatever the bus sends: one [`Heard`] slot per address, at most
//! [`MAX_DEVICES`] devices on the bus (an address each, or none for a while after
//! losing one) and at most [`MAX_GONE`] remembered gone devices, the oldest forgotten
//! first.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::can::Micros;
use crate::network::table::ADDRESSES;
use crate::network::Name;

use super::device::{Device, Heard, Lifecycle};

/// Devices on the bus at most: every address, and as many again between addresses.
pub const MAX_DEVICES: usize = 2 * ADDRESSES;
/// Gone devices remembered, so that a returning device is the same device.
pub const MAX_GONE: usize = 256;

/// Hashes a NAME by multiplying it with a large odd constant: deterministic (replays
/// give the same iteration order) and cheap on the per-frame path.
#[derive(Default)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type NameMap<V> = HashMap<Name, V, BuildHasherDefault<NameHasher>>;

/// Devices by NAME and unnamed addresses.
pub struct Registry {
    devices: NameMap<Device>,
    heard: Box<[Option<Heard>; ADDRESSES]>,
    online: usize,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            devices: NameMap::default(),
            heard: Box::new([None; ADDRESSES]),
            online: 0,
        }
    }
}

/// What [`Registry::name_device`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// First seen, or back after being gone.
    Appeared,
    /// Already online; only its address may have changed.
    Known,
}

impl Registry {
    /// The device with this NAME, gone or not.
    pub fn get(&self, name: Name) -> Option<&Device> {
        self.devices.get(&name)
    }

    pub(crate) fn get_mut(&mut self, name: Name) -> Option<&mut Device> {
        self.devices.get_mut(&name)
    }

    /// Every device, gone ones included, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Device> {
        self.devices.values_mut()
    }

    /// Devices on the bus.
    pub fn online(&self) -> usize {
        self.online
    }

    /// What is known of `address` while it has no NAME.
    pub fn heard(&self, address: u8) -> Option<&Heard> {
        self.heard.get(usize::from(address))?.as_ref()
    }

    pub(crate) fn heard_mut(&mut self, address: u8) -> Option<&mut Heard> {
        self.heard.get_mut(usize::from(address))?.as_mut()
    }

    /// Every address heard without a NAME.
    pub fn heard_iter(&self) -> impl Iterator<Item = (u8, &Heard)> {
        self.heard
            .iter()
            .enumerate()
            .filter_map(|(a, h)| h.as_ref().map(|h| (a as u8, h)))
    }

    /// A frame from `address`, whose NAME is unknown. Returns true when the address
    /// is new.
    pub(crate) fn hear_unnamed(&mut self, now: Micros, address: u8) -> bool {
        let Some(slot) = self.heard.get_mut(usize::from(address)) else {
            return false;
        };
        match slot {
            Some(h) => {
                h.last_heard = now;
                h.frames += 1;
                false
            }
            None => {
                *slot = Some(Heard {
                    first_heard: now,
                    last_heard: now,
                    frames: 1,
                    name_tries: Default::default(),
                });
                true
            }
        }
    }

    /// Forgets an unnamed address.
    pub(crate) fn forget_heard(&mut self, address: u8) {
        if let Some(s) = self.heard.get_mut(usize::from(address)) {
            *s = None;
        }
    }

    /// `name` is at `address` (or nowhere for now): create it, bring it back, or
    /// update it.
    pub(crate) fn name_device(&mut self, now: Micros, name: Name, address: Option<u8>) -> Naming {
        if let Some(a) = address {
            self.forget_heard(a);
        }
        if let Some(d) = self.devices.get_mut(&name) {
            d.address = address;
            d.last_heard = now;
            d.probes = Default::default();
            if d.lifecycle != Lifecycle::Gone {
                return Naming::Known;
            }
            // Back: the same device, asked again for what may have changed.
            d.lifecycle = Lifecycle::Named;
            d.named_at = now;
            d.product_tries = Default::default();
            d.config_tries = Default::default();
            self.online += 1;
            self.bound_online(name);
            return Naming::Appeared;
        }
        self.devices.insert(name, Device::new(name, address, now));
        self.online += 1;
        self.bound_online(name);
        self.bound_gone();
        Naming::Appeared
    }

    /// Marks a device gone; returns its address, which is now free.
    pub(crate) fn set_gone(&mut self, name: Name) -> Option<u8> {
        let d = self.devices.get_mut(&name)?;
        if d.lifecycle == Lifecycle::Gone {
            return None;
        }
        d.lifecycle = Lifecycle::Gone;
        self.online -= 1;
        let a = d.address.take();
        self.bound_gone();
        a
    }

    /// Over [`MAX_DEVICES`] online: the longest-silent device without an address goes
    /// (one with an address holds one of the 254 slots, so there is always such a one).
    fn bound_online(&mut self, keep: Name) {
        if self.online <= MAX_DEVICES {
            return;
        }
        let victim = self
            .devices
            .values()
            .filter(|d| d.online() && d.address.is_none() && d.name != keep)
            .min_by_key(|d| (d.last_heard, d.name))
            .map(|d| d.name);
        if let Some(v) = victim {
            self.set_gone(v);
        }
    }

    fn bound_gone(&mut self) {
        let gone = self.devices.len() - self.online;
        if gone <= MAX_GONE {
            return;
        }
        let victim = self
            .devices
            .values()
            .filter(|d| !d.online())
            .min_by_key(|d| (d.last_heard, d.name))
            .map(|d| d.name);
        if let Some(v) = victim {
            self.devices.remove(&v);
        }
    }

    /// Remembered devices, gone ones included.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}
