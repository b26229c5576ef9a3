//! The Venus scenarios of `candump-samples/scenarios/venus/` (written by
//! `scenarios/venus.py`) through the whole gateway into a private dbus-daemon: at
//! each `#=` time the services on the bus and the values a client reads are the
//! ones the log states.

use crate::support::{gateway_replay, reference};
use std::collections::BTreeMap;
use std::path::PathBuf;

use gateway_replay::{read, Rig};
use n2k_dbus::venus::Rules;

fn scenario(name: &str) -> PathBuf {
    reference::samples()
        .join("scenarios/venus")
        .join(format!("{name}.log"))
}

/// Replays scenario `name`, checking each `#=` line at its time; returns the rig.
async fn run(name: &str) -> Rig {
    gateway_replay::play(&scenario(name)).await
}

#[tokio::test]
async fn a_single_tank_sender() {
    run("single-tank").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_four_tank_sender_with_two_fresh_water_tanks() {
    run("four-tanks").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_six_channel_temperature_module() {
    run("six-temperatures").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_battery_monitor_with_two_dc_instances() {
    run("battery-two-instances")
        .await
        .publisher
        .withdraw_all()
        .await;
}

#[tokio::test]
async fn a_gnss_receiver() {
    run("gps").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_three_phase_ac_meter() {
    run("three-phase-ac").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_charger_and_its_output() {
    run("charger").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn converters_by_function_and_a_dc_meter() {
    run("converters").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn the_demo_boat() {
    run("demo-boat").await.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_device_going_silent_turns_invalid_then_goes() {
    let mut rig = run("going-silent").await;
    // Withdrawn once, published once: no flapping on the way out.
    let stats = rig.publisher.stats();
    assert_eq!(stats.published, 2, "the bus service and the tank");
    assert_eq!(stats.withdrawn, 1, "the tank");
    rig.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_device_changing_address_keeps_its_service() {
    let mut rig = run("address-change").await;
    let end = rig.end();
    rig.run_to(end).await;
    let stats = rig.publisher.stats();
    assert_eq!(
        stats.published, 2,
        "the bus service and the tank, once each"
    );
    assert_eq!(stats.withdrawn, 0);
    rig.publisher.withdraw_all().await;
}

/// Every service and every value a client reads, at the end of a held replay.
async fn end_state(name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut rig = Rig::new(&scenario(name), false, Rules::default()).await;
    rig.run_all_and_hold().await;
    let mut out = BTreeMap::new();
    for s in rig.services().await {
        let items = rig.items(&s).await;
        let values = items
            .keys()
            .map(|p| (p.clone(), format!("{:?}", read(&items, p))))
            .collect();
        out.insert(s, values);
    }
    rig.publisher.withdraw_all().await;
    out
}

#[tokio::test]
async fn the_same_frames_replayed_twice_give_the_same_services() {
    for name in ["four-tanks", "six-temperatures", "battery-two-instances"] {
        let first = end_state(name).await;
        let second = end_state(name).await;
        assert!(!first.is_empty(), "{name}");
        assert_eq!(first, second, "{name}");
    }
}
