//! NMEA 2000 alerts: the one real 126983 we have (canboat's analyzer sample, with
//! canboat's decode), then through the whole daemon: `n2k-dbus replay --active` of
//! the alert scenario (`candump-samples/scenarios/alerts/bilge.log`, written by
//! `alerts.py`: no shared bus capture carries 126983) into a private dbus-daemon where
//! a stand-in for Venus's platform service takes `/Notifications/Inject` writes as
//! venus-platform does (docs/switching-alerts.md#notificationsinject). A user acknowledging the
//! notification there makes the daemon broadcast 126984 (PDU2: the alert's header
//! says which alert), byte for byte. Alerts about a generator the gateway publishes
//! are its genset's `/Error/0/Id` instead (`alerts/genset.log`, checked at its
//! `#=` times).

use crate::support::{cli, gateway_replay, private_bus, reference};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use n2k_dbus::dbus::{
    Change, Item, ItemTree, Request, Service, ServiceOptions, ServiceSpec, Value, WriteOutcome,
};
use n2k_dbus::network::ClaimState;
use n2k_dbus::venus::Rules;
use tokio::sync::mpsc;

use private_bus::PrivateBus;

/// The panel's NAME (alerts.py: unique 1460999, Maretron, 20/140).
const PANEL_NAME: u64 = 1460999 | (137 << 21) | (140 << 40) | (20 << 49) | (4 << 60) | (1 << 63);
const BILGE: &str = "1\tALM100\tBilge high water (Engine Room)";
const DOOR: &str = "0\tALM100\talert 5/2/8";

/// The platform stand-in: `/Notifications/Inject` writable, one notification entry
/// whose acknowledgement the test sets.
async fn platform(bus: &PrivateBus) -> (Service, mpsc::Receiver<Request>) {
    let mut items = ItemTree::new();
    let text = || Item::new("").writable(n2k_dbus::model::WriteRule::Text { max_chars: 256 });
    items.insert("/Notifications/Inject", text()).unwrap();
    items
        .insert("/Notifications/0/DeviceName", Item::new(""))
        .unwrap();
    items
        .insert("/Notifications/0/Description", Item::new(""))
        .unwrap();
    items
        .insert("/Notifications/0/Acknowledged", Item::new(0))
        .unwrap();
    let (tx, rx) = mpsc::channel(16);
    let svc = Service::publish(
        &bus.bus(),
        ServiceSpec::new("com.victronenergy.platform", items),
        ServiceOptions {
            properties_changed: true,
            writes: Some(tx),
            ..ServiceOptions::default()
        },
    )
    .await
    .expect("the platform stand-in publishes");
    (svc, rx)
}

/// The replay process, killed however the test ends.
struct Replay(Child);

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn replay(bus: &PrivateBus, log: &Path) -> Replay {
    let scenario = reference::samples().join("scenarios/alerts/bilge.log");
    cli::command()
        .arg("replay")
        .arg(&scenario)
        .args(["--active", "--hold", "--speed", "4", "--dbus", &bus.address])
        .arg("--transmit-log")
        .arg(log)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Replay)
        .expect("n2k-dbus starts")
}

/// Frames of a candump -l transmit log: (id, data).
fn frames(log: &Path) -> Vec<(u32, Vec<u8>)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (id, data) = l.split_whitespace().nth(2)?.split_once('#')?;
            let data = (0..data.len() / 2)
                .map(|k| u8::from_str_radix(&data[2 * k..2 * k + 2], 16).unwrap())
                .collect();
            Some((u32::from_str_radix(id, 16).ok()?, data))
        })
        .collect()
}

/// The fast-packet payloads of broadcast (PDU2) PGN `pgn`.
fn fast_packets(frames: &[(u32, Vec<u8>)], pgn: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, Vec<u8>)> = None;
    for (id, d) in frames {
        if (id >> 8) & 0x3FFFF != pgn {
            continue;
        }
        if d[0] & 0x1F == 0 {
            cur = Some((usize::from(d[1]), d[2..].to_vec()));
        } else if let Some((_, buf)) = &mut cur {
            buf.extend_from_slice(&d[1..]);
        }
        if let Some((len, buf)) = &cur {
            if buf.len() >= *len {
                out.push(buf[..*len].to_vec());
                cur = None;
            }
        }
    }
    out
}

