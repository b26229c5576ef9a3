//! The core's own virtual nodes (NMEA 2000-out) on a virtual clock: claims after the
//! gateway's scan, one address and NAME each, address fights, requests, 126208
//! instance commands, heartbeats, silence after removal.

use crate::support::names::name;
use n2k_dbus::can::{Frame, Micros};
use n2k_dbus::core::{Core, CoreConfig, Event, LocalCommand, LocalConfig, Output};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::network::mgmt::{self, parse_group_function, GroupFunction};
use n2k_dbus::network::{ConfigInfo, Name, ProductInfo};

const S: Micros = 1_000_000;

fn local_name(unique: u32, function: u8) -> Name {
    name(unique, 2046, (35, function), 0)
}

fn local(unique: u32, preferred: u8) -> LocalConfig {
    LocalConfig {
        name: local_name(unique, 170),
        preferred_address: preferred,
        product: ProductInfo {
            nmea2000_version: Some(2100),
            product_code: Some(0xA381),
            model_id: format!("SmartShunt {unique}"),
            software_version: "4.12".into(),
            model_version: "SmartShunt 500A".into(),
            serial: "HQ2107ABCDE".into(),
            certification_level: None,
            load_equivalency: Some(0),
        },
        config: ConfigInfo::default(),
        heartbeat_interval_ms: 60_000,
        transmit_pgns: vec![127506, 127508],
        instance_fields: vec![(127508, 1), (127506, 2)],
    }
}

/// A core with the gateway at 100 and two own nodes preferring 30 and 31.
struct Bus {
    core: Core,
    now: Micros,
    sent: Vec<Frame>,
    events: Vec<Event>,
}

impl Bus {
    fn new() -> Bus {
        let mut core = Core::new(CoreConfig::gateway(1001));
        core.start(0);
        core.add_local(0, 1, local(501, 30)).unwrap();
        core.add_local(0, 2, local(502, 31)).unwrap();
        let mut b = Bus {
            core,
            now: 0,
            sent: Vec::new(),
            events: Vec::new(),
        };
        b.run_to(2 * S);
        b
    }

    fn collect(&mut self, t: Micros, o: Output) {
        match o {
            Output::Transmit(f) => self.sent.push(Frame::new(t, f.id, f.data())),
            Output::Event(e) => self.events.push(e),
            Output::Register(_) => {}
        }
    }

    /// Time passes in steps of at most 1 s (a larger step is a gap in time, which
    /// the core's timers take as one).
    fn run_to(&mut self, t: Micros) {
        let mut out = Vec::new();
        let mut at = self.now;
        while at < t {
            at = (at + S).min(t);
            self.core.advance_to(at, &mut |when, o| out.push((when, o)));
        }
        for (at, o) in out {
            self.collect(at, o);
        }
        self.now = t;
    }

    fn hear(&mut self, id: u32, data: &[u8]) {
        self.run_to(self.now + 1000);
        let f = Frame::new(self.now, id, data);
        self.core.on_frame(self.now, &f);
        while let Some(o) = self.core.poll_output() {
            self.collect(self.now, o);
        }
    }

    /// Sends a fast-packet message to the core, frame by frame.
    fn hear_message(&mut self, priority: u8, pgn: u32, source: u8, dest: u8, payload: &[u8]) {
        let id = n2k_dbus::can::CanId {
            priority,
            pgn,
            source,
            destination: dest,
        };
        for f in n2k_dbus::n2k::fragment::frames(self.now, id, payload, 3).unwrap() {
            self.hear(f.id, f.data());
        }
    }

    /// The messages sent since `from`, reassembled: (source, pgn, destination, payload).
    fn messages(&self, from: usize) -> Vec<(u8, u32, u8, Vec<u8>)> {
        let mut asm = Assembler::new();
        let mut out = Vec::new();
        for f in &self.sent[from..] {
            if let Some(m) = asm.on_frame(f) {
                out.push((m.id.source, m.id.pgn, m.id.destination, m.data.to_vec()));
            }
        }
        out
    }

    fn of_pgn(&self, from: usize, pgn: u32) -> Vec<(u8, u32, u8, Vec<u8>)> {
        self.messages(from)
            .into_iter()
            .filter(|m| m.1 == pgn)
            .collect()
    }

    fn claims(&self, from: usize) -> Vec<(u8, Name)> {
        self.messages(from)
            .into_iter()
            .filter(|m| m.1 == mgmt::PGN_ADDRESS_CLAIM)
            .map(|m| (m.0, Name::from_payload(&m.3).unwrap()))
            .collect()
    }
}

