//! Capture records into a bare core on their own timestamps, for the tests of the
//! core alone (the gateway's tests go through the driver, as the daemon does).

use n2k_dbus::can::Micros;
use n2k_dbus::core::{Core, Output};
use n2k_dbus::logs::Record;
use n2k_dbus::network::Name;

/// Starts the core at the first record, runs the timers due before `record`, then
/// the record; outputs go to `sink` with their time. Returns the sender's NAME.
pub fn feed(
    core: &mut Core,
    record: &Record,
    sink: &mut impl FnMut(Micros, Output),
) -> Option<Name> {
    let t = record.timestamp();
    core.start(t);
    core.advance_to(t, sink);
    let device = match record {
        Record::Frame(f) => core.on_frame(t, f).and_then(|r| r.device),
        Record::Message(m) => core.on_message(t, &m.message()).device,
    };
    while let Some(o) = core.poll_output() {
        sink(t, o);
    }
    device
}
