//! Any sequence of CAN frames through an active core: reassembly, the address table,
//! our claim, discovery and liveness, with the timers run on the frames' clock.
//! Input: records of 14 bytes — 4 id, 1 length, 8 data, 1 time step (× 10 ms).
#![no_main]

use libfuzzer_sys::fuzz_target;
use n2k_dbus::can::Frame;
use n2k_dbus::core::{Core, CoreConfig};

fuzz_target!(|data: &[u8]| {
    let mut core = Core::new(CoreConfig::gateway(1001));
    let mut t = 0i64;
    core.start(t);
    for rec in data.chunks_exact(14) {
        t += i64::from(rec[13]) * 10_000;
        let id = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
        let len = usize::from(rec[4] % 9);
        let frame = Frame::new(t, id, &rec[5..5 + len]);
        core.advance_to(t, &mut |_, _| {});
        core.on_frame(t, &frame);
        while core.poll_output().is_some() {}
    }
    core.advance_to(t + 120_000_000, &mut |_, _| {});
});
