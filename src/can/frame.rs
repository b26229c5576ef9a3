//! A received or sent CAN frame: identifier, up to 8 data bytes and a timestamp.

use super::id::CanId;

pub use crate::time::Micros;

/// One classic CAN frame with an extended (29-bit) identifier.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// When the frame was seen; time of the source, not of the reader.
    pub timestamp: Micros,
    /// The 29-bit identifier.
    pub id: u32,
    len: u8,
    data: [u8; 8],
}

impl Frame {
    /// A frame with `data` (at most 8 bytes; extra bytes are cut off).
    pub fn new(timestamp: Micros, id: u32, data: &[u8]) -> Frame {
        let len = data.len().min(8);
        let mut buf = [0xFF; 8];
        buf[..len].copy_from_slice(&data[..len]);
        Frame {
            timestamp,
            id: id & 0x1FFF_FFFF,
            len: len as u8,
            data: buf,
        }
    }

    /// The payload bytes.
    pub fn data(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }

    /// Priority, PGN, source and destination.
    pub fn can_id(&self) -> CanId {
        CanId::from_raw(self.id)
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}) {:08X}#", self.timestamp, self.id)?;
        for b in self.data() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}
