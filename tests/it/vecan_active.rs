//! An active gateway and Victron devices that answer it (an MPPT, a Multi RS), scripted here from the
//! register protocol (`docs/vecan-products.md#special-registers`, `docs/vecan-products.md#read-and-write-flows`): the gateway reads the MPPT's
//! identity and profile registers, publishes its solarcharger service into a private
//! dbus-daemon, and a client's writes become register writes whose answer —
//! the value broadcast back, or a VACK error addressed to us — decides `SetValue`.

use crate::support::live_gateway;
use crate::support::names::name;
use std::collections::BTreeMap;

use n2k_dbus::can::{CanId, Frame, Micros};
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::VREG_LINK;
use n2k_dbus::gateway::GatewayConfig;
use n2k_dbus::n2k::fragment;
use zbus::zvariant::{OwnedValue, Value};

use live_gateway::LiveGateway;

const MPPT: u8 = 0x20;
const UNIQUE: u32 = 40001;
const STEP: Micros = 10_000;

/// The MPPT's NAME: unique 40001, manufacturer 358, function 160, class 35, industry 4.
fn mppt_name() -> u64 {
    name(UNIQUE, 358, (35, 160), 0).0
}

/// A scripted Victron device: its registers, the modes it takes, what it was asked,
/// what it sends next.
struct Scripted {
    address: u8,
    name: u64,
    modes: &'static [u8],
    regs: BTreeMap<u16, Vec<u8>>,
    out: Vec<Frame>,
    requests: Vec<u16>,
    writes: Vec<(u16, Vec<u8>)>,
    fast_seq: u8,
}

impl Scripted {
    /// The MPPT: modes 1 (on) and 4 (off).
    fn mppt() -> Scripted {
        let mut regs = BTreeMap::new();
        // Identity: model name (text), firmware (sub-id, u24); chargers and state as in vecan.py
        // (docs/vecan-products.md#registers).
        regs.insert(0x010B, b"SmartSolar MPPT VE.Can 150/70\0".to_vec());
        regs.insert(0x0102, vec![0, 0xFF, 0x15, 0x03]);
        regs.insert(0xEDBB, 4567u16.to_le_bytes().to_vec()); // PV 45.67 V
        regs.insert(0x0200, vec![1]); // mode: on
        regs.insert(0x0201, vec![3]); // bulk
        regs.insert(0xEDF0, 350u16.to_le_bytes().to_vec()); // 35.0 A
        Scripted {
            address: MPPT,
            name: mppt_name(),
            modes: &[1, 4],
            regs,
            out: Vec::new(),
            requests: Vec::new(),
            writes: Vec::new(),
            fast_seq: 0,
        }
    }

    /// A Multi RS (product id 42050, docs/vecan-products.md#identity): modes 1 charger only, 2 inverter only,
    /// 3 on, 4 off, as Venus's multi `/Mode` [inferred for the register].
    fn multi_rs() -> Scripted {
        let mut regs = BTreeMap::new();
        regs.insert(0x0100, vec![0, 0x42, 0xA4, 0xFF]);
        regs.insert(0x010B, b"Multi RS Solar 48V/6000VA/100A\0".to_vec());
        regs.insert(0x0200, vec![3]);
        regs.insert(0x0201, vec![9]);
        Scripted {
            address: 0x40,
            name: 90303 | (358 << 21) | (153 << 40) | (35 << 49) | (4 << 60) | (1 << 63),
            modes: &[1, 2, 3, 4],
            regs,
            out: Vec::new(),
            requests: Vec::new(),
            writes: Vec::new(),
            fast_seq: 0,
        }
    }

    /// A VREG payload from the device to `destination`: one frame, or a fast packet
    /// on 126720 when longer than 8 bytes.
    fn send(&mut self, now: Micros, destination: u8, register: u16, value: &[u8]) {
        let mut payload = vec![0x66, 0x99];
        payload.extend_from_slice(&register.to_le_bytes());
        payload.extend_from_slice(value);
        let pgn = if payload.len() > 8 { 126720 } else { 61184 };
        payload.resize(payload.len().max(8), 0);
        let id = CanId {
            priority: 7,
            pgn,
            source: self.address,
            destination,
        };
        self.fast_seq = (self.fast_seq + 1) & 7;
        self.out
            .extend(fragment::frames(now, id, &payload, self.fast_seq).expect("frames"));
    }

