//! Whether a network interface exists and is up, read from sysfs. The live daemon
//! waits for its interface with this, and notices an interface that went down even
//! when no read on its socket fails.

use std::path::Path;

/// `IFF_UP` in `/sys/class/net/<if>/flags`: the administrator brought it up.
const IFF_UP: u32 = 0x1;

/// What sysfs says about an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Up: frames can be read and sent.
    Up,
    /// Present but down (`ip link set <if> down`, or never brought up).
    Down,
    /// No such interface (driver not loaded, adapter unplugged, a typo).
    Missing,
    /// sysfs is not there to ask: opening the socket will tell.
    Unknown,
}

/// The state of `iface` now.
pub fn link_state(iface: &str) -> LinkState {
    link_state_in(Path::new("/sys/class/net"), iface)
}

/// The state of `iface` under a sysfs `class/net` folder.
pub fn link_state_in(net: &Path, iface: &str) -> LinkState {
    if iface.is_empty() || iface.contains('/') || iface == "." || iface == ".." {
        return LinkState::Missing;
    }
    let dir = net.join(iface);
    match std::fs::read_to_string(dir.join("flags")) {
        Ok(text) => {
            let flags = text.trim().trim_start_matches("0x");
            match u32::from_str_radix(flags, 16) {
                Ok(f) if f & IFF_UP != 0 => LinkState::Up,
                Ok(_) => LinkState::Down,
                Err(_) => LinkState::Unknown,
            }
        }
        Err(_) if net.is_dir() && !dir.exists() => LinkState::Missing,
        Err(_) => LinkState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net_with(flags: &[(&str, &str)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("n2k-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (iface, f) in flags {
            std::fs::create_dir_all(dir.join(iface)).expect("iface dir");
            std::fs::write(dir.join(iface).join("flags"), f).expect("flags");
        }
        dir
    }

    #[test]
    fn reads_the_up_flag() {
        // 0xc1 is what a vcan shows when up (UP|RUNNING|NOARP), 0x80 when down.
        let net = net_with(&[("vcan0", "0xc1\n"), ("can1", "0x80\n"), ("odd", "zz\n")]);
        assert_eq!(link_state_in(net.as_path(), "vcan0"), LinkState::Up);
        assert_eq!(link_state_in(net.as_path(), "can1"), LinkState::Down);
        assert_eq!(link_state_in(net.as_path(), "odd"), LinkState::Unknown);
        assert_eq!(link_state_in(net.as_path(), "can9"), LinkState::Missing);
        assert_eq!(link_state_in(net.as_path(), "../etc"), LinkState::Missing);
        assert_eq!(
            link_state_in(&net.as_path().join("absent"), "can0"),
            LinkState::Unknown
        );
        let _ = std::fs::remove_dir_all(&net);
    }
}
