//! Replaying a capture: its records (frames, or messages reassembled by the tool that
//! wrote it) become messages, the same way live frames do.

use crate::logs::Record;
use crate::n2k::{Assembler, Message};

/// Turns capture records into messages.
#[derive(Default)]
pub struct Replay {
    assembler: Assembler,
}

impl Replay {
    /// A replay with a fresh assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The assembler, for its counters.
    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    /// The message `record` completes, if any.
    pub fn on_record<'s>(&'s mut self, record: &'s Record) -> Option<Message<'s>> {
        match record {
            Record::Frame(f) => self.assembler.on_frame(f),
            Record::Message(m) => Some(m.message()),
        }
    }
}
