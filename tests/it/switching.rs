//! Switching a bank from Venus: the gateway, a publisher and a client over a private
//! dbus-daemon, and a switch bank scripted here from docs/switching-alerts.md#switch-bank-pgns on a
//! virtual clock (what the captures lack: the answers to our own commands). Three
//! banks: one that takes 126208 Command to 127501 (as the Maretron DCR100 of
//! dirona-actisense-serial.raw does), one that takes only 127502, one that never
//! changes. `SetValue` answers once a 127501 shows the change, or refuses; the
//! switch pane's paths are checked against Victron's SmartSwitch service dump.

use crate::support::live_gateway;
use crate::support::names::name;
use std::collections::BTreeSet;

use n2k_dbus::can::{CanId, Frame, Micros};
use n2k_dbus::core::CoreConfig;
use n2k_dbus::gateway::GatewayConfig;
use zbus::zvariant::{OwnedValue, Value};

use live_gateway::LiveGateway;

const BANK: u8 = 72;
const STEP: Micros = 10_000;
/// The bank's NAME: Maretron (137), Electrical Distribution / Load Controller
/// (30/140), device instance 2, unique 1700373 — node 72 of dirona.
fn bank_name() -> u64 {
    name(1700373, 137, (30, 140), 2).0
}
const SERVICE: &str = "com.victronenergy.switch.socketcan_can0_di2_uc1700373_bank2";

#[derive(Clone, Copy, PartialEq)]
enum Takes {
    Command,
    Control,
    Nothing,
}

/// A scripted bank: instance 2, six channels, its status every second.
struct Bank {
    takes: Takes,
    states: [u8; 6],
    out: Vec<Frame>,
    /// Fast-packet payloads addressed to it, being reassembled.
    partial: Vec<u8>,
    want: usize,
    heard: Vec<(u32, Vec<u8>)>,
    next_status: Micros,
}

impl Bank {
    fn new(takes: Takes) -> Bank {
        Bank {
            takes,
            states: [0, 1, 1, 1, 0, 0],
            out: Vec::new(),
            partial: Vec::new(),
            want: 0,
            heard: Vec::new(),
            next_status: 0,
        }
    }

    fn frame(&mut self, now: Micros, pgn: u32, destination: u8, data: &[u8]) {
        let id = CanId {
            priority: 3,
            pgn,
            source: BANK,
            destination,
        };
        self.out
            .push(Frame::new(now, id.to_raw().expect("id"), data));
    }

    fn status(&mut self, now: Micros) {
        let mut d = [0xFFu8; 8];
        d[0] = 2;
        for (n, s) in self.states.iter().enumerate() {
            let (byte, shift) = (1 + n / 4, 2 * (n % 4));
            d[byte] = (d[byte] & !(3 << shift)) | (s << shift);
        }
        self.frame(now, 127501, 255, &d);
    }

    fn tick(&mut self, now: Micros) {
        if now >= self.next_status {
            self.status(now);
            self.next_status = now + 1_000_000;
        }
    }

    /// A frame on the bus; the bank acts on what is meant for it.
    fn hear(&mut self, now: Micros, f: &Frame) {
        let id = f.can_id();
        let d = f.data();
        match id.pgn {
            126208 if id.destination == BANK => {
                // Fast packet: [seq|0, length, 6 bytes], then [seq|n, 7 bytes].
                if d[0] & 0x1F == 0 {
                    self.want = usize::from(d[1]);
                    self.partial = d[2..].to_vec();
                } else {
                    self.partial.extend_from_slice(&d[1..]);
                }
                if self.partial.len() >= self.want {
                    let p: Vec<u8> = self.partial[..self.want].to_vec();
                    self.heard.push((126208, p.clone()));
                    self.command(now, id.source, &p);
                }
            }
            127502 => {
                self.heard.push((127502, d.to_vec()));
                if self.takes == Takes::Control && d[0] == 2 {
                    for n in 0..6 {
                        let v = (d[1 + n / 4] >> (2 * (n % 4))) & 3;
                        if v < 2 {
                            self.states[n] = v;
                        }
                    }
                    self.status(now);
                }
            }
            _ => {}
        }
    }