#[test]
fn own_nodes_claim_after_the_scan_with_their_own_names_and_addresses() {
    let b = Bus::new();
    let claims = b.claims(0);
    let gateway = CoreConfig::gateway(1001).name;
    // The gateway scans for 1 s and claims 100; the own nodes claim at the end of
    // the scan, each once, from its preferred address, without a scan of their own.
    assert_eq!(
        claims,
        [
            (100, gateway),
            (30, local_name(501, 170)),
            (31, local_name(502, 170))
        ]
    );
    let requests = b
        .messages(0)
        .iter()
        .filter(|m| m.1 == mgmt::PGN_ISO_REQUEST)
        .count();
    assert_eq!(requests, 1, "one request for claims, the gateway's");
    assert_eq!(b.core.local_address(1), Some(30));
    assert_eq!(b.core.local_address(2), Some(31));
    assert!(b.events.contains(&Event::LocalAddress {
        id: 1,
        address: Some(30)
    }));
    // Each announced itself with a heartbeat once its claim held (250 ms).
    let beats: Vec<_> = b
        .sent
        .iter()
        .filter(|f| f.can_id().pgn == mgmt::PGN_HEARTBEAT)
        .map(|f| (f.can_id().source, f.timestamp))
        .collect();
    assert_eq!(beats, [(100, 1_250_000), (30, 1_250_000), (31, 1_250_000)]);
}

#[test]
fn own_nodes_never_take_each_others_or_the_gateways_address() {
    let mut core = Core::new(CoreConfig::gateway(1001));
    core.start(0);
    core.add_local(0, 1, local(501, 100)).unwrap();
    core.add_local(0, 2, local(502, 100)).unwrap();
    core.advance_to(2 * S, &mut |_, _| {});
    assert_eq!(core.local_address(1), Some(101));
    assert_eq!(core.local_address(2), Some(102));
}

#[test]
fn a_lower_name_on_one_own_nodes_address_moves_that_node_only() {
    let mut b = Bus::new();
    let from = b.sent.len();
    // A device with a lower NAME (unique 7, manufacturer 137) claims 30.
    let lower = name(7, 137, (25, 130), 0);
    assert!(lower < local_name(501, 170));
    b.hear(0x18EEFF1E, &lower.to_payload());
    b.run_to(b.now + S);
    // Node 1 claims the next free address (31 is node 2's, so 32); node 2 and the
    // gateway send nothing.
    assert_eq!(b.claims(from), [(32, local_name(501, 170))]);
    assert_eq!(b.core.local_address(1), Some(32));
    assert_eq!(b.core.local_address(2), Some(31));
    assert_eq!(b.core.table().name_at(30), Some(lower));
    // A higher NAME on node 2's address: node 2 defends it.
    let from = b.sent.len();
    b.hear(0x18EEFF1F, &Name(u64::MAX).to_payload());
    assert_eq!(b.claims(from), [(31, local_name(502, 170))]);
    assert_eq!(b.core.local_address(2), Some(31));
}

#[test]
fn requests_are_answered_by_the_node_asked() {
    let mut b = Bus::new();
    let from = b.sent.len();
    // An MFD at 5 asks node 31 for its product information.
    b.hear(0x18EA1F05, &mgmt::request(mgmt::PGN_PRODUCT_INFO));
    let m = b.messages(from);
    assert_eq!(m.len(), 1);
    let (source, pgn, _, payload) = &m[0];
    assert_eq!((*source, *pgn), (31, mgmt::PGN_PRODUCT_INFO));
    let p = ProductInfo::parse(payload).unwrap();
    assert_eq!(p.model_id, "SmartShunt 502");
    assert_eq!(p.software_version, "4.12");
    // A PGN list request to everyone: the gateway and both nodes answer (2 each).
    let from = b.sent.len();
    b.hear(0x18EAFF05, &mgmt::request(mgmt::PGN_PGN_LIST));
    let lists = b.of_pgn(from, mgmt::PGN_PGN_LIST);
    let who: Vec<_> = lists.iter().map(|m| (m.0, m.3[0])).collect();
    assert_eq!(
        who,
        [(30, 0), (30, 1), (31, 0), (31, 1), (100, 0), (100, 1)]
    );
    let node_list = &lists[0].3;
    assert!(node_list.windows(3).any(|w| w == mgmt::request(127508)));
    // A data PGN asked of a node goes to its owner; a PGN it does not send is NAKed.
    b.events.clear();
    let from = b.sent.len();
    b.hear(0x18EA1E05, &mgmt::request(127508));
    assert!(b.events.contains(&Event::LocalCommand {
        id: 1,
        command: LocalCommand::Requested { pgn: 127508 }
    }));
    b.hear(0x18EA1E05, &mgmt::request(129025));
    let m = b.of_pgn(from, mgmt::PGN_ISO_ACK);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].0, m[0].1, m[0].2), (30, mgmt::PGN_ISO_ACK, 5));
    // A request for claims to everyone: every own node claims again.
    let from = b.sent.len();
    b.hear(0x18EAFF05, &mgmt::request(mgmt::PGN_ADDRESS_CLAIM));
    let sources: Vec<_> = b.claims(from).iter().map(|c| c.0).collect();
    assert_eq!(sources, [30, 31, 100]);
}

