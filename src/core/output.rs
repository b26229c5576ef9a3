//! What the core hands back: frames to send and events for the next stages.

use std::fmt;

use crate::can::Frame;
use crate::n2k::Message;
use crate::network::Name;

/// One output of the core, in the order it arose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Put this frame on the bus (never produced in listen-only mode).
    Transmit(Frame),
    /// Something changed in what the gateway knows.
    Event(Event),
    /// A register read or write asked for with [`Core::vreg_submit`](super::Core::vreg_submit) ended.
    Register(crate::vreg::engine::Event),
}

/// A change in the gateway's picture of the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Our node got an address (`Some`), or has none (lost, cannot claim: `None`).
    OwnAddress(Option<u8>),
    /// A device's NAME became known, or a gone device came back.
    Appeared { name: Name, address: Option<u8> },
    /// A device moved to another address (`None`: it lost its address to another).
    AddressChanged {
        name: Name,
        from: Option<u8>,
        to: Option<u8>,
    },
    /// Product information arrived, or did not arrive in time: the device can be
    /// published.
    Identified { name: Name },
    /// Product or configuration information arrived or changed after identification.
    IdentityUpdated { name: Name },
    /// A device changed its instance fields and so its NAME: `old` is gone, `new`
    /// appears next.
    InstanceChanged { old: Name, new: Name },
    /// The device left the bus.
    Gone { name: Name },
    /// Two nodes use the same NAME, at these addresses.
    DuplicateName { name: Name, addresses: [u8; 2] },
    /// Two NAMEs claimed one address; the lower NAME keeps it.
    AddressContention { address: u8, names: [Name; 2] },
    /// One of our own virtual nodes got an address (`Some`) or has none.
    LocalAddress {
        id: super::LocalId,
        address: Option<u8>,
    },
    /// A 126208 Command changed an own node's instance fields: it claims as `name`.
    LocalRenamed { id: super::LocalId, name: Name },
    /// The bus asked something of an own node that its owner carries out.
    LocalCommand {
        id: super::LocalId,
        command: super::LocalCommand,
    },
}

/// A message, attributed to the device that sent it when its NAME is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    pub message: Message<'a>,
    pub device: Option<Name>,
}

fn addr(a: Option<u8>) -> String {
    a.map_or_else(|| "-".into(), |a| a.to_string())
}

/// One line per output, the form scenario logs state their expectations in:
/// `TX 18EEFF64#…`, `appeared C0A0A0001CBEA005 at 1`, `gone …`.
impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Transmit(fr) => {
                write!(f, "TX {:08X}#", fr.id)?;
                for b in fr.data() {
                    write!(f, "{b:02X}")?;
                }
                Ok(())
            }
            Output::Event(e) => write!(f, "{e}"),
            Output::Register(crate::vreg::engine::Event::Done {
                node,
                token,
                op,
                outcome,
            }) => write!(f, "register {node} token {token} {op:?}: {outcome:?}"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::OwnAddress(a) => write!(f, "own-address {}", addr(a)),
            Event::Appeared { name, address } => write!(f, "appeared {name} at {}", addr(address)),
            Event::AddressChanged { name, from, to } => {
                write!(f, "moved {name} from {} to {}", addr(from), addr(to))
            }
            Event::Identified { name } => write!(f, "identified {name}"),
            Event::IdentityUpdated { name } => write!(f, "identity-updated {name}"),
            Event::InstanceChanged { old, new } => write!(f, "instance-changed {old} to {new}"),
            Event::Gone { name } => write!(f, "gone {name}"),
            Event::DuplicateName { name, addresses } => {
                write!(
                    f,
                    "duplicate-name {name} at {} and {}",
                    addresses[0], addresses[1]
                )
            }
            Event::AddressContention { address, names } => {
                write!(f, "contention at {address}: {} and {}", names[0], names[1])
            }
            Event::LocalAddress { id, address } => {
                write!(f, "own-node {id} address {}", addr(address))
            }
            Event::LocalRenamed { id, name } => write!(f, "own-node {id} renamed {name}"),
            Event::LocalCommand { id, command } => write!(f, "own-node {id} {command:?}"),
        }
    }
}