    /// 126208 Command to 127501: pairs of (field, value); field n + 1 = indicator n.
    fn command(&mut self, now: Micros, from: u8, p: &[u8]) {
        if p[..4] != [1, 0x0D, 0xF2, 0x01] {
            return;
        }
        match self.takes {
            Takes::Command => {
                for pair in p[6..].chunks(2) {
                    if (2..=7).contains(&pair[0]) {
                        self.states[usize::from(pair[0]) - 2] = pair[1];
                    }
                }
                // Acknowledge: no error, one parameter acknowledged (fast packet).
                self.frame(
                    now,
                    126208,
                    from,
                    &[0x20, 7, 2, 0x0D, 0xF2, 0x01, 0x00, 0x01],
                );
                self.frame(
                    now,
                    126208,
                    from,
                    &[0x21, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                );
                self.status(now);
            }
            // "Command not supported" (PGN error code 1 … here 4: not supported).
            Takes::Control => {
                self.frame(
                    now,
                    126208,
                    from,
                    &[0x40, 7, 2, 0x0D, 0xF2, 0x01, 0x04, 0x01],
                );
                self.frame(
                    now,
                    126208,
                    from,
                    &[0x41, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                );
            }
            Takes::Nothing => {}
        }
    }
}

struct Bench {
    live: LiveGateway,
    bank: Bank,
    now: Micros,
}

impl Bench {
    async fn new(takes: Takes) -> Bench {
        let cfg = GatewayConfig::new("can0", CoreConfig::gateway(1001));
        let mut b = Bench {
            live: LiveGateway::start(cfg).await,
            bank: Bank::new(takes),
            now: 0,
        };
        b.run_for(1_500_000).await; // our claim settles
        let claim = bank_name().to_le_bytes();
        b.bank.frame(b.now, 60928, 255, &claim);
        b.run_for(3_000_000).await;
        b
    }

    async fn run_for(&mut self, d: Micros) {
        let end = self.now + d;
        while self.now < end {
            live_gateway::Bench::tick(self).await;
        }
    }

    async fn call(&self, path: &str, method: &str, arg: Option<Value<'static>>) -> OwnedValue {
        let c = &self.live.client;
        let r = match arg {
            Some(v) => {
                c.call_method(
                    Some(SERVICE),
                    path,
                    Some("com.victronenergy.BusItem"),
                    method,
                    &(v,),
                )
                .await
            }
            None => {
                c.call_method(
                    Some(SERVICE),
                    path,
                    Some("com.victronenergy.BusItem"),
                    method,
                    &(),
                )
                .await
            }
        };
        r.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .body()
            .deserialize()
            .expect("value")
    }

    async fn get(&self, path: &str) -> OwnedValue {
        self.call(path, "GetValue", None).await
    }

    /// `SetValue` while the clock runs; its answer and the virtual time it took.
    async fn set(&mut self, path: &str, value: Value<'static>) -> (i32, Micros) {
        let call = self.live.set_value(SERVICE, path, value);
        live_gateway::answer(self, call).await
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
        if self.now > 1_500_000 {
            self.bank.tick(self.now);
        }
        let frames = std::mem::take(&mut self.bank.out);
        for f in self.live.step(self.now, frames).await {
            self.bank.hear(self.now, &f);
        }
    }
}

fn int(v: &OwnedValue) -> i64 {
    i64::try_from(v.clone())
        .or_else(|_| i32::try_from(v.clone()).map(i64::from))
        .unwrap_or_else(|_| panic!("not an integer: {v:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_taking_commands_switches_and_confirms() {
    let mut b = Bench::new(Takes::Command).await;
    assert_eq!(int(&b.get("/SwitchableOutput/4/State").await), 0);
    assert_eq!(int(&b.get("/NrOfChannels").await), 6);
    let (code, took) = b.set("/SwitchableOutput/4/State", Value::I32(1)).await;
    assert_eq!(code, 0);
    assert!(took < 1_000_000, "answered after {took} µs");
    // Exactly the command of docs/switching-alerts.md#126208-command-to-127501, with On, and nothing else.
    assert_eq!(
        b.bank.heard,
        [(126208, vec![1, 0x0D, 0xF2, 0x01, 0xF8, 1, 6, 1])]
    );
    assert_eq!(int(&b.get("/SwitchableOutput/4/State").await), 1);
    assert_eq!(int(&b.get("/SwitchableOutput/4/Status").await), 9);
    b.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_refusing_commands_is_switched_by_127502() {
    let mut b = Bench::new(Takes::Control).await;
    let (code, _) = b.set("/SwitchableOutput/0/State", Value::I32(1)).await;
    assert_eq!(code, 0);
    assert_eq!(b.bank.heard.len(), 2, "{:X?}", b.bank.heard);
    assert_eq!(b.bank.heard[0].0, 126208);
    // Indicator 1 on, every other channel "take no action".
    assert_eq!(
        b.bank.heard[1],
        (127502, vec![0x02, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    );
    assert_eq!(int(&b.get("/SwitchableOutput/0/State").await), 1);
    // The device is known now: the next change goes as 127502 at once.
    b.bank.heard.clear();
    let (code, _) = b.set("/SwitchableOutput/1/State", Value::I32(0)).await;
    assert_eq!(code, 0);
    assert_eq!(
        b.bank.heard,
        [(127502, vec![0x02, 0xF3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])]
    );
    assert_eq!(int(&b.get("/SwitchableOutput/1/State").await), 0);
    b.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_that_never_confirms_is_refused_and_shows_the_truth() {
    let mut b = Bench::new(Takes::Nothing).await;
    let (code, took) = b.set("/SwitchableOutput/2/State", Value::I32(0)).await;
    assert_eq!(code, 2, "refused: the bank did not confirm");
    // 1 s for the command, 2 s for 127502 (docs/switching-alerts.md#switch-banks).
    assert!(
        (3_000_000..3_200_000).contains(&took),
        "answered after {took} µs"
    );
    let kinds: Vec<u32> = b.bank.heard.iter().map(|h| h.0).collect();
    assert_eq!(kinds, [126208, 127502]);
    assert_eq!(int(&b.get("/SwitchableOutput/2/State").await), 1);
    b.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_pane_paths_and_settings() {
    let mut b = Bench::new(Takes::Command).await;
    let items: std::collections::HashMap<String, std::collections::HashMap<String, OwnedValue>> = b
        .live
        .client
        .call_method(
            Some(SERVICE),
            "/",
            Some("com.victronenergy.BusItem"),
            "GetItems",
            &(),
        )
        .await
        .expect("GetItems")
        .body()
        .deserialize()
        .expect("items");
    let ours: BTreeSet<String> = items.keys().cloned().collect();
    // Victron's SmartSwitch as vecan-dbus publishes it: the paths of
    // venus-service-dumps/smartswitch.json (gui-v2's mock of SmartSwitchDC4),
    // module and output 0.
    let victron: BTreeSet<String> = [
        "/Channel/0/Direction",
        "/Connected",
        "/CustomName",
        "/DeviceInstance",
        "/FirmwareVersion",
        "/HardwareVersion",
        "/Mgmt/Connection",
        "/Mgmt/ProcessName",
        "/Mgmt/ProcessVersion",
        "/ModuleVoltage",
        "/N2kDeviceInstance",
        "/N2kUniqueNumber",
        "/NrOfChannels",
        "/ProductId",
        "/ProductName",
        "/Serial",
        "/State",
        "/SwitchableOutput/0/Current",
        "/SwitchableOutput/0/Dimming",
        "/SwitchableOutput/0/Name",
        "/SwitchableOutput/0/Settings/CustomName",
        "/SwitchableOutput/0/Settings/FuseRating",
        "/SwitchableOutput/0/Settings/Group",
        "/SwitchableOutput/0/Settings/ShowUIControl",
        "/SwitchableOutput/0/Settings/Type",
        "/SwitchableOutput/0/Settings/ValidTypes",
        "/SwitchableOutput/0/Settings/Function",
        "/SwitchableOutput/0/Settings/ValidFunctions",
        "/SwitchableOutput/0/State",
        "/SwitchableOutput/0/Status",
        "/SwitchableOutput/0/Temperature",
        "/SwitchableOutput/0/Voltage",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // Every output path the pane reads from the SmartSwitch, we have for output 0,
    // except what an NMEA 2000 bank cannot measure or set.
    let unmeasured = [
        "Current",
        "Voltage",
        "Temperature",
        "Dimming",
        "Settings/FuseRating",
    ];
    for p in victron
        .iter()
        .filter(|p| p.starts_with("/SwitchableOutput/0/"))
    {
        let leaf = &p["/SwitchableOutput/0/".len()..];
        if !unmeasured.contains(&leaf) {
            assert!(ours.contains(p), "{p} missing: {ours:?}");
        }
    }
    for p in [
        "/State",
        "/NrOfChannels",
        "/ProductName",
        "/DeviceInstance",
        "/CustomName",
    ] {
        assert!(victron.contains(p) && ours.contains(p), "{p}");
    }
    // And nothing of ours under an output that Victron's service does not have.
    for p in ours
        .iter()
        .filter(|p| p.starts_with("/SwitchableOutput/0/"))
    {
        assert!(victron.contains(p), "{p} is not a SmartSwitch path");
    }
    // Type toggle among momentary and toggle; function manual; a name shown.
    assert_eq!(int(&b.get("/SwitchableOutput/0/Settings/Type").await), 1);
    assert_eq!(
        int(&b.get("/SwitchableOutput/0/Settings/ValidTypes").await),
        3
    );
    assert_eq!(
        int(&b.get("/SwitchableOutput/0/Settings/Function").await),
        2
    );
    let name: String = b
        .get("/SwitchableOutput/0/Name")
        .await
        .try_into()
        .expect("text");
    assert_eq!(name, "Channel 1");
    // Settings: a name is kept, a type the bank cannot be is refused.
    let (code, _) = b
        .set(
            "/SwitchableOutput/0/Settings/CustomName",
            Value::from("Deck light"),
        )
        .await;
    assert_eq!(code, 0);
    let name: String = b
        .get("/SwitchableOutput/0/Settings/CustomName")
        .await
        .try_into()
        .expect("text");
    assert_eq!(name, "Deck light");
    assert_eq!(
        std::mem::take(&mut b.live.state),
        [(
            "switch|socketcan_can0_di2_uc1700373_bank2|0/CustomName".to_owned(),
            "Deck light".to_owned()
        )]
    );
    let (code, _) = b
        .set("/SwitchableOutput/0/Settings/Type", Value::I32(2))
        .await;
    assert_eq!(code, 2);
    assert_eq!(int(&b.get("/SwitchableOutput/0/Settings/Type").await), 1);
    b.end().await;
}
