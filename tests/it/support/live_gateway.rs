//! A gateway on a virtual clock whose publisher runs as the daemon's does — its own
//! task on a private dbus-daemon, clients' writes coming back to the gateway as
//! requests — for the tests that script a device against it (switching, Victron
//! products).
//!
//! Real time and the virtual clock never race: a step returns once the publisher has
//! carried everything the gateway changed, and a client's call is followed by its
//! events — the request reaching the gateway, the gateway's answer — not by time.

use std::sync::Arc;
use std::time::Duration;

use n2k_dbus::can::{Frame, Micros};
use std::future::Future;
use std::task::Poll;

use n2k_dbus::dbus::{settle, Carried, Outbox, PublisherStats, Request};
use n2k_dbus::driver::Driver;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zbus::export::serde::{de::DeserializeOwned, Serialize};
use zbus::zvariant::{DynamicType, Value};

use crate::support::private_bus::PrivateBus;

/// How long real time may take for what a test waits on.
const DEADLINE: Duration = Duration::from_secs(60);
/// How much virtual time a gateway may take to answer a request.
const ANSWER_WITHIN: Micros = 60_000_000;

pub struct LiveGateway {
    pub client: zbus::Connection,
    pub driver: Driver,
    /// The state entries the gateway handed out to store, oldest first.
    pub state: Vec<(String, String)>,
    /// Frames the last step's writes sent, handed out by the next step.
    held: Vec<Frame>,
    /// The time of the last step.
    now: Micros,
    outbox: Arc<Outbox>,
    carried: Arc<Carried>,
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
        let carried = publisher.batches_done();
        let (stop, stopped) = oneshot::channel::<()>();
        let publisher = tokio::spawn(publisher.run(outbox.clone(), async {
            let _ = stopped.await;
        }));
        let client = bus.client().await;
        let mut driver = Driver::new(gateway);
        driver.advance(0);
        LiveGateway {
            client,
            driver,
            state: Vec::new(),
            held: Vec::new(),
            now: 0,
            outbox,
            carried,
            writes,
            stop: Some(stop),
            publisher: Some(publisher),
            _bus: bus,
        }
    }

    /// One step of the bus at `now`: `frames` in, the gateway's timers, clients'
    /// writes that have arrived; returns what the gateway sent, once the publisher
    /// has put every change on the bus.
    pub async fn step(&mut self, now: Micros, frames: Vec<Frame>) -> Vec<Frame> {
        self.now = now;
        for f in frames {
            self.driver.feed_frame(now, &f);
        }
        self.driver.advance(now);
        let (sent, state) = super::outputs(&mut self.driver);
        self.state.extend(state);
        let mut sent = std::mem::replace(&mut self.held, sent);
        sent.append(&mut self.held);
        while let Ok(w) = self.writes.try_recv() {
            self.driver.request(now, w);
        }
        self.after_request();
        tokio::time::timeout(DEADLINE, settle(&self.outbox, &self.carried))
            .await
            .expect("the publisher carries the gateway's changes");
        sent
    }

    /// A client's method call on the bus, started now; [`answer`] follows it.
    pub fn call<B, T>(
        &self,
        service: &str,
        path: &str,
        interface: &str,
        method: &str,
        body: B,
    ) -> Call<T>
    where
        B: Serialize + DynamicType + Send + Sync + 'static,
        T: DeserializeOwned + zbus::zvariant::Type + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let client = self.client.clone();
        let (service, path, interface, method) = (
            service.to_owned(),
            path.to_owned(),
            interface.to_owned(),
            method.to_owned(),
        );
        tokio::spawn(async move {
            let answer = client
                .call_method(
                    Some(service.as_str()),
                    path.as_str(),
                    Some(interface.as_str()),
                    method.as_str(),
                    &body,
                )
                .await
                .unwrap_or_else(|e| panic!("{method} on {service} {path}: {e}"))
                .body()
                .deserialize::<T>()
                .unwrap_or_else(|e| panic!("the answer of {method}: {e}"));
            let _ = tx.send(answer);
        });
        Call(rx)
    }

    /// A client's `SetValue`, started now.
    pub fn set_value(
        &self,
        service: &str,
        path: &str,
        value: impl Into<Value<'static>>,
    ) -> Call<i32> {
        let value: Value<'static> = value.into();
        self.call(
            service,
            path,
            "com.victronenergy.BusItem",
            "SetValue",
            (value,),
        )
    }

    /// Waits for what `call` leads to: its answer from the service itself (None),
    /// or a request for the gateway, delivered at `now` with the gateway's answer
    /// caught on its way back.
    async fn arrival<T>(&mut self, call: &mut Call<T>, now: Micros) -> Option<InFlight> {
        let request = tokio::time::timeout(DEADLINE, async {
            tokio::select! {
                biased;
                r = self.writes.recv() => r,
                _ = call.ready() => None,
            }
        })
        .await
        .expect("the call was answered or reached the gateway");
        let (request, inflight) = InFlight::catch(request?);
        self.driver.request(now, request);
        self.after_request();
        Some(inflight)
    }

    /// What a client's request sent goes out with the next step; what it stored
    /// is there at once.
    fn after_request(&mut self) {
        let (later, state) = super::outputs(&mut self.driver);
        self.state.extend(state);
        self.held.extend(later);
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

/// A client's call in flight: its answer, once the client has it.
pub struct Call<T>(oneshot::Receiver<T>);

impl<T> Call<T> {
    /// Resolves once the answer is there, leaving it for [`Call::answer`].
    async fn ready(&mut self) {
        std::future::poll_fn(|cx| {
            match std::pin::Pin::new(&mut self.0).poll(cx) {
                Poll::Ready(Ok(v)) => {
                    // Put it back: a fresh channel holding the answer.
                    let (tx, rx) = oneshot::channel();
                    let _ = tx.send(v);
                    self.0 = rx;
                    Poll::Ready(())
                }
                Poll::Ready(Err(_)) => panic!("the call's task ended without an answer"),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    async fn answer(self) -> T {
        tokio::time::timeout(DEADLINE, self.0)
            .await
            .expect("the client has its answer")
            .expect("the call's task answers")
    }
}

/// A request delivered to the gateway whose answer is caught on the way back to
/// the client, so that a bench knows when (in virtual time) it was answered.
pub struct InFlight(Box<dyn FnMut() -> bool + Send>);

impl InFlight {
    fn catch(request: Request) -> (Request, InFlight) {
        match request {
            Request::Write(mut w) => {
                let (tx, rx) = oneshot::channel();
                let client = std::mem::replace(&mut w.reply, tx);
                (Request::Write(w), InFlight::forward(rx, client))
            }
            Request::Register(mut r) => {
                let (tx, rx) = oneshot::channel();
                let client = std::mem::replace(&mut r.reply, tx);
                (Request::Register(r), InFlight::forward(rx, client))
            }
        }
    }

    fn forward<T: Send + 'static>(
        mut answer: oneshot::Receiver<T>,
        client: oneshot::Sender<T>,
    ) -> InFlight {
        let mut client = Some(client);
        InFlight(Box::new(move || match answer.try_recv() {
            Ok(v) => {
                if let Some(c) = client.take() {
                    let _ = c.send(v);
                }
                true
            }
            Err(oneshot::error::TryRecvError::Empty) => false,
            // Dropped unanswered: the client gets the service's own error.
            Err(oneshot::error::TryRecvError::Closed) => true,
        }))
    }

    /// Whether the gateway has answered (the answer then goes on to the client).
    fn answered(&mut self) -> bool {
        (self.0)()
    }
}

/// A live gateway with the devices a test scripts around it, on one virtual clock.
#[allow(async_fn_in_trait)]
pub trait Bench {
    fn live(&mut self) -> &mut LiveGateway;
    /// One step of the clock, the scripted devices included.
    async fn tick(&mut self);
}

/// Carries a client's call to its answer: a request it makes of the gateway is
/// delivered at the bench's time and the clock turns until the gateway answers it;
/// a call the service answers itself takes no virtual time. Returns the answer and
/// the virtual time it took.
pub async fn answer<B: Bench, T>(bench: &mut B, mut call: Call<T>) -> (T, Micros) {
    let start = bench.live().now;
    if let Some(mut inflight) = bench.live().arrival(&mut call, start).await {
        while !inflight.answered() {
            assert!(
                bench.live().now - start < ANSWER_WITHIN,
                "the gateway did not answer within 60 s of virtual time"
            );
            bench.tick().await;
        }
    }
    (call.answer().await, bench.live().now - start)
}