#[test]
fn canboats_126983_sample_reads_as_canboat_decodes_it() {
    let dir = reference::samples().join("analyzer-tests");
    let line = std::fs::read_to_string(dir.join("pgn-126983.in")).expect("sample");
    // Actisense ASCII: time, prio, pgn, src, dst, len, bytes.
    let bytes: Vec<u8> = line
        .trim()
        .split(',')
        .skip(6)
        .map(|h| u8::from_str_radix(h, 16).expect("hex"))
        .collect();
    let decode: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("pgn-126983-nv.out"))
            .expect("decode")
            .lines()
            .next()
            .expect("a line"),
    )
    .expect("json");
    let f = &decode["fields"];
    let n = |k: &str| {
        let v = &f[k];
        v.get("value").unwrap_or(v).as_u64().expect(k)
    };
    let a = n2k_dbus::venus::alerts::codec::parse_alert(&bytes).expect("an alert");
    assert_eq!(u64::from(a.id.kind), n("Alert Type"));
    assert_eq!(u64::from(a.id.category), n("Alert Category"));
    assert_eq!(u64::from(a.id.system), n("Alert System"));
    assert_eq!(u64::from(a.id.subsystem), n("Alert Sub-System"));
    assert_eq!(u64::from(a.id.id), n("Alert ID"));
    assert_eq!(a.id.source_name, n("Data Source Network ID NAME"));
    assert_eq!(u64::from(a.id.instance), n("Data Source Instance"));
    assert_eq!(u64::from(a.id.index), n("Data Source Index-Source"));
    assert_eq!(u64::from(a.id.occurrence), n("Alert Occurrence Number"));
    assert_eq!(u64::from(a.ack_supported), n("Acknowledge Support"));
    assert_eq!(u64::from(a.priority), n("Alert Priority"));
    assert_eq!(u64::from(a.state), n("Alert State"));
    // State 50 is none of the six: not an active alert.
    assert!(!a.active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_become_notifications_and_are_acknowledged_on_the_bus() {
    let bus = PrivateBus::start();
    let (platform, mut writes) = platform(&bus).await;
    let dir = std::env::temp_dir().join(format!("n2k-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("out.log");
    let replay = replay(&bus, &log);

    // The notifications, as the platform receives them (31 s of capture at 4×).
    let mut injected = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while injected.len() < 3 {
        assert!(Instant::now() < deadline, "injected so far: {injected:?}");
        let Ok(Some(Request::Write(w))) =
            tokio::time::timeout(Duration::from_secs(1), writes.recv()).await
        else {
            continue;
        };
        assert_eq!(w.path, "/Notifications/Inject");
        if let Value::Text(t) = &w.value {
            injected.push(t.clone());
        }
        let _ = w.reply.send(WriteOutcome::Store);
    }
    // The text came 2.5 s after its alert: the notification waited for it. The
    // warning without a text came after 10 s. The alarm cleared at 21 s and active
    // again at 25 s is a new notification; repeats in between are none.
    assert_eq!(injected, [BILGE, DOOR, BILGE]);

    // A user acknowledges the alarm on the GX.
    platform
        .apply(vec![
            Change::Set(
                "/Notifications/0/DeviceName".into(),
                Value::Text("ALM100".into()),
            ),
            Change::Set(
                "/Notifications/0/Description".into(),
                Value::Text("Bilge high water (Engine Room)".into()),
            ),
        ])
        .await
        .expect("set");
    platform
        .apply(vec![Change::Set(
            "/Notifications/0/Acknowledged".into(),
            Value::Int(1),
        )])
        .await
        .expect("acknowledged");

    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        let sent = frames(&log);
        if let Some(r) = fast_packets(&sent, 126984).pop() {
            break (r, sent);
        }
        assert!(Instant::now() < deadline, "no 126984");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (payload, sent) = response;
    // Our NAME: the payload of our own address claim.
    let ours = sent
        .iter()
        .find(|(id, _)| (id >> 8) & 0x3FFFF == 0x0EEFF)
        .map(|(_, d)| d.clone())
        .expect("our address claim");
    let mut want = vec![0x12, 5, 1, 7, 0];
    want.extend(PANEL_NAME.to_le_bytes());
    want.extend([0, 0, 1]);
    want.extend(&ours);
    want.push(0xFC);
    assert_eq!(payload, want);
    // One acknowledgement, and nothing for the warning (not acknowledged on Venus).
    assert_eq!(fast_packets(&sent, 126984).len(), 1);

    drop(replay);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn alerts_about_a_generator_are_its_error_id() {
    let log = reference::samples().join("scenarios/alerts/genset.log");
    let mut rig = gateway_replay::play(&log).await;
    let stats = rig.driver.gateway().alerts().stats();
    assert_eq!(stats.raised, 0, "no notification for a genset's alerts");
    assert_eq!(stats.alerts, 2);
    rig.publisher.withdraw_all().await;
}

/// Dirona's battery monitor reports 0 K (docs/venus-services.md#plausibility): with `--alerts-out`
/// the gateway tells the bus, as a caution of its own node (126983 with our NAME as
/// the data source, and its 126985 text), repeated every second.
#[tokio::test]
async fn the_gateways_own_alarms_go_out_as_alerts_of_its_node() {
    let path = reference::samples().join("dirona-actisense-serial.raw");
    let mut rig = gateway_replay::Rig::new(&path, false, Rules::default()).await;
    rig.keep_sent = true;
    rig.driver.set_alerts_out(0, true);
    let end = rig.end();
    rig.run_to(end).await;
    let core = rig.driver.gateway().core();
    let ours = core.name();
    let ClaimState::Claimed { address } = core.claim_state() else {
        panic!("our claim: {:?}", core.claim_state());
    };
    let frames: Vec<(u32, Vec<u8>)> = rig
        .sent
        .iter()
        .filter(|f| f.can_id().source == address)
        .map(|f| (f.id, f.data().to_vec()))
        .collect();
    let alerts = fast_packets(&frames, 126983);
    let texts = fast_packets(&frames, 126985);
    assert!(alerts.len() > 10, "{} alerts", alerts.len());
    for a in &alerts {
        assert_eq!(a.len(), 28);
        // Caution (8), technical (1); system 1, sub-system 0, alert 3; about us.
        assert_eq!(a[..5], [0x18, 1, 0, 3, 0]);
        assert_eq!(a[5..13], ours.0.to_le_bytes());
        // Occurrence 1; no silence, acknowledgement or escalation (the two
        // reserved bits above them set, as reserved bits go out); active with its
        // threshold exceeded.
        assert_eq!((a[15], a[16], a[25], a[27]), (1, 0xC0, 0x11, 2));
    }
    let text = texts.first().expect("a 126985");
    assert_eq!(text[..16], alerts[0][..16]);
    let description = String::from_utf8_lossy(&text[19..17 + usize::from(text[17])]);
    assert!(
        description.ends_with("implausible values refused; see the bus service"),
        "{description}"
    );
    rig.publisher.withdraw_all().await;
}
