//! The `udev` host functions: find the devices with libudev (the `udev`
//! crate, reading `/sys` and udev's database; never `udevadm`, `lsblk`,
//! `lsusb` or `lspci`), decide on their subsystem, report, answer.

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::bindings::CapError;
use crate::bindings::udev::{Device, Host};
use crate::ctx::Capabilities;
use crate::decision::Decision;
use crate::sink::enforce;

/// A listing stops here: a machine with more devices in one subsystem is
/// unusual, and the answer must fit a tool's output.
const MAX_DEVICES: usize = 10_000;

/// The `/sys` attributes a device record carries, when present: what the
/// tool's seed shapes need (sizes, USB ids and numbers, addresses).
const ATTRIBUTES: &[&str] = &[
    "size",
    "removable",
    "ro",
    "idVendor",
    "idProduct",
    "busnum",
    "devnum",
    "manufacturer",
    "product",
    "address",
    "operstate",
    "mtu",
];

fn text(s: &std::ffi::OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// Mount points by device number (`8:1`), from `/proc/self/mountinfo`
/// (fields: id, parent, `major:minor`, root, mount point, …; the point's
/// spaces and other odd bytes written as octal escapes).
type Mounts = BTreeMap<String, Vec<String>>;

fn mounts() -> Mounts {
    let mut by_dev = Mounts::new();
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return by_dev;
    };
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if let (Some(dev), Some(point)) = (fields.get(2), fields.get(4)) {
            by_dev
                .entry((*dev).to_owned())
                .or_default()
                .push(unescape(point));
        }
    }
    by_dev
}

/// `\040` → a space, as the kernel escapes mount points.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match octal {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A device as the contract shows it; names from the hardware database
/// are added where udev's own database lacks them.
fn record(dev: &udev::Device, hwdb: Option<&udev::Hwdb>, mounts: &Mounts) -> Device {
    let mut properties: BTreeMap<String, String> = dev
        .properties()
        .map(|p| (text(p.name()), text(p.value())))
        .collect();
    if let (Some(hwdb), Some(modalias)) = (hwdb, properties.get("MODALIAS").cloned()) {
        for entry in hwdb.query(&modalias) {
            let name = text(entry.name());
            if name.starts_with("ID_") {
                properties
                    .entry(name)
                    .or_insert_with(|| text(entry.value()));
            }
        }
    }
    let symlinks = properties
        .get("DEVLINKS")
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let attributes = ATTRIBUTES
        .iter()
        .filter_map(|a| {
            dev.attribute_value(a)
                .map(|v| ((*a).to_owned(), text(v).trim().to_owned()))
        })
        .collect();
    let mountpoints = match (properties.get("MAJOR"), properties.get("MINOR")) {
        (Some(major), Some(minor)) if dev.subsystem().is_some_and(|s| s == "block") => mounts
            .get(&format!("{major}:{minor}"))
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Device {
        syspath: dev.syspath().display().to_string(),
        sysname: text(dev.sysname()),
        devnode: dev.devnode().map(|p| p.display().to_string()),
        subsystem: dev.subsystem().map(text),
        devtype: dev.devtype().map(text),
        driver: dev.driver().map(text),
        properties: properties.into_iter().collect(),
        symlinks,
        attributes,
        mountpoints,
    }
}

fn failed(what: &str, e: std::io::Error) -> CapError {
    match e.kind() {
        std::io::ErrorKind::NotFound => CapError::NotFound(format!("{what}: no such device")),
        _ => CapError::Io(format!("{what}: {e}")),
    }
}

/// The device at a `/dev` node (its number) or a `/sys` path.
fn find(path: &str) -> Result<udev::Device, CapError> {
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| failed(&format!("{path} cannot be resolved"), e))?;
    if canonical.starts_with("/sys/") {
        return udev::Device::from_syspath(&canonical).map_err(|e| failed(path, e));
    }
    if canonical.starts_with("/dev/") {
        let meta = std::fs::metadata(&canonical).map_err(|e| failed(path, e))?;
        let kind = if meta.file_type().is_block_device() {
            udev::DeviceType::Block
        } else if meta.file_type().is_char_device() {
            udev::DeviceType::Character
        } else {
            return Err(CapError::InvalidArgument(format!(
                "{path} is not a device node"
            )));
        };
        return udev::Device::from_devnum(kind, meta.rdev()).map_err(|e| failed(path, e));
    }
    Err(CapError::InvalidArgument(format!(
        "\"{path}\" is neither a /dev node nor a /sys path"
    )))
}

fn check_subsystem(subsystem: &str) -> Result<(), CapError> {
    let ok = !subsystem.is_empty()
        && subsystem.len() <= 64
        && subsystem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(CapError::InvalidArgument(format!(
            "\"{subsystem}\" is not a subsystem name such as block, usb, pci or net"
        )))
    }
}

impl Capabilities {
    fn udev_allow(&self, operation: &str, subsystem: &str, target: &str) -> Result<(), CapError> {
        let ruling = self.grants.udev.decide(subsystem);
        enforce(
            self.sink.as_ref(),
            &Decision::capability("udev", operation, target, &ruling),
        )
        .map_err(|e| match e {
            CapError::Denied(mut d) => {
                d.target = format!("{operation} of {target}");
                CapError::Denied(d)
            }
            other => other,
        })
    }
}

