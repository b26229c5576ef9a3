//! Victron's VE.Can products through the whole gateway into a private dbus-daemon:
//! the scenarios of `candump-samples/scenarios/vecan/` (written by
//! `scenarios/vecan.py` from the documented register protocol), each checked at its
//! `#=` times: the services on the bus and the values a client reads.

use crate::support::{gateway_replay, reference};
use std::path::PathBuf;

fn scenario(name: &str) -> PathBuf {
    reference::samples()
        .join("scenarios/vecan")
        .join(format!("{name}.log"))
}

async fn run(name: &str) {
    gateway_replay::play(&scenario(name))
        .await
        .publisher
        .withdraw_all()
        .await;
}

#[tokio::test]
async fn an_mppt_is_a_solar_charger_not_a_charger() {
    run("mppt").await;
}

#[tokio::test]
async fn a_skylla_i_with_three_outputs() {
    run("skylla").await;
}

#[tokio::test]
async fn a_lynx_shunt_is_a_battery_monitor() {
    let mut rig = gateway_replay::play(&scenario("lynx-shunt")).await;
    let svc = &rig.services().await[0];
    let items = rig.items(svc).await;
    // DVCC acts on a battery's /Info limits: a monitor that is no BMS has none.
    let info: Vec<&String> = items.keys().filter(|p| p.starts_with("/Info/")).collect();
    assert!(info.is_empty(), "{svc}: {info:?}");
    rig.publisher.withdraw_all().await;
}

#[tokio::test]
async fn a_lynx_smart_bms_and_its_allow_to_charge() {
    run("lynx-bms").await;
}

#[tokio::test]
async fn a_multi_rs_with_ac_in_and_out() {
    run("multi-rs").await;
}

#[tokio::test]
async fn a_vebus_interface_is_one_multi_from_two_addresses() {
    run("vebus-interface").await;
}
