//! An alert's life on a virtual clock: raised once with its text, a text that comes
//! late, acknowledged byte for byte, cleared and raised again, the setting off.

use super::*;

const S: Micros = 1_000_000;
/// The node the alerts are about (and their sender), and our own NAME.
const ABOUT: u64 = 0xC0A0_AA00_1135_AC77;
const OURS: Name = Name(0xC0FE_1001_0000_03E9);

/// A gateway that publishes no genset.
struct Nowhere;
impl Homes for Nowhere {
    fn genset(&self, _: Name) -> bool {
        false
    }
}
const NOWHERE: Nowhere = Nowhere;

/// A gateway that publishes [`ABOUT`] as a genset.
struct Genset;
impl Homes for Genset {
    fn genset(&self, about: Name) -> bool {
        about.0 == ABOUT
    }
}

/// A message to the stage, as the gateway hands it: from `name`, with `homes`
/// where the mapper would be.
fn msg(
    a: &mut Alerts,
    now: Micros,
    name: Option<Name>,
    pgn: u32,
    data: &[u8],
    homes: &dyn Homes,
) -> bool {
    let m = Incoming::broadcast(now, 0, name, pgn, data);
    let sink = crate::model::sink::Recorder::default();
    a.on_message(&m, Context { sink: &sink, homes })
}

fn id(alert: u16) -> AlertId {
    AlertId {
        kind: 2,
        category: 1,
        system: 5,
        subsystem: 1,
        id: alert,
        source_name: ABOUT,
        instance: 0,
        index: 0,
        occurrence: 1,
    }
}

fn alert(id: AlertId, state: u8) -> Vec<u8> {
    let mut a = id.header().to_vec();
    // Acknowledge supported (bit 4), no NAME of an acknowledger, auto trigger,
    // threshold exceeded, priority 1, the state.
    a.extend([0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 1, state]);
    a
}

fn text(id: AlertId, description: &str, location: &str) -> Vec<u8> {
    let mut t = id.header().to_vec();
    t.push(0);
    for s in [description, location] {
        t.push(s.len() as u8 + 2);
        t.push(1);
        t.extend(s.as_bytes());
    }
    t
}

#[test]
fn raised_once_with_its_text_and_acknowledged() {
    let mut a = Alerts::new();
    let bilge = id(7);
    assert!(msg(&mut a, 0, None, 126983, &alert(bilge, 2), &NOWHERE));
    assert!(a.poll_notification().is_none(), "waits for its text");
    msg(
        &mut a,
        S / 2,
        None,
        126985,
        &text(bilge, "Bilge pump running", "Engine Room"),
        &NOWHERE,
    );
    let n = a.poll_notification().expect("raised");
    assert_eq!(
        n.inject_text(),
        "1\tNMEA 2000 device 1420407\tBilge pump running (Engine Room)"
    );
    // Repeats while active are the same notification.
    for t in 1..5 {
        msg(&mut a, t * S, None, 126983, &alert(bilge, 2), &NOWHERE);
    }
    assert!(a.poll_notification().is_none());
    // Acknowledged on Venus: 126984 to the sender, byte for byte.
    assert_eq!(a.acknowledge("other", &n.description, OURS), 0);
    assert_eq!(a.acknowledge(&n.device, &n.description, OURS), 1);
    let r = a.poll_response().expect("126984");
    let mut want = vec![0x12, 5, 1, 7, 0];
    want.extend(ABOUT.to_le_bytes());
    want.extend([0, 0, 1]);
    want.extend(OURS.0.to_le_bytes());
    want.push(0xFC);
    assert_eq!(r.payload.to_vec(), want);
    // The same acknowledgement again (a second signal of the same entry): once.
    assert_eq!(a.acknowledge(&n.device, &n.description, OURS), 0);
    // Once the sender reports it acknowledged, a second acknowledge sends nothing.
    msg(&mut a, 6 * S, None, 126983, &alert(bilge, 4), &NOWHERE);
    assert_eq!(a.acknowledge(&n.device, &n.description, OURS), 0);
    // Cleared, then active again: a new notification.
    msg(&mut a, 7 * S, None, 126983, &alert(bilge, 1), &NOWHERE);
    msg(&mut a, 8 * S, None, 126983, &alert(bilge, 2), &NOWHERE);
    assert_eq!(
        a.poll_notification().map(|n| n.description),
        Some(n.description)
    );
}

