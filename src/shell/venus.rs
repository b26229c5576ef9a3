//! What reaches a gateway from D-Bus besides the bus: clients' writes and register
//! requests, the services NMEA 2000-out watches (and the settings that switch it),
//! the platform's reports; and where the gateway's notifications go.
//!
//! Every part is optional: `devices -i` has none, a replay without NMEA 2000-out
//! no watcher. A channel that closes is no longer listened to.

use tokio::sync::mpsc;

use crate::can::Micros;
use crate::dbus::platform::PlatformEvent;
use crate::dbus::watch::Watched;
use crate::dbus::{Request, WriteOutcome, WriteRefusal};
use crate::driver::Driver;
use crate::venus::alerts::Notification;
use crate::vreg::VackCode;

/// One thing D-Bus told the gateway.
#[derive(Debug)]
pub enum Input {
    Request(Request),
    Watched(Watched),
    Platform(PlatformEvent),
}

/// The D-Bus side of a shell.
#[derive(Debug)]
pub struct Venus {
    iface: String,
    writes: Option<mpsc::Receiver<Request>>,
    watched: Option<mpsc::Receiver<Watched>>,
    platform: Option<mpsc::Receiver<PlatformEvent>>,
    inject: Option<mpsc::Sender<String>>,
    switch: Switch,
    /// `AlertsInEnable` as last reported (on until the platform says otherwise).
    alerts_in: bool,
}

impl Venus {
    /// Nothing from D-Bus, nowhere for notifications to go.
    pub fn none(iface: &str) -> Venus {
        Venus {
            iface: iface.to_owned(),
            writes: None,
            watched: None,
            platform: None,
            inject: None,
            switch: Switch::default(),
            alerts_in: true,
        }
    }

    /// Clients' writes and register requests (the publisher's gateway channel).
    pub fn writes(mut self, rx: mpsc::Receiver<Request>) -> Venus {
        self.writes = Some(rx);
        self
    }

    /// What the D-Bus watcher reports (NMEA 2000-out).
    pub fn watched(mut self, rx: Option<mpsc::Receiver<Watched>>) -> Venus {
        self.watched = rx;
        self
    }

    /// The platform task: notifications go to `inject`, its reports come from `rx`.
    pub fn platform(
        mut self,
        inject: mpsc::Sender<String>,
        rx: mpsc::Receiver<PlatformEvent>,
    ) -> Venus {
        self.inject = Some(inject);
        self.platform = Some(rx);
        self
    }

    /// The interface the services are named after.
    pub fn interface(&self) -> &str {
        &self.iface
    }

    /// Whether NMEA 2000-out is on as far as Venus's settings say.
    pub fn export_on(&self) -> bool {
        self.switch.on()
    }

    /// Whether alerts from the bus become Venus notifications.
    pub fn alerts_in(&self) -> bool {
        self.alerts_in
    }

    /// The next input; pending while there is none.
    pub async fn recv(&mut self) -> Input {
        tokio::select! {
            Some(r) = next(&mut self.writes) => Input::Request(r),
            Some(w) = next(&mut self.watched) => Input::Watched(w),
            Some(p) = next(&mut self.platform) => Input::Platform(p),
        }
    }

    /// An input already waiting, if one is.
    pub fn try_recv(&mut self) -> Option<Input> {
        if let Some(r) = self.writes.as_mut().and_then(|rx| rx.try_recv().ok()) {
            return Some(Input::Request(r));
        }
        if let Some(w) = self.watched.as_mut().and_then(|rx| rx.try_recv().ok()) {
            return Some(Input::Watched(w));
        }
        let p = self.platform.as_mut().and_then(|rx| rx.try_recv().ok())?;
        Some(Input::Platform(p))
    }

    /// Hands `input` to the gateway at `now`. Without one (the interface never
    /// came up, or stayed down past its grace), writes are refused and register
    /// requests fail at once.
    pub fn apply(&mut self, driver: Option<&mut Driver>, now: Micros, input: Input) {
        match input {
            Input::Request(r) => match (driver, r) {
                (Some(d), r) => d.request(now, r),
                (None, Request::Write(w)) => {
                    let refusal = WriteRefusal::LinkDown(self.iface.clone());
                    let _ = w.reply.send(WriteOutcome::Refused(refusal));
                }
                (None, Request::Register(r)) => {
                    let failed = VackCode::failed(r.data.is_some()).number();
                    let _ = r.reply.send((failed, Vec::new()));
                }
            },
            Input::Watched(w) => {
                let on = self.switch.follow(&w, &self.iface);
                match (driver, w, on) {
                    (Some(d), Watched::Service(input), _) => d.service(now, input),
                    (Some(d), _, Some(on)) => d.set_export_enabled(now, on),
                    _ => {}
                }
            }
            Input::Platform(ev) => {
                if let PlatformEvent::AlertsIn(v) = &ev {
                    self.alerts_in = v.is_none_or(|v| v != 0);
                }
                if let Some(d) = driver {
                    d.platform(now, ev);
                }
            }
        }
    }

    /// Hands a notification the gateway raised to the platform task (dropped,
    /// with a warning, when it is that far behind).
    pub fn notify(&self, n: Notification) {
        let Some(inject) = &self.inject else {
            return;
        };
        if inject.try_send(n.inject_text()).is_err() {
            tracing::warn!(device = %n.device, "alerts: the platform is behind; notification dropped");
        }
    }
}

/// The next message of `rx`; pending for ever without one or once it closed.
async fn next<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    let Some(r) = rx else {
        return std::future::pending().await;
    };
    match r.recv().await {
        Some(v) => Some(v),
        None => {
            *rx = None;
            std::future::pending().await
        }
    }
}

/// What switches NMEA 2000-out on and off besides `--n2k-out`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// Venus's `N2kGatewayEnabled` of the interface (`None`: no such setting).
    pub setting: Option<i64>,
    /// Victron's vecan-dbus runs on the interface: its own NMEA 2000-out is the one.
    pub vecan_dbus: bool,
}

impl Switch {
    pub fn on(self) -> bool {
        !self.vecan_dbus && self.setting.is_none_or(|v| v & 1 == 1)
    }

    /// Takes in a report of the watcher; whether NMEA 2000-out is on after it
    /// (`None`: a service report, for the exporter).
    pub fn follow(&mut self, w: &Watched, iface: &str) -> Option<bool> {
        let before = self.on();
        match *w {
            Watched::Service(_) => return None,
            Watched::Setting(v) => self.setting = v,
            Watched::VecanDbus(b) => self.vecan_dbus = b,
        }
        let on = self.on();
        if matches!(w, Watched::VecanDbus(true)) {
            tracing::warn!(interface = %iface, "n2k-out: vecan-dbus runs on this interface; Victron's own NMEA2000-out is the one to use there, ours stays off");
        } else if on != before {
            tracing::info!(interface = %iface, on, "n2k-out: N2kGatewayEnabled followed");
        }
        Some(on)
    }
}
