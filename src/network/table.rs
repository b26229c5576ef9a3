//! The network table: which NAME each source address belongs to.
//!
//! It follows claims (docs/nmea2000.md#address-claim (step 6)): a known NAME on a new address moves,
//! a new NAME on a known address is an instance change (the same device, other
//! instance fields) or a contention (two devices claimed one address). It also spots
//! the same NAME sending from two addresses: after a NAME moves away, traffic from
//! its old address that nobody claimed means two nodes share the NAME.

use crate::can::Micros;

use super::Name;

/// Addresses 0–253 can be sources; 254 is the null address, 255 broadcast.
pub const ADDRESSES: usize = 254;

/// Frames from a vacated address this soon after the move were already on their way.
const VACATE_GRACE: Micros = 250_000;

/// What a claim changed in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimChange {
    /// The address was free and the NAME new to the table.
    New,
    /// Nothing: the NAME already held this address.
    Same,
    /// The NAME moved here from `from`.
    Moved { from: u8 },
    /// The same device changed its instance fields: `old` is its previous NAME.
    InstanceChanged { old: Name },
    /// Another NAME held the address; its holder now has none (and claims elsewhere,
    /// or defends the address with a claim of its own).
    Contention { previous: Name },
}

/// Whose a frame from a vacated address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Sent before its NAME moved away.
    InFlight(Name),
    /// A second node with this NAME sends from the address.
    Duplicate(Name),
}

/// Source address → NAME.
#[derive(Clone)]
pub struct AddressTable {
    names: [Option<Name>; ADDRESSES],
    /// A NAME that moved away from the address, and when.
    vacated: [Option<(Name, Micros)>; ADDRESSES],
}

impl Default for AddressTable {
    fn default() -> Self {
        AddressTable {
            names: [None; ADDRESSES],
            vacated: [None; ADDRESSES],
        }
    }
}

impl AddressTable {
    /// The NAME at `address`, if known.
    pub fn name_at(&self, address: u8) -> Option<Name> {
        *self.names.get(usize::from(address))?
    }

    /// Forgets every address of `name` (its device is gone).
    pub fn release_name(&mut self, name: Name) {
        for (n, v) in self.names.iter_mut().zip(self.vacated.iter_mut()) {
            if *n == Some(name) {
                *n = None;
                *v = None;
            }
        }
    }

    /// Where `name` is, if anywhere (the lowest address, for a duplicated NAME).
    pub fn address_of(&self, name: Name) -> Option<u8> {
        self.names
            .iter()
            .position(|n| *n == Some(name))
            .map(|a| a as u8)
    }

    /// Whether another node holds `address`.
    pub fn is_used(&self, address: u8) -> bool {
        self.name_at(address).is_some()
    }

    /// `name` claimed `source` (0–253).
    pub fn on_claim(&mut self, now: Micros, source: u8, name: Name) -> ClaimChange {
        let Some(slot) = self.names.get(usize::from(source)).copied() else {
            return ClaimChange::Same;
        };
        if slot == Some(name) {
            return ClaimChange::Same;
        }
        let from = self.address_of(name);
        if let Some(from) = from {
            self.names[usize::from(from)] = None;
            self.vacated[usize::from(from)] = Some((name, now));
        }
        self.names[usize::from(source)] = Some(name);
        self.vacated[usize::from(source)] = None;
        match (slot, from) {
            (Some(old), _) if old.differs_only_in_instance(name) => {
                ClaimChange::InstanceChanged { old }
            }
            (Some(previous), _) => ClaimChange::Contention { previous },
            (None, Some(from)) => ClaimChange::Moved { from },
            (None, None) => ClaimChange::New,
        }
    }

    /// A frame that is not a claim came from `source`, which has no NAME in the table.
    /// If a NAME moved away from it, the frame is that NAME's: still in flight from
    /// before the move, or — later than that — from a second node with the same NAME,
    /// which from then on owns the address too.
    pub fn on_traffic(&mut self, now: Micros, source: u8) -> Option<Traffic> {
        let i = usize::from(source);
        let (name, when) = (*self.vacated.get(i)?)?;
        if self.names[i].is_some() {
            return None;
        }
        if now.saturating_sub(when) < VACATE_GRACE {
            return Some(Traffic::InFlight(name));
        }
        self.vacated[i] = None;
        self.names[i] = Some(name);
        Some(Traffic::Duplicate(name))
    }

    /// Forgets `address` (its device is gone).
    pub fn release(&mut self, address: u8) {
        if let Some(n) = self.names.get_mut(usize::from(address)) {
            *n = None;
        }
        if let Some(v) = self.vacated.get_mut(usize::from(address)) {
            *v = None;
        }
    }

    /// Every (address, NAME) pair, by address.
    pub fn iter(&self) -> impl Iterator<Item = (u8, Name)> + '_ {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(a, n)| n.map(|n| (a as u8, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Name = Name(0xC0A0_A000_1CBE_A005);
    const B: Name = Name(0xC078_8200_10E3_B99F);

    #[test]
    fn claims_move_and_contend() {
        let mut t = AddressTable::default();
        assert_eq!(t.on_claim(0, 1, A), ClaimChange::New);
        assert_eq!(t.on_claim(1, 1, A), ClaimChange::Same);
        assert_eq!(t.on_claim(2, 7, A), ClaimChange::Moved { from: 1 });
        assert_eq!(t.name_at(1), None);
        assert_eq!(t.on_claim(3, 7, B), ClaimChange::Contention { previous: A });
        assert_eq!(t.address_of(A), None);
        let b2 = B.with_device_instance(9);
        assert_eq!(
            t.on_claim(4, 7, b2),
            ClaimChange::InstanceChanged { old: B }
        );
    }

    #[test]
    fn traffic_from_a_vacated_address_is_a_duplicate() {
        let mut t = AddressTable::default();
        t.on_claim(0, 1, A);
        t.on_claim(1_000_000, 2, A);
        assert_eq!(t.on_traffic(1_100_000, 1), Some(Traffic::InFlight(A)));
        assert_eq!(t.on_traffic(2_000_000, 1), Some(Traffic::Duplicate(A)));
        assert_eq!(t.name_at(1), Some(A), "both addresses are A's now");
        assert_eq!(t.on_traffic(2_100_000, 1), None, "reported once");
        assert_eq!(t.on_claim(3_000_000, 1, A), ClaimChange::Same);
    }
}
