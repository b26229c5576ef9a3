//! Our own address claim (docs/nmea2000.md#address-claim): scan, claim, wait 250 ms, defend, move on
//! when a lower NAME takes our address, cannot-claim when nothing is free, obey a
//! commanded address.
//!
//! A pure state machine: every input carries the time, every decision comes back as
//! [`ClaimAction`]s for the core to carry out.

use crate::can::Micros;

use super::Name;

/// Listening for the answers to our request for 60928 before choosing (canboat and
/// canboatjs wait 1 s).
pub const SCAN_TIME: Micros = 1_000_000;
/// A claim unchallenged for this long makes the address ours.
pub const CLAIM_TIME: Micros = 250_000;
/// The highest address a self-configurable node claims.
pub const MAX_CLAIMABLE: u8 = 251;

/// Where our claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// Nothing sent yet (or never: listen-only).
    Idle,
    /// Our request for 60928 is out; the answers come in until `until`.
    Scanning { until: Micros },
    /// Our claim for `address` is out; it is ours at `until` if nobody contests it.
    Claiming { address: u8, until: Micros },
    /// The address is ours.
    Claimed { address: u8 },
    /// No address was free: we sent cannot-claim and transmit nothing else.
    CannotClaim,
}

/// What the core must do after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimAction {
    /// Send an ISO Request for 60928 to everyone, from the null address.
    RequestClaims,
    /// Send our claim from `address`.
    SendClaim(u8),
    /// Send our claim from the null address (254): we have no address.
    SendCannotClaim,
    /// The address became ours.
    Claimed(u8),
    /// We lost `address` to a lower NAME.
    Lost(u8),
}

/// Our node's address claim.
#[derive(Debug)]
pub struct Claimer {
    name: Name,
    preferred: u8,
    state: ClaimState,
    /// Addresses taken from us in the current search, one bit each.
    lost: [u64; 4],
    /// When to answer a request with cannot-claim (delayed, J1939-81).
    cannot_claim_due: Option<Micros>,
}

impl Claimer {
    /// A claimer for `name` that prefers `preferred` (0–251; larger values mean 0).
    pub fn new(name: Name, preferred: u8) -> Claimer {
        Claimer {
            name,
            preferred: if preferred > MAX_CLAIMABLE {
                0
            } else {
                preferred
            },
            state: ClaimState::Idle,
            lost: [0; 4],
            cannot_claim_due: None,
        }
    }

    /// The NAME we claim with.
    pub fn name(&self) -> Name {
        self.name
    }

    /// Where the claim stands.
    pub fn state(&self) -> ClaimState {
        self.state
    }

    /// Our address, when it is ours.
    pub fn address(&self) -> Option<u8> {
        match self.state {
            ClaimState::Claimed { address } => Some(address),
            _ => None,
        }
    }

    /// The address our frames go out from right now (during the 250 ms only the
    /// claim itself is sent).
    pub fn claiming_address(&self) -> Option<u8> {
        match self.state {
            ClaimState::Claiming { address, .. } | ClaimState::Claimed { address } => Some(address),
            _ => None,
        }
    }

    /// Starts: a request for every claim, then the scan.
    pub fn start(&mut self, now: Micros, out: &mut Vec<ClaimAction>) {
        self.state = ClaimState::Scanning {
            until: now + SCAN_TIME,
        };
        out.push(ClaimAction::RequestClaims);
    }

    /// Starts on a bus already listened to (a second own node of a gateway that has
    /// scanned): the claim goes out at once, from the preferred address or the next
    /// free one.
    pub fn start_known(
        &mut self,
        now: Micros,
        used: impl Fn(u8) -> bool,
        out: &mut Vec<ClaimAction>,
    ) {
        self.lost = [0; 4];
        self.claim_from(now, self.preferred, &used, out);
    }

    /// Our NAME changed (a commanded instance): the new NAME is claimed again from
    /// the address we hold, so every node's table follows.
    pub fn rename(&mut self, now: Micros, name: Name, out: &mut Vec<ClaimAction>) {
        self.name = name;
        match self.state {
            ClaimState::Claimed { address } => out.push(ClaimAction::SendClaim(address)),
            ClaimState::Claiming { address, .. } => self.begin_claim(now, address, out),
            _ => {}
        }
    }

