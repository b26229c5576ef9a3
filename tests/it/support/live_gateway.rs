//! A gateway on a virtual clock whose publisher runs as the daemon's does — its own
//! task on a private dbus-daemon, clients' writes coming back to the gateway as
//! requests — for the tests that script a device against it (switching, Victron
//! products).

use std::sync::Arc;
use std::time::Duration;

use n2k_dbus::can::{Frame, Micros};
use n2k_dbus::dbus::{Outbox, PublisherStats, Request};
use n2k_dbus::driver::Driver;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::support::private_bus::PrivateBus;

pub struct LiveGateway {
    pub client: zbus::Connection,
    pub driver: Driver,
    writes: mpsc::Receiver<Request>,
    stop: Option<oneshot::Sender<()>>,
    publisher: Option<JoinHandle<PublisherStats>>,
    _bus: PrivateBus,
}

impl LiveGateway {
    /// A gateway of `cfg` at time 0, its publisher running, a client connected.
    pub async fn start(cfg: GatewayConfig) -> LiveGateway {
        let bus = PrivateBus::start();
        let outbox = Arc::new(Outbox::new());
        let gateway = Gateway::new(cfg, outbox.clone());
        let (to_gateway, writes) = mpsc::channel(8);
        let publisher = bus.publisher(Some(to_gateway));
        let (stop, stopped) = oneshot::channel::<()>();
        let publisher = tokio::spawn(publisher.run(outbox, async {
            let _ = stopped.await;
        }));
        let client = bus.client().await;
        let mut driver = Driver::new(gateway);
        driver.advance(0);
        LiveGateway {
            client,
            driver,
            writes,
            stop: Some(stop),
            publisher: Some(publisher),
            _bus: bus,
        }
    }

    /// One step of the bus at `now`: `frames` in, the gateway's timers, clients'
    /// writes; returns what the gateway sent. Yields 1 ms of real time so the
    /// publisher and the clients' calls run.
    pub async fn step(&mut self, now: Micros, frames: Vec<Frame>) -> Vec<Frame> {
        for f in frames {
            self.driver.feed_frame(now, &f);
        }
        self.driver.advance(now);
        let sent = std::iter::from_fn(|| self.driver.poll_transmit()).collect();
        while let Ok(w) = self.writes.try_recv() {
            self.driver.request(now, w);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        sent
    }

    /// Stops the publisher (its services leave the bus).
    pub async fn end(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(p) = self.publisher.take() {
            let _ = p.await;
        }
    }
}
