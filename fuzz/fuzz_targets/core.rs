//! Any sequence of CAN frames through the whole gateway: reassembly, the address
//! table, our claim, discovery and liveness, the Venus mapping (instances,
//! plausibility, batteries, AC lines, the hand-over from address to NAME) and the
//! bus service, with the timers run on the frames' clock; the service changes go to
//! an outbox that is emptied as the publisher would.
//! With bit 1 of the mode, NMEA 2000-out exports a battery and an inverter/charger:
//! three own nodes (claiming 0, 1, 2) that the frames' requests, claims and 126208
//! commands reach. With bit 2, the gateway's own alarms go out as alerts.
//! Input: one byte of mode (bit 0: listen-only, bit 1: NMEA 2000-out, bit 2: own
//! alerts), then records of
//! 14 bytes — 4 id, 1 length, 8 data, 1 time step (× 10 ms).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use n2k_dbus::can::Frame;
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::Outbox;
use n2k_dbus::export::{ExportConfig, ServiceInput};
use n2k_dbus::model::Value;
use n2k_dbus::gateway::{Gateway, GatewayConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, records)) = data.split_first() else {
        return;
    };
    let mut core = CoreConfig::gateway(1001);
    core.listen_only = mode & 1 == 1;
    let outbox = Arc::new(Outbox::new());
    let mut gateway = Gateway::new(
        GatewayConfig::new("can0", core),
        outbox.clone(),
    );
    if mode & 2 == 2 {
        gateway = gateway.with_export(ExportConfig::default());
    }
    let mut t = 0i64;
    gateway.start(t);
    // The gateway's own alerts go out (bit 2).
    gateway.set_alerts_out(t, mode & 4 == 4);
    if mode & 2 == 2 {
        for (service, v) in [("com.victronenergy.battery.a", 12.5), ("com.victronenergy.vebus.b", 13.0)] {
            let items = vec![("/Dc/0/Voltage".to_owned(), Value::Real(v))];
            gateway.handle_service(t, ServiceInput::Appeared { service: service.into(), items });
        }
    }
    for rec in records.chunks_exact(14) {
        t += i64::from(rec[13]) * 10_000;
        let id = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
        let len = usize::from(rec[4] % 9);
        let frame = Frame::new(t, id, &rec[5..5 + len]);
        gateway.handle_frame(t, &frame);
        while gateway.poll().is_some() {}
        drop(outbox.take());
    }
    gateway.handle_timeout(t + 120_000_000);
    gateway.finish(t + 120_000_000);
    drop(outbox.take());
});
