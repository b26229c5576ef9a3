//! The owner's answer to a client's write, with Victron's `SetValue` codes.

use thiserror::Error;

/// The owner's decision on a write.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// Accepted: the service stores the value and signals it now.
    Store,
    /// Accepted: the value will arrive as an update once it took effect (a device
    /// confirming a new instance, the settings service confirming a name).
    Accepted,
    /// Refused: nothing changes; `SetValue` answers the refusal's code.
    Refused(WriteRefusal),
}

/// Why the owner of an item refused a write, each with the code Victron's
/// `SetValue` answers (`docs/architecture.md#setvalue`): 1 for a path that is not writable or a
/// value of the wrong type, 2 for a value the owner's logic does not take.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WriteRefusal {
    #[error("{0} is not writable")]
    NotWritable(String),
    #[error("{0} takes an integer")]
    NotAnInteger(String),
    #[error("{value} is not a device instance (0 to 255)")]
    NotADeviceInstance { value: i64 },
    #[error("no device {0} on the bus")]
    NoDevice(String),
    #[error("the device cannot be told: {0}")]
    Command(#[from] crate::core::CommandError),
    #[error("{0} is down")]
    LinkDown(String),
    #[error("the settings service refused the name (code {0})")]
    SettingsRefused(i32),
    #[error("the settings service cannot be reached: {0}")]
    SettingsUnreachable(String),
    #[error("{0}: the value does not fit the device's register")]
    OutOfRange(String),
    #[error("the device refused the value: {0}")]
    DeviceRefused(crate::vreg::VackCode),
    #[error("the device did not confirm the value in time")]
    DeviceSilent,
    #[error("listening only: nothing is sent to the bus")]
    ListenOnly,
    #[error("the gateway is busy")]
    Busy,
    #[error("the gateway dropped the write")]
    Dropped,
    #[error("no decision in time")]
    NoDecision,
}

impl WriteRefusal {
    /// The code `SetValue` answers.
    pub fn code(&self) -> i32 {
        match self {
            WriteRefusal::NotWritable(_) | WriteRefusal::NotAnInteger(_) => 1,
            // An unknown register is a path the device does not have.
            WriteRefusal::DeviceRefused(c) if c.is_unknown_register() => 1,
            _ => 2,
        }
    }
}