#[test]
fn a_text_that_never_comes() {
    let mut a = Alerts::new();
    msg(&mut a, 0, None, 126983, &alert(id(9), 5), &NOWHERE);
    assert_eq!(a.next_wake(), Some(TEXT_WAIT));
    a.on_tick(TEXT_WAIT - 1);
    assert!(a.poll_notification().is_none());
    a.on_tick(TEXT_WAIT);
    assert_eq!(
        a.poll_notification().map(|n| n.description),
        Some("alert 5/1/9".to_owned())
    );
    assert_eq!(a.next_wake(), None);
    // Silence: forgotten.
    a.on_tick(FORGET_AFTER + 1);
    assert_eq!(
        a.acknowledge("NMEA 2000 device 1420407", "alert 5/1/9", OURS),
        0
    );
}

#[test]
fn nothing_raised_while_disabled() {
    let mut a = Alerts::new();
    a.set_enabled(false);
    msg(
        &mut a,
        0,
        None,
        126985,
        &text(id(1), "Low oil pressure", ""),
        &NOWHERE,
    );
    msg(&mut a, S, None, 126983, &alert(id(1), 2), &NOWHERE);
    assert!(a.poll_notification().is_none());
    assert_eq!(a.stats().raised, 0);
    // Other PGNs are not the alerts'.
    assert!(!msg(&mut a, S, None, 127501, &[0; 8], &NOWHERE));
}

#[test]
fn an_alert_about_a_genset_is_its_error_id_while_active() {
    let mut a = Alerts::new();
    let low_oil = id(7);
    let caution = AlertId { kind: 8, ..id(8) };
    msg(&mut a, 0, None, 126983, &alert(caution, 2), &Genset);
    assert_eq!(
        a.poll_error(),
        Some((Name(ABOUT), Some("n2k:i-5.1.8".to_owned())))
    );
    // The alarm is more severe than the caution: it shows while both are active.
    msg(&mut a, S, None, 126983, &alert(low_oil, 2), &Genset);
    assert_eq!(
        a.poll_error(),
        Some((Name(ABOUT), Some("n2k:e-5.1.7".to_owned())))
    );
    // Repeats change nothing; no notification, no text wait.
    msg(&mut a, 2 * S, None, 126983, &alert(low_oil, 2), &Genset);
    assert_eq!(a.poll_error(), None);
    assert_eq!(a.next_wake(), None);
    a.on_tick(TEXT_WAIT * 2);
    assert!(a.poll_notification().is_none());
    // Setting off: no error shown; on again: shown again.
    a.set_enabled(false);
    assert_eq!(a.poll_error(), Some((Name(ABOUT), None)));
    a.set_enabled(true);
    assert_eq!(
        a.poll_error(),
        Some((Name(ABOUT), Some("n2k:e-5.1.7".to_owned())))
    );
    // The alarm clears: the caution shows; it clears: nothing.
    msg(&mut a, 25 * S, None, 126983, &alert(low_oil, 1), &Genset);
    assert_eq!(
        a.poll_error(),
        Some((Name(ABOUT), Some("n2k:i-5.1.8".to_owned())))
    );
    msg(&mut a, 26 * S, None, 126983, &alert(caution, 1), &Genset);
    assert_eq!(a.poll_error(), Some((Name(ABOUT), None)));
    // An alert about a device that is not a genset is a notification as before.
    msg(&mut a, 27 * S, None, 126983, &alert(low_oil, 2), &NOWHERE);
    a.on_tick(27 * S + TEXT_WAIT);
    assert!(a.poll_notification().is_some());
    assert_eq!(a.poll_error(), None);
}
