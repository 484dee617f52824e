//! A **test double of systemd's D-Bus API** (on a private `dbus-daemon`,
//! `dbus::tests::service::DbusDaemon`):
//! the subset of `org.freedesktop.systemd1` the systemd capability uses
//! (Manager: `ListUnits`, `GetUnit`, `LoadUnit`, `Subscribe`, `StartUnit`,
//! `StopUnit`, `RestartUnit` and the `JobRemoved` signal; Unit and Service
//! properties through `org.freedesktop.DBus.Properties.GetAll`), served
//! by zbus's object server in the test process. It is not systemd: jobs
//! end at once (or never, for `hang.service`), nothing runs.
//!
//! Used by the host tests and, through `#[path]`, by `tests/e2e/systemd.rs`,
//! so it depends on nothing but `std` and `zbus`.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use zbus::object_server::SignalEmitter;
use zbus::{ObjectPath, OwnedObjectPath};

/// One fake unit.
#[derive(Debug, Clone)]
struct FakeUnit {
    id: &'static str,
    description: &'static str,
    load: &'static str,
    active: &'static str,
    sub: &'static str,
    /// Listed and known to `GetUnit` (a unit systemd has loaded).
    loaded: bool,
}

type Units = Arc<Mutex<Vec<FakeUnit>>>;

/// The units the double knows: two running services, a timer, a service
/// whose start fails, one whose start never ends, and one that is not
/// loaded (`LoadUnit` answers it as `not-found`).
fn units() -> Vec<FakeUnit> {
    let unit = |id, description, active, sub| FakeUnit {
        id,
        description,
        load: "loaded",
        active,
        sub,
        loaded: true,
    };
    vec![
        unit(
            "nginx.service",
            "A high performance web server",
            "active",
            "running",
        ),
        unit(
            "cron.service",
            "Regular background program processing daemon",
            "active",
            "running",
        ),
        unit("backup.timer", "Nightly backup", "active", "waiting"),
        unit("broken.service", "Fails to start", "inactive", "dead"),
        unit(
            "hang.service",
            "Never finishes starting",
            "inactive",
            "dead",
        ),
        FakeUnit {
            id: "ghost.service",
            description: "ghost.service",
            load: "not-found",
            active: "inactive",
            sub: "dead",
            loaded: false,
        },
    ]
}

/// systemd's object path of a unit: `/org/freedesktop/systemd1/unit/` and
/// the name with every byte but letters and digits as `_xx`.
fn path_of(id: &str) -> String {
    let mut p = String::from("/org/freedesktop/systemd1/unit/");
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() {
            p.push(char::from(b));
        } else {
            p.push_str(&format!("_{b:02x}"));
        }
    }
    p
}

fn object_path(p: &str) -> OwnedObjectPath {
    OwnedObjectPath::try_from(p).unwrap_or_else(|_| panic!("bad path {p}"))
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.systemd1")]
enum SystemdError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NoSuchUnit(String),
}

struct Manager {
    units: Units,
    next_job: u32,
}

impl Manager {
    fn find(&self, name: &str, loaded_only: bool) -> Result<FakeUnit, SystemdError> {
        let units = self.units.lock().unwrap_or_else(|e| e.into_inner());
        units
            .iter()
            .find(|u| u.id == name && (u.loaded || !loaded_only))
            .cloned()
            .ok_or_else(|| SystemdError::NoSuchUnit(format!("Unit {name} not loaded.")))
    }

