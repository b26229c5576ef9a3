//! The D-Bus side against a private dbus-daemon:
//! - publishing 60 services of 60 paths at once (budget < 100 ms), and the process's
//!   memory while it serves them (budget ≤ 15 MB RSS);
//! - `ItemsChanged` throughput through the daemon to a subscribed client (budget
//!   ≥ 20,000/s);
//! - `GetItems` latency while 2,000 updates/s flow (budget p99 < 2 ms).
//!
//! The services run on a single-threaded runtime, as in the daemon; the measuring
//! clients run on a thread of their own. `cargo bench --bench dbus`.

#[allow(dead_code)] // the tests' helper; a bench uses part of it
#[path = "../tests/it/support/private_bus.rs"]
mod private_bus;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use n2k_dbus::dbus::{Bus, Item, ItemTree, Outbox, Publisher, PublisherConfig, ServiceSpec, Value};
use private_bus::PrivateBus;
use zbus::{MatchRule, MessageStream};

const SERVICES: usize = 60;
const PATHS: usize = 60;
const BUS_ITEM: &str = "com.victronenergy.BusItem";

fn name(i: usize) -> String {
    format!("com.victronenergy.tank.socketcan_can0_di{i}_uc{}", 2000 + i)
}

fn spec(i: usize) -> ServiceSpec {
    let mut items = ItemTree::new();
    for p in 0..PATHS {
        let path = format!("/Group{}/Value{p}", p / 10);
        let _ = items.insert(path, Item::measured(p as f64, 2, "V"));
    }
    ServiceSpec::new(name(i), items)
}

fn publisher(bus: &Bus, interval: Duration) -> Publisher {
    Publisher::new(
        PublisherConfig {
            bus: bus.clone(),
            flush_interval: interval,
            properties_changed: false,
            coexist: None,
        },
        None,
        None,
    )
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let daemon = PrivateBus::start();
    let bus = daemon.bus();

    // 1. Publish 60 × 60, five times; memory while the last set is served.
    let mut times = Vec::new();
    let outbox = Outbox::new();
    let mut rss_kb = 0;
    for round in 0..5 {
        let mut p = publisher(&bus, Duration::ZERO);
        for i in 0..SERVICES {
            outbox.publish(spec(i));
        }
        let batch = outbox.take();
        let t = Instant::now();
        rt.block_on(p.flush(batch));
        times.push(t.elapsed());
        assert_eq!(p.stats().published as usize, SERVICES, "all published");
        if round == 4 {
            rss_kb = status_kb("VmRSS:");
        }
        rt.block_on(p.withdraw_all());
    }
    times.sort();
    println!(
        "publish {SERVICES} services x {PATHS} paths: median {:.1} ms, best {:.1} ms (budget < 100 ms)",
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
    println!(
        "process memory while serving them: {:.1} MB RSS, peak {:.1} MB (budget <= 15 MB)",
        rss_kb as f64 / 1024.0,
        status_kb("VmHWM:") as f64 / 1024.0
    );

    // 2. ItemsChanged throughput: every flush changes one path of every service.
    let mut p = publisher(&bus, Duration::ZERO);
    for i in 0..SERVICES {
        outbox.publish(spec(i));
    }
    rt.block_on(p.flush(outbox.take()));
    let rounds = 500;
    let expected = SERVICES * rounds;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let address = daemon.address.clone();
    let counter = std::thread::spawn(move || {
        let crt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        crt.block_on(async {
            let client = Bus::Address(address).connect().await.expect("client");
            let rule = MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface(BUS_ITEM)
                .and_then(|b| b.member("ItemsChanged"))
                .expect("rule")
                .build();
            let mut stream = MessageStream::for_match_rule(rule, &client, Some(100_000))
                .await
                .expect("match");
            ready_tx.send(()).expect("ready");
            let mut n = 0;
            let mut first = None;
            while n < expected {
                match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                    Ok(Some(Ok(_))) => {
                        first.get_or_insert_with(Instant::now);
                        n += 1;
                    }
                    _ => break,
                }
            }
            (n, first.map(|f| f.elapsed()))
        })
    });
    ready_rx.recv().expect("client ready");
    let t = Instant::now();
    for r in 0..rounds {
        for i in 0..SERVICES {
            outbox.set(
                &name(i),
                &format!("/Group{}/Value{}", (r % PATHS) / 10, r % PATHS),
                Value::Real(r as f64 + 0.5),
            );
        }
        rt.block_on(p.flush(outbox.take()));
    }
    let sent = t.elapsed();
    let (received, _) = counter.join().expect("counter");
    let total = t.elapsed();
    println!(
        "ItemsChanged: {} sent in {:.0} ms, {received} received by a subscribed client: {:.0} per second end to end (budget >= 20,000)",
        p.stats().items_changed,
        sent.as_secs_f64() * 1e3,
        received as f64 / total.as_secs_f64()
    );
    rt.block_on(p.withdraw_all());

    // 3. GetItems latency while 2,000 updates/s flow through a running publisher.
    let outbox = Arc::new(Outbox::new());
    for i in 0..SERVICES {
        outbox.publish(spec(i));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let address = daemon.address.clone();
    let stop_client = stop.clone();
    let client = std::thread::spawn(move || {
        let crt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let lat = crt.block_on(async {
            let conn = Bus::Address(address).connect().await.expect("client");
            // Wait until every service is up.
            loop {
                let ok = conn
                    .call_method(
                        Some(name(SERVICES - 1).as_str()),
                        "/",
                        Some(BUS_ITEM),
                        "GetItems",
                        &(),
                    )
                    .await
                    .is_ok();
                if ok {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut lat = Vec::with_capacity(3000);
            for k in 0..3000 {
                let target = name(k % SERVICES);
                let t = Instant::now();
                let reply = conn
                    .call_method(Some(target.as_str()), "/", Some(BUS_ITEM), "GetItems", &())
                    .await
                    .expect("GetItems");
                lat.push(t.elapsed());
                assert_eq!(reply.body().signature().to_string(), "a{sa{sv}}");
            }
            lat
        });
        stop_client.store(true, Ordering::Relaxed);
        lat
    });
    let updates = rt.block_on(async {
        let run = tokio::spawn({
            let outbox = outbox.clone();
            let stop = stop.clone();
            async move {
                publisher(&Bus::Address(daemon.address.clone()), Duration::ZERO)
                    .run(outbox, async move {
                        while !stop.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    })
                    .await
            }
        });
        // 2 updates per millisecond, each to another service and path.
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut n = 0u64;
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            for _ in 0..2 {
                let i = (n as usize) % SERVICES;
                outbox.set(
                    &name(i),
                    &format!("/Group0/Value{}", n % 10),
                    Value::Real(n as f64),
                );
                n += 1;
            }
        }
        let stats = run.await.expect("publisher");
        (n, start.elapsed(), stats)
    });
    let mut lat = client.join().expect("client");
    lat.sort();
    let (n, elapsed, stats) = updates;
    println!(
        "GetItems of a {PATHS}-path service while {:.0} updates/s flow ({} ItemsChanged sent): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} calls (budget p99 < 2 ms)",
        n as f64 / elapsed.as_secs_f64(),
        stats.items_changed,
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        lat.len()
    );
}
