//! A capture's records as messages, for the tools that decode a capture without a
//! gateway (`decode`, the conformance test): frames go through transport
//! reassembly, messages the capture tool reassembled pass as they are.

use super::Record;
use crate::n2k::{Assembler, Message};

/// Turns capture records into messages.
#[derive(Default)]
pub struct Messages {
    assembler: Assembler,
}

impl Messages {
    /// A fresh reassembly.
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