    /// A frame the gateway transmitted; the MPPT answers what is addressed to it.
    fn hear(&mut self, now: Micros, f: &Frame) {
        let id = f.can_id();
        let d = f.data();
        if id.pgn != 61184
            || id.destination != self.address
            || d.len() < 8
            || d[..2] != [0x66, 0x99]
        {
            return;
        }
        let reg = u16::from_le_bytes([d[2], d[3]]);
        let asker = id.source;
        if reg == 0x0001 {
            // VREQ: the value broadcast, or VACK 0x8000 (unknown in a request).
            let wanted = u16::from_le_bytes([d[4], d[5]]);
            self.requests.push(wanted);
            match self.regs.get(&wanted).cloned() {
                Some(v) => self.send(now, 255, wanted, &v),
                None => self.vack(now, asker, wanted, 0x8000),
            }
            return;
        }
        // A write: the mode takes the device's modes, anything else is VACK 0x8300.
        self.writes.push((reg, d[4..].to_vec()));
        match reg {
            0x0200 if self.modes.contains(&d[4]) => {
                self.regs.insert(reg, vec![d[4]]);
                self.send(now, 255, reg, &[d[4]]);
            }
            0x0200 => self.vack(now, asker, reg, 0x8300),
            _ => self.vack(now, asker, reg, 0x8100),
        }
    }

    fn vack(&mut self, now: Micros, to: u8, reg: u16, code: u16) {
        let mut v = reg.to_le_bytes().to_vec();
        v.extend_from_slice(&code.to_le_bytes());
        self.send(now, to, 0x0002, &v);
    }
}

/// The gateway, the MPPT and a publisher over a private bus, on a virtual clock.
struct Bench {
    live: LiveGateway,
    device: Scripted,
    now: Micros,
    sent: Vec<Frame>,
}

impl Bench {
    async fn new(device: Scripted) -> Bench {
        let cfg = GatewayConfig::new("can0", CoreConfig::gateway(1001));
        Bench {
            live: LiveGateway::start(cfg).await,
            device,
            now: 0,
            sent: Vec::new(),
        }
    }

    /// Runs the bus for `d` µs of virtual time in 10 ms steps: the MPPT's frames
    /// in, the gateway's timers, its frames to the MPPT, clients' writes.
    async fn run_for(&mut self, d: Micros) {
        let end = self.now + d;
        while self.now < end {
            live_gateway::Bench::tick(self).await;
        }
    }

    /// A client's `SetValue` carried to its answer while the clock turns.
    async fn set(&mut self, service: &str, path: &str, value: impl Into<Value<'static>>) -> i32 {
        let call = self.live.set_value(service, path, value);
        live_gateway::answer(self, call).await.0
    }

    fn claim(&mut self) {
        let f = Frame::new(
            self.now,
            CanId {
                priority: 6,
                pgn: 60928,
                source: self.device.address,
                destination: 255,
            }
            .to_raw()
            .expect("id"),
            &self.device.name.to_le_bytes(),
        );
        self.device.out.push(f);
    }

    async fn get(&self, service: &str, path: &str) -> OwnedValue {
        self.live
            .client
            .call_method(
                Some(service),
                path,
                Some("com.victronenergy.BusItem"),
                "GetValue",
                &(),
            )
            .await
            .expect("GetValue")
            .body()
            .deserialize()
            .expect("v")
    }

    async fn end(self) {
        self.live.end().await;
    }
}

impl live_gateway::Bench for Bench {
    fn live(&mut self) -> &mut LiveGateway {
        &mut self.live
    }

