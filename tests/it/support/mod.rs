//! What several test modules share: a private dbus-daemon and the publisher set up
//! on it, a Venus client's calls, the gateway replayed onto it, a live gateway driven
//! by a test, the binary run as a user runs it, canboat's reference decodes, the
//! core fed a capture, a flood of frames, NAMEs.

pub mod cli;
pub mod core_feed;
pub mod flood;
pub mod gateway_replay;
pub mod live_gateway;
pub mod names;
pub mod private_bus;
pub mod reference;

/// What the driver handed out since the last call: the frames to send, and the
/// state entries to store.
pub fn outputs(
    d: &mut n2k_dbus::driver::Driver,
) -> (Vec<n2k_dbus::can::Frame>, Vec<(String, String)>) {
    use n2k_dbus::gateway::Output;
    let (mut frames, mut state) = (Vec::new(), Vec::new());
    while let Some(o) = d.poll() {
        match o {
            Output::Transmit(f) => frames.push(f),
            Output::State(s) => state.extend(s),
            _ => {}
        }
    }
    (frames, state)
}

/// Bytes as upper-case hex digits, two each (`can-utils`' `cansend` form).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02X}"));
    }
    out
}