    async fn job(
        &mut self,
        emitter: &SignalEmitter<'_>,
        name: &str,
        active: &'static str,
        sub: &'static str,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.find(name, false)?;
        self.next_job += 1;
        let id = self.next_job;
        let job = object_path(&format!("/org/freedesktop/systemd1/job/{id}"));
        let result = match name {
            "broken.service" => "failed",
            "hang.service" => return Ok(job),
            _ => {
                let mut units = self.units.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(u) = units.iter_mut().find(|u| u.id == name) {
                    (u.active, u.sub) = (active, sub);
                }
                "done"
            }
        };
        Self::job_removed(emitter, id, job.as_ref(), name, result).await?;
        Ok(job)
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    #[allow(clippy::type_complexity)]
    fn list_units(
        &self,
    ) -> Vec<(
        String,
        String,
        String,
        String,
        String,
        String,
        OwnedObjectPath,
        u32,
        String,
        OwnedObjectPath,
    )> {
        let units = self.units.lock().unwrap_or_else(|e| e.into_inner());
        units
            .iter()
            .filter(|u| u.loaded)
            .map(|u| {
                (
                    u.id.to_owned(),
                    u.description.to_owned(),
                    u.load.to_owned(),
                    u.active.to_owned(),
                    u.sub.to_owned(),
                    String::new(),
                    object_path(&path_of(u.id)),
                    0,
                    String::new(),
                    object_path("/"),
                )
            })
            .collect()
    }

    fn get_unit(&self, name: &str) -> Result<OwnedObjectPath, SystemdError> {
        self.find(name, true).map(|u| object_path(&path_of(u.id)))
    }

    fn load_unit(&self, name: &str) -> Result<OwnedObjectPath, SystemdError> {
        self.find(name, false).map(|u| object_path(&path_of(u.id)))
    }

    fn subscribe(&self) {}

    async fn start_unit(
        &mut self,
        name: &str,
        _mode: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.job(&emitter, name, "active", "running").await
    }

    async fn stop_unit(
        &mut self,
        name: &str,
        _mode: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.job(&emitter, name, "inactive", "dead").await
    }

    async fn restart_unit(
        &mut self,
        name: &str,
        _mode: &str,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> Result<OwnedObjectPath, SystemdError> {
        self.job(&emitter, name, "active", "running").await
    }

    #[zbus(signal)]
    async fn job_removed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;
}

/// `org.freedesktop.systemd1.Unit` of one unit.
struct UnitObject {
    id: &'static str,
    units: Units,
}

impl UnitObject {
    fn get(&self) -> FakeUnit {
        let units = self.units.lock().unwrap_or_else(|e| e.into_inner());
        units
            .iter()
            .find(|u| u.id == self.id)
            .cloned()
            .unwrap_or_else(|| panic!("unit {} vanished", self.id))
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl UnitObject {
    #[zbus(property)]
    fn id(&self) -> String {
        self.id.to_owned()
    }
    #[zbus(property)]
    fn description(&self) -> String {
        self.get().description.to_owned()
    }
    #[zbus(property)]
    fn load_state(&self) -> String {
        self.get().load.to_owned()
    }
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.get().active.to_owned()
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.get().sub.to_owned()
    }
    #[zbus(property)]
    fn can_start(&self) -> bool {
        true
    }
}

/// `org.freedesktop.systemd1.Service` of a loaded service.
struct ServiceObject;

#[zbus::interface(name = "org.freedesktop.systemd1.Service")]
impl ServiceObject {
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> u32 {
        4242
    }
    #[zbus(property)]
    fn restart(&self) -> String {
        "on-failure".to_owned()
    }
}

/// The double, owning `org.freedesktop.systemd1` on a bus while it lives.
pub struct SystemdDouble {
    _conn: zbus::Connection,
}

impl SystemdDouble {
    /// Serves the double on the bus at `address`.
    pub fn serve(address: &str) -> Self {
        let units: Units = Arc::new(Mutex::new(units()));
        let conn = zbus::block_on(async {
            let mut builder = zbus::connection::Builder::address(address)
                .name("org.freedesktop.systemd1")
                .serve_at(
                    "/org/freedesktop/systemd1",
                    Manager {
                        units: units.clone(),
                        next_job: 0,
                    },
                );
            for u in self::units() {
                builder = builder.serve_at(
                    path_of(u.id),
                    UnitObject {
                        id: u.id,
                        units: units.clone(),
                    },
                );
                if u.loaded && u.id.ends_with(".service") {
                    builder = builder.serve_at(path_of(u.id), ServiceObject);
                }
            }
            builder.build().await
        });
        match conn {
            Ok(conn) => Self { _conn: conn },
            Err(e) => panic!("the systemd double cannot serve on {address}: {e}"),
        }
    }
}