    async fn tick(&mut self) {
        self.now += STEP;
        let frames = std::mem::take(&mut self.device.out);
        for f in self.live.step(self.now, frames).await {
            self.device.hear(self.now, &f);
            self.sent.push(f);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mppt_is_read_and_written_through_its_registers() {
    let mut b = Bench::new(Scripted::mppt()).await;
    b.run_for(1_500_000).await; // our own claim (after a 1 s scan) settles
    b.claim();
    b.run_for(8_000_000).await;

    // We asked for its identity (the product id it does not know: VACK 0x8000) and
    // then for the registers of the solarcharger profile.
    for r in [0x0100, 0x0102, 0x010A, 0x010B, 0xEDBB, 0x0200, 0xEDF0] {
        assert!(
            b.device.requests.contains(&r),
            "0x{r:04X} not asked for: {:X?}",
            b.device.requests
        );
    }
    // Ten frames a second at most on the bus from us for registers.
    let vreg: Vec<Micros> = b
        .sent
        .iter()
        .filter(|f| f.can_id().pgn == 61184)
        .map(|f| f.timestamp)
        .collect();
    assert!(vreg.windows(2).all(|w| w[1] - w[0] >= 100_000), "{vreg:?}");

    let svc = format!("com.victronenergy.solarcharger.socketcan_can0_di0_uc{UNIQUE}");
    let pv = b.get(&svc, "/Pv/V").await;
    assert!((f64::try_from(&pv).expect("a number") - 45.67).abs() < 1e-9);
    let name = b.get(&svc, "/ProductName").await;
    assert_eq!(
        <&str>::try_from(&name).expect("text"),
        "SmartSolar MPPT VE.Can 150/70"
    );
    assert_eq!(i32::try_from(&b.get(&svc, "/Mode").await).expect("int"), 1);

    // Mode off: written as register 0x0200 = 4, confirmed by the value broadcast back.
    assert_eq!(b.set(&svc, "/Mode", 4).await, 0);
    assert_eq!(b.device.writes.last(), Some(&(0x0200, vec![4, 0, 0, 0])));
    b.run_for(100_000).await;
    assert_eq!(i32::try_from(&b.get(&svc, "/Mode").await).expect("int"), 4);

    // Mode 7: the MPPT refuses with VACK 0x8300 → SetValue answers 2, the path keeps 4.
    assert_eq!(b.set(&svc, "/Mode", 7).await, 2);
    assert_eq!(b.device.writes.last(), Some(&(0x0200, vec![7, 0, 0, 0])));
    b.run_for(100_000).await;
    assert_eq!(i32::try_from(&b.get(&svc, "/Mode").await).expect("int"), 4);

    // A read-only path is refused by the service itself (code 1), nothing is sent.
    let before = b.device.writes.len();
    assert_eq!(b.set(&svc, "/Pv/V", 10).await, 1);
    assert_eq!(b.device.writes.len(), before);
    b.end().await;
}

/// The frames we broadcast on 61184 from `from`, as (time, data).
fn link_frames(sent: &[Frame], from: u8) -> Vec<(Micros, Vec<u8>)> {
    sent.iter()
        .filter(|f| {
            let id = f.can_id();
            id.pgn == 61184 && id.destination == 255 && id.source == from
        })
        .map(|f| (f.timestamp, f.data().to_vec()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dvcc_charge_voltage_is_broadcast_while_valid() {
    let mut b = Bench::new(Scripted::mppt()).await;
    b.run_for(1_500_000).await;
    let ours = b
        .sent
        .iter()
        .find(|f| f.can_id().pgn == 60928)
        .map(|f| f.can_id().source)
        .expect("our claim");
    let bus = "com.victronenergy.vecan.can0";
    assert_eq!(b.set(bus, "/Link/ChargeVoltage", 14.2f64).await, 0);
    let written = b.now;
    b.run_for(12_000_000).await;
    // 0x2001 charge voltage set-point, u16 0.01 V: 1420 = 0x058C, padded to 8 bytes,
    // priority 7 on 61184 to 255: id 1CEFFF<ours>.
    let frames = link_frames(&b.sent, ours);
    let want = vec![0x66, 0x99, 0x01, 0x20, 0x8C, 0x05, 0x00, 0x00];
    assert!(frames.len() >= 3, "{frames:?}");
    assert!(frames.iter().all(|(_, d)| *d == want), "{frames:?}");
    let raw = b
        .sent
        .iter()
        .find(|f| f.can_id().pgn == 61184)
        .map(|f| f.id)
        .expect("a frame");
    assert_eq!(raw, 0x1CEF_FF00 | u32::from(ours));
    // Sent at once, then every 5 s, well inside the chargers' 60 s.
    assert!(frames[0].0 - written <= 2 * STEP, "{frames:?}");
    assert!(
        frames.windows(2).all(|w| w[1].0 - w[0].0 == 5_000_000),
        "{frames:?}"
    );
    assert_eq!(
        f64::try_from(&b.get(bus, "/Link/ChargeVoltage").await).expect("a number"),
        14.2
    );

    // Invalidated (an empty array, as velib clients write): no more frames.
    assert_eq!(
        b.set(bus, "/Link/ChargeVoltage", Value::from(Vec::<i32>::new()))
            .await,
        0
    );
    let count = link_frames(&b.sent, ours).len();
    b.run_for(12_000_000).await;
    assert_eq!(link_frames(&b.sent, ours).len(), count);
    b.end().await;
}

/// `GetVreg`/`SetVreg` on `path` of `service`, while the bench turns the clock.
async fn vreg_call(
    b: &mut Bench,
    service: &str,
    path: &str,
    register: u16,
    data: Option<Vec<u8>>,
) -> (u16, Vec<u8>) {
    let call = match data {
        None => b
            .live
            .call(service, path, VREG_LINK, "GetVreg", (register,)),
        Some(d) => b
            .live
            .call(service, path, VREG_LINK, "SetVreg", (register, d)),
    };
    live_gateway::answer(b, call).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vreglink_reads_and_writes_any_register() {
    let mut b = Bench::new(Scripted::mppt()).await;
    b.run_for(1_500_000).await;
    b.claim();
    b.run_for(8_000_000).await;
    let svc = format!("com.victronenergy.solarcharger.socketcan_can0_di0_uc{UNIQUE}");
    let link = "/Devices/0/VregLink";

    // A register the profile reads: its bytes as the MPPT broadcast them (a single
    // frame carries four value bytes).
    assert_eq!(
        vreg_call(&mut b, &svc, link, 0xEDBB, None).await,
        (0, vec![0xD7, 0x11, 0, 0])
    );
    // One it does not have: its VACK code.
    assert_eq!(
        vreg_call(&mut b, &svc, link, 0x1234, None).await,
        (0x8000, vec![])
    );
    // A write, answered by the value read back; a refused one by its code.
    assert_eq!(
        vreg_call(&mut b, &svc, link, 0x0200, Some(vec![4])).await,
        (0, vec![4, 0, 0, 0])
    );
    assert_eq!(
        vreg_call(&mut b, &svc, link, 0x0200, Some(vec![9])).await,
        (0x8300, vec![])
    );
    // The same device through the bus service, under its key; a long register
    // comes as a fast packet on 126720.
    let key = format!("0000{:08X}", mppt_name() & 0xFFFF_FFFF);
    let (code, data) = vreg_call(
        &mut b,
        "com.victronenergy.vecan.can0",
        &format!("/Devices/{key}/VregLink"),
        0x010B,
        None,
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        data.starts_with(b"SmartSolar MPPT VE.Can 150/70\0"),
        "{data:?}"
    );
    b.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_rs_is_recognised_by_its_product_id_and_its_mode_written() {
    let mut b = Bench::new(Scripted::multi_rs()).await;
    // It claims while we still scan for claims (no address to ask from): it is
    // asked for its identity once we have ours.
    b.run_for(300_000).await;
    b.claim();
    b.run_for(7_000_000).await;
    let svc = "com.victronenergy.multi.socketcan_can0_di0_uc90303";
    assert_eq!(
        i32::try_from(&b.get(svc, "/ProductId").await).expect("int"),
        42050
    );
    assert_eq!(i32::try_from(&b.get(svc, "/State").await).expect("int"), 9);
    assert_eq!(i32::try_from(&b.get(svc, "/Mode").await).expect("int"), 3);
    // Off: accepted and read back; 5 is no mode: VACK 0x8300, SetValue 2.
    assert_eq!(b.set(svc, "/Mode", 4).await, 0);
    b.run_for(100_000).await;
    assert_eq!(i32::try_from(&b.get(svc, "/Mode").await).expect("int"), 4);
    assert_eq!(b.set(svc, "/Mode", 5).await, 2);
    assert_eq!(b.device.writes.last(), Some(&(0x0200, vec![5, 0, 0, 0])));
    b.end().await;
}