impl Host for Capabilities {
    fn list_devices(
        &mut self,
        subsystem: String,
    ) -> wasmtime::Result<Result<Vec<Device>, CapError>> {
        Ok((|| {
            check_subsystem(&subsystem)?;
            self.udev_allow("list", &subsystem, &format!("subsystem {subsystem}"))?;
            let mut enumerator = udev::Enumerator::new()
                .map_err(|e| CapError::Unsupported(format!("libudev cannot start: {e}")))?;
            enumerator
                .match_subsystem(&subsystem)
                .map_err(|e| CapError::Io(format!("match {subsystem}: {e}")))?;
            let hwdb = udev::Hwdb::new().ok();
            let mounts = mounts();
            let mut devices = Vec::new();
            for dev in enumerator
                .scan_devices()
                .map_err(|e| CapError::Io(format!("scanning {subsystem}: {e}")))?
            {
                if devices.len() >= MAX_DEVICES {
                    return Err(CapError::TooLarge(format!(
                        "more than {MAX_DEVICES} devices in {subsystem}"
                    )));
                }
                devices.push(record(&dev, hwdb.as_ref(), &mounts));
            }
            devices.sort_by(|a, b| a.syspath.cmp(&b.syspath));
            Ok(devices)
        })())
    }

    fn info(&mut self, path: String) -> wasmtime::Result<Result<Device, CapError>> {
        Ok((|| {
            if !Path::new(&path).is_absolute() {
                return Err(CapError::InvalidArgument(format!(
                    "\"{path}\" is neither a /dev node nor a /sys path"
                )));
            }
            let dev = find(&path)?;
            let subsystem = dev.subsystem().map(text).unwrap_or_default();
            self.udev_allow("info", &subsystem, &dev.syspath().display().to_string())?;
            Ok(record(&dev, udev::Hwdb::new().ok().as_ref(), &mounts()))
        })())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(super::unescape("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(super::unescape("/a\\\\b\\04"), "/a\\\\b\\04");
    }

    use super::*;
    use crate::ctx::Grants;
    use crate::sink::Recorder;
    use crate::udev::{UdevPolicy, UdevToml};

    fn caps(subsystems: &[&str]) -> (Capabilities, Arc<Recorder>) {
        let mut grants = Grants::none("ops");
        grants.udev = UdevPolicy::compile(
            "ops",
            &UdevToml {
                subsystems: subsystems.iter().map(|s| (*s).to_owned()).collect(),
            },
        )
        .unwrap();
        let sink = Arc::new(Recorder::new("udev"));
        (Capabilities::new(Arc::new(grants), sink.clone()), sink)
    }

    #[cfg_attr(not(llmagent_udev), ignore = "needs /sys/class/net/lo")]
    #[test]
    fn lo_is_listed_under_net_and_found_by_its_syspath() {
        let (mut caps, sink) = caps(&["net"]);
        let devices = caps.list_devices("net".into()).unwrap().unwrap();
        let lo = devices.iter().find(|d| d.sysname == "lo").unwrap();
        assert_eq!(
            (
                lo.syspath.as_str(),
                lo.subsystem.as_deref(),
                lo.devnode.as_deref()
            ),
            ("/sys/devices/virtual/net/lo", Some("net"), None)
        );
        assert!(
            lo.properties.contains(&("INTERFACE".into(), "lo".into())),
            "{:?}",
            lo.properties
        );
        assert!(
            lo.attributes
                .contains(&("address".into(), "00:00:00:00:00:00".into()))
        );
        let found = caps.info("/sys/class/net/lo".into()).unwrap().unwrap();
        assert_eq!(found.syspath, "/sys/devices/virtual/net/lo");
        assert_eq!(
            sink.seen(),
            vec![
                (
                    "list".into(),
                    "subsystem net".into(),
                    true,
                    "[roles.ops.udev].subsystems has \"net\"".into()
                ),
                (
                    "info".into(),
                    "/sys/devices/virtual/net/lo".into(),
                    true,
                    "[roles.ops.udev].subsystems has \"net\"".into()
                ),
            ]
        );
    }

    #[cfg_attr(not(llmagent_udev), ignore = "needs /sys/class/net/lo")]
    #[test]
    fn an_ungranted_subsystem_is_denied_naming_the_key() {
        let (mut caps, _sink) = caps(&["block"]);
        let Err(CapError::Denied(d)) = caps.list_devices("net".into()).unwrap() else {
            panic!("net is not granted");
        };
        assert_eq!(
            (d.capability.as_str(), d.target.as_str(), d.hint.as_str()),
            (
                "udev",
                "list of subsystem net",
                "add \"net\" to [roles.ops.udev].subsystems"
            )
        );
        let Err(CapError::Denied(d)) = caps.info("/sys/class/net/lo".into()).unwrap() else {
            panic!("lo is in net");
        };
        assert_eq!(d.target, "info of /sys/devices/virtual/net/lo");
        assert!(matches!(
            caps.info("/etc/passwd".into()).unwrap(),
            Err(CapError::InvalidArgument(_))
        ));
        assert!(matches!(
            caps.list_devices("../x".into()).unwrap(),
            Err(CapError::InvalidArgument(_))
        ));
        assert!(matches!(
            caps.info("/dev/definitely-not-here".into()).unwrap(),
            Err(CapError::NotFound(_))
        ));
    }
}
