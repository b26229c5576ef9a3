//! NMEA 2000-out's virtual nodes inside the whole gateway, on a virtual clock: a
//! scripted display commands a device instance and a data instance (126208), and
//! the identities survive a restart through the state entries; a device with a
//! lower NAME takes one node's address and only that node moves.

use crate::support::names::name;
use std::sync::Arc;

use n2k_dbus::can::{CanId, Frame, Micros};
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::Outbox;
use n2k_dbus::export::{ExportConfig, ServiceInput, STATE_PREFIX};
use n2k_dbus::gateway::{Gateway, GatewayConfig, Output};
use n2k_dbus::model::Value;
use n2k_dbus::n2k::{fragment, Assembler};
use n2k_dbus::network::Name;

const S: Micros = 1_000_000;
const BATTERY: &str = "com.victronenergy.battery.ttyUSB1";
const TANK: &str = "com.victronenergy.tank.adc_builtin0_23";

struct Rig {
    g: Gateway,
    now: Micros,
    sent: Vec<Frame>,
    /// State entries handed out to store.
    state: Vec<(String, String)>,
}

impl Rig {
    fn new(state: Vec<(String, String)>) -> Rig {
        let g = Gateway::new(
            GatewayConfig::new("can0", CoreConfig::gateway(1001)),
            Arc::new(Outbox::new()),
        )
        .with_export(ExportConfig {
            state,
            ..ExportConfig::default()
        });
        let mut r = Rig {
            g,
            now: 0,
            sent: Vec::new(),
            state: Vec::new(),
        };
        r.g.start(0);
        r.service(
            BATTERY,
            &[
                ("/DeviceInstance", Value::Int(279)),
                ("/Dc/0/Voltage", Value::Real(12.9)),
            ],
        );
        r.service(
            TANK,
            &[
                ("/DeviceInstance", Value::Int(23)),
                ("/FluidType", Value::Int(0)),
                ("/Level", Value::Real(40.0)),
            ],
        );
        r.run_to(3 * S);
        r
    }

    fn service(&mut self, name: &str, items: &[(&str, Value)]) {
        let items = items
            .iter()
            .map(|(p, v)| (p.to_string(), v.clone()))
            .collect();
        self.g.handle_service(
            self.now,
            ServiceInput::Appeared {
                service: name.into(),
                items,
            },
        );
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(o) = self.g.poll() {
            match o {
                Output::Transmit(f) => self.sent.push(f),
                Output::State(s) => self.state.extend(s),
                _ => {}
            }
        }
    }

    fn run_to(&mut self, t: Micros) {
        while self.now < t {
            self.now = (self.now + 100_000).min(t);
            self.g.handle_timeout(self.now);
            self.collect();
        }
    }

    fn hear(&mut self, source: u8, destination: u8, pgn: u32, payload: &[u8]) {
        let id = CanId {
            priority: 3,
            pgn,
            source,
            destination,
        };
        for f in fragment::frames(self.now, id, payload, 2).unwrap() {
            self.g.handle_frame(self.now, &f);
            self.collect();
        }
    }

    /// (source, pgn, payload) of every message sent since `from`.
    fn messages(&self, from: usize) -> Vec<(u8, u32, Vec<u8>)> {
        let mut asm = Assembler::new();
        self.sent[from..]
            .iter()
            .filter_map(|f| {
                asm.on_frame(f)
                    .map(|m| (m.id.source, m.id.pgn, m.data.to_vec()))
            })
            .collect()
    }

    /// The address and NAME of the node of class/function `cf`, from its last claim.
    fn node(&self, cf: (u8, u8)) -> (u8, Name) {
        self.messages(0)
            .into_iter()
            .filter(|m| m.1 == 60928)
            .map(|m| (m.0, Name::from_payload(&m.2).unwrap()))
            .rfind(|(_, n)| (n.device_class(), n.device_function()) == cf)
            .expect("the node claimed")
    }
}

#[test]
fn instance_commands_are_obeyed_and_survive_a_restart() {
    let mut r = Rig::new(Vec::new());
    let (address, name) = r.node((35, 170));
    assert_eq!(name.device_instance(), 0);
    // A display at 0x21: device instance 13 (lower 5, upper 1), then the 127508
    // instance 7.
    let from = r.sent.len();
    r.hear(
        0x21,
        address,
        126208,
        &[1, 0x00, 0xEE, 0x00, 0xF8, 2, 3, 5, 4, 1],
    );
    r.hear(0x21, address, 126208, &[1, 0x14, 0xF2, 0x01, 0xF8, 1, 1, 7]);
    r.run_to(r.now + 3 * S);
    let after = r.messages(from);
    let acks: Vec<_> = after.iter().filter(|m| m.1 == 126208).collect();
    assert_eq!(acks.len(), 2);
    assert!(acks.iter().all(|m| m.0 == address && m.2[4] == 0));
    let (moved_to, renamed) = r.node((35, 170));
    assert_eq!(
        (moved_to, renamed.device_instance()),
        (address, 13),
        "same address, new NAME"
    );
    assert_eq!(renamed.unique_number(), name.unique_number());
    let status: Vec<_> = after
        .iter()
        .filter(|m| m.1 == 127508 && m.0 == address)
        .collect();
    assert_eq!(status.last().unwrap().2[0], 7, "the new data instance");

    // A restart: the stored entries make the same node.
    let state: Vec<(String, String)> = std::mem::take(&mut r.state)
        .into_iter()
        .map(|(k, v)| (k.strip_prefix(STATE_PREFIX).expect("prefix").to_owned(), v))
        .collect();
    assert!(
        state
            .iter()
            .any(|(k, v)| k.starts_with("dev.35.170|battery/279|") && v == "13"),
        "{state:?}"
    );
    let again = Rig::new(state);
    let (address2, name2) = again.node((35, 170));
    assert_eq!(
        (address2, name2),
        (address, renamed),
        "same address and NAME after a restart"
    );
    let status = again
        .messages(0)
        .into_iter()
        .rfind(|m| m.1 == 127508 && m.0 == address2)
        .expect("127508");
    assert_eq!(status.2[0], 7);
    let (tank_address, tank) = again.node((75, 150));
    assert_eq!(
        (tank_address, tank),
        r.node((75, 150)),
        "the tank is unchanged too"
    );
}

#[test]
fn a_lower_name_moves_only_the_node_whose_address_it_takes() {
    let mut r = Rig::new(Vec::new());
    let (battery, _) = r.node((35, 170));
    let (tank, _) = r.node((75, 150));
    let lower = name(1, 137, (25, 130), 0);
    let from = r.sent.len();
    r.hear(tank, 255, 60928, &lower.to_payload());
    r.run_to(r.now + 3 * S);
    let (new_tank, _) = r.node((75, 150));
    assert_ne!(new_tank, tank, "the tank's node moved");
    assert_eq!(r.node((35, 170)).0, battery, "the battery's did not");
    let claims: Vec<u8> = r
        .messages(from)
        .iter()
        .filter(|m| m.1 == 60928)
        .map(|m| m.0)
        .collect();
    assert_eq!(
        claims,
        [new_tank],
        "one claim, the tank's, from its new address"
    );
    // Its data follow it.
    let levels: Vec<u8> = r
        .messages(from)
        .iter()
        .filter(|m| m.1 == 127505)
        .map(|m| m.0)
        .collect();
    assert!(
        !levels.is_empty() && levels.iter().all(|&a| a == new_tank),
        "{levels:?}"
    );
}
