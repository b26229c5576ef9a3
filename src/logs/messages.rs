//! A capture's records as messages, for the tools that decode a capture without a
//! gateway (`decode`, the conformance test): frames go through transport
//! reassembly, messages the capture tool reassembled pass as they are.
//!
//! A record from source address 255 is not a message: 255 is the global address,
//! never a sender's. Capture tools write such records of their own (zero-length
//! `…,65301,255,0,0` lines in `susteranna2020.raw`); canboat's analyzer shows
//! nothing for them, and neither does this.

use super::Record;
use crate::n2k::{Assembler, Message};

/// Turns capture records into messages.
#[derive(Default)]
pub struct Messages {
    assembler: Assembler,
    not_from_a_node: u64,
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

    /// Records skipped because no node can have sent them.
    pub fn not_from_a_node(&self) -> u64 {
        self.not_from_a_node
    }

    /// The message `record` completes, if any.
    pub fn on_record<'s>(&'s mut self, record: &'s Record) -> Option<Message<'s>> {
        if !record.from_a_node() {
            self.not_from_a_node += 1;
            return None;
        }
        match record {
            Record::Frame(f) => self.assembler.on_frame(f),
            Record::Message(m) => Some(m.message()),
        }
    }
}