    /// When [`Claimer::on_tick`] must run next.
    pub fn deadline(&self) -> Option<Micros> {
        let state = match self.state {
            ClaimState::Scanning { until } | ClaimState::Claiming { until, .. } => Some(until),
            _ => None,
        };
        match (state, self.cannot_claim_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Timers: the end of the scan, the end of the 250 ms, a delayed cannot-claim.
    pub fn on_tick(&mut self, now: Micros, used: impl Fn(u8) -> bool, out: &mut Vec<ClaimAction>) {
        if self.cannot_claim_due.is_some_and(|t| t <= now) {
            self.cannot_claim_due = None;
            if self.state == ClaimState::CannotClaim {
                out.push(ClaimAction::SendCannotClaim);
            }
        }
        match self.state {
            ClaimState::Scanning { until } if until <= now => {
                self.lost = [0; 4];
                self.claim_from(now, self.preferred, &used, out);
            }
            ClaimState::Claiming { address, until } if until <= now => {
                self.state = ClaimState::Claimed { address };
                out.push(ClaimAction::Claimed(address));
            }
            _ => {}
        }
    }

    /// Another node's claim (`name` from `source`).
    pub fn on_claim(
        &mut self,
        now: Micros,
        source: u8,
        name: Name,
        used: impl Fn(u8) -> bool,
        out: &mut Vec<ClaimAction>,
    ) {
        let Some(ours) = self.claiming_address() else {
            return;
        };
        if source != ours || name == self.name {
            return; // Not our address, or our own claim echoed back.
        }
        if self.name < name {
            // We win: say so again, the other node moves.
            out.push(ClaimAction::SendClaim(ours));
            return;
        }
        self.lost[usize::from(ours) / 64] |= 1 << (ours % 64);
        if matches!(self.state, ClaimState::Claimed { .. }) {
            out.push(ClaimAction::Lost(ours));
        }
        let next = if ours >= MAX_CLAIMABLE { 0 } else { ours + 1 };
        self.claim_from(now, next, &used, out);
    }

    /// A request for 60928 that reaches us: everyone gets our claim again.
    pub fn on_request(&mut self, now: Micros, out: &mut Vec<ClaimAction>) {
        match self.state {
            ClaimState::Claimed { address } => out.push(ClaimAction::SendClaim(address)),
            ClaimState::CannotClaim if self.cannot_claim_due.is_none() => {
                // A pseudo-random 0–153 ms, fixed per NAME so replays stay exact.
                let delay = (self.name.0 % 154) as Micros * 1000;
                self.cannot_claim_due = Some(now + delay);
            }
            _ => {}
        }
    }

    /// A commanded address for `name`: ours moves to `address` when it names us.
    pub fn on_commanded(
        &mut self,
        now: Micros,
        name: Name,
        address: u8,
        out: &mut Vec<ClaimAction>,
    ) {
        if name != self.name || address > MAX_CLAIMABLE || self.state == ClaimState::Idle {
            return;
        }
        if let ClaimState::Claimed { address: old } = self.state {
            if old == address {
                return;
            }
        }
        self.begin_claim(now, address, out);
    }

    /// Claims the first address from `start` upwards (wrapping 251 → 0) that no other
    /// node uses and that we have not lost in this search; cannot-claim when none is.
    fn claim_from(
        &mut self,
        now: Micros,
        start: u8,
        used: &impl Fn(u8) -> bool,
        out: &mut Vec<ClaimAction>,
    ) {
        let n = u16::from(MAX_CLAIMABLE) + 1;
        let free = (0..n)
            .map(|k| ((u16::from(start) + k) % n) as u8)
            .find(|&a| !used(a) && self.lost[usize::from(a) / 64] & (1 << (a % 64)) == 0);
        match free {
            Some(a)
                if self.name.arbitrary_address_capable() || (a == start && self.lost == [0; 4]) =>
            {
                self.begin_claim(now, a, out)
            }
            _ => {
                self.state = ClaimState::CannotClaim;
                out.push(ClaimAction::SendCannotClaim);
            }
        }
    }

    fn begin_claim(&mut self, now: Micros, address: u8, out: &mut Vec<ClaimAction>) {
        self.state = ClaimState::Claiming {
            address,
            until: now + CLAIM_TIME,
        };
        out.push(ClaimAction::SendClaim(address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Name = Name(0xC032_8200_FFC0_03E9);

    #[test]
    fn cannot_claim_when_every_address_is_taken() {
        let mut c = Claimer::new(OURS, 100);
        let mut out = Vec::new();
        c.start(0, &mut out);
        assert_eq!(out, [ClaimAction::RequestClaims]);
        out.clear();
        c.on_tick(SCAN_TIME, |_| true, &mut out);
        assert_eq!(out, [ClaimAction::SendCannotClaim]);
        assert_eq!(c.state(), ClaimState::CannotClaim);
        // A request is answered with cannot-claim after the per-NAME delay (0–153 ms).
        out.clear();
        c.on_request(2_000_000, &mut out);
        assert!(out.is_empty());
        let due = c.deadline().unwrap();
        assert_eq!(due, 2_000_000 + (OURS.0 % 154) as Micros * 1000);
        c.on_tick(due, |_| true, &mut out);
        assert_eq!(out, [ClaimAction::SendCannotClaim]);
    }

    #[test]
    fn losing_walks_up_and_wraps() {
        let mut c = Claimer::new(OURS, 251);
        let mut out = Vec::new();
        c.start(0, &mut out);
        c.on_tick(SCAN_TIME, |_| false, &mut out);
        assert_eq!(c.claiming_address(), Some(251));
        out.clear();
        // A lower NAME takes 251 while we claim: we wrap to 0.
        c.on_claim(SCAN_TIME + 1, 251, Name(1), |a| a == 251, &mut out);
        assert_eq!(out, [ClaimAction::SendClaim(0)]);
        out.clear();
        c.on_tick(SCAN_TIME + 1 + CLAIM_TIME, |a| a == 251, &mut out);
        assert_eq!(out, [ClaimAction::Claimed(0)]);
        // A higher NAME for our address: we defend it.
        out.clear();
        c.on_claim(5_000_000, 0, Name(u64::MAX), |_| false, &mut out);
        assert_eq!(out, [ClaimAction::SendClaim(0)]);
        assert_eq!(c.address(), Some(0));
    }

    #[test]
    fn a_fixed_address_node_does_not_move() {
        let fixed = Name(OURS.0 & !(1 << 63));
        let mut c = Claimer::new(fixed, 30);
        let mut out = Vec::new();
        c.start(0, &mut out);
        c.on_tick(SCAN_TIME, |_| false, &mut out);
        out.clear();
        c.on_claim(SCAN_TIME + 1, 30, Name(1), |a| a == 30, &mut out);
        assert_eq!(out, [ClaimAction::SendCannotClaim]);
    }
}