#[test]
fn a_commanded_device_instance_renames_the_node_and_is_acknowledged() {
    let mut b = Bus::new();
    let from = b.sent.len();
    b.events.clear();
    // docs/nmea2000.md#changing-a-device-instance: device instance lower 5, upper 1 → 13, to node 30 from 5.
    b.hear_message(
        3,
        126208,
        5,
        30,
        &[1, 0x00, 0xEE, 0x00, 0xF8, 2, 3, 5, 4, 1],
    );
    let m: Vec<_> = b.messages(from).into_iter().filter(|m| m.0 == 30).collect();
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!((m[0].0, m[0].1, m[0].2), (30, 126208, 5));
    assert_eq!(m[0].3, [2, 0x00, 0xEE, 0x00, 0x00, 2, 0x00]);
    let renamed = local_name(501, 170).with_device_instance(13);
    assert_eq!((m[1].0, m[1].1), (30, mgmt::PGN_ADDRESS_CLAIM));
    assert_eq!(Name::from_payload(&m[1].3), Some(renamed));
    assert!(b.events.contains(&Event::LocalRenamed {
        id: 1,
        name: renamed
    }));
    assert_eq!(b.core.local_name(1), Some(renamed));
    // A data instance: 127508 field 1 = 4 goes to the owner; an unknown field is refused.
    b.events.clear();
    let from = b.sent.len();
    b.hear_message(
        3,
        126208,
        5,
        30,
        &[1, 0x14, 0xF2, 0x01, 0xF8, 2, 1, 4, 3, 9],
    );
    assert!(b.events.contains(&Event::LocalCommand {
        id: 1,
        command: LocalCommand::DataInstance {
            pgn: 127508,
            field: 1,
            value: 4
        }
    }));
    let ack = &b.of_pgn(from, 126208)[0].3;
    assert_eq!(ack, &[2, 0x14, 0xF2, 0x01, 0x00, 2, 0x10]);
    // An interval for 127506 (the MFD switches it on at 1 s).
    b.events.clear();
    b.hear_message(
        3,
        126208,
        5,
        30,
        &[0, 0x12, 0xF2, 0x01, 0xE8, 0x03, 0, 0, 0xFF, 0xFF, 0],
    );
    assert!(b.events.contains(&Event::LocalCommand {
        id: 1,
        command: LocalCommand::Interval {
            pgn: 127506,
            ms: 1000
        }
    }));
    assert!(matches!(
        parse_group_function(&b.of_pgn(from, 126208).last().unwrap().3),
        Some(GroupFunction::Other {
            function: 2,
            pgn: 127506
        })
    ));
}

#[test]
fn heartbeats_follow_the_period_and_a_removed_node_falls_silent() {
    let mut b = Bus::new();
    assert!(b.core.local_send(
        b.now,
        1,
        6,
        127508,
        &[0, 0x7C, 0x05, 0, 0, 0xFF, 0xFF, 0xFF]
    ));
    b.run_to(125 * S);
    let beats = |b: &Bus, src: u8| {
        b.sent
            .iter()
            .filter(|f| f.can_id().pgn == mgmt::PGN_HEARTBEAT && f.can_id().source == src)
            .map(|f| f.timestamp)
            .collect::<Vec<_>>()
    };
    assert_eq!(beats(&b, 30), [1_250_000, 61_250_000, 121_250_000]);
    assert!(b.core.remove_local(1));
    assert!(!b.core.local_send(b.now, 1, 6, 127508, &[0; 8]));
    let from = b.sent.len();
    b.run_to(300 * S);
    assert!(b.sent[from..].iter().all(|f| f.can_id().source != 30));
    assert_eq!(beats(&b, 31).len(), 5);
    // Its address is free again: a request to it is nobody's business now.
    let from = b.sent.len();
    b.hear(0x18EA1E05, &mgmt::request(mgmt::PGN_PRODUCT_INFO));
    assert!(b.of_pgn(from, mgmt::PGN_PRODUCT_INFO).is_empty());
}

#[test]
fn a_listen_only_core_never_claims_for_own_nodes() {
    let mut core = Core::new(CoreConfig::gateway(1001).listen_only());
    core.start(0);
    core.add_local(0, 1, local(501, 30)).unwrap();
    let mut sent = 0;
    core.advance_to(10 * S, &mut |_, o| {
        sent += matches!(o, Output::Transmit(_)) as u32
    });
    assert_eq!(sent, 0);
    assert_eq!(core.local_address(1), None);
    assert!(!core.local_send(10 * S, 1, 6, 127508, &[0; 8]));
}
