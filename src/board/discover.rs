//! Finding boards: USB serial ports, mounted CircuitPython drives, and which port belongs to
//! which drive.
//!
//! A drive and a port are the same board when the port's USB serial number equals the `UID:`
//! line of the drive's `boot_out.txt` (CircuitPython ≥ 8: both are the MCU's unique id in
//! upper-case hex). The parsing and pairing functions are pure so fixtures can test them; only
//! [`discover`] looks at the machine.

use std::path::{Path, PathBuf};

use super::error::{BoardError, Result};
use super::mass_storage::BootOut;

/// Adafruit's USB vendor id (CircuitPython boards).
pub const VID_ADAFRUIT: u16 = 0x239A;
/// MicroPython's default USB vendor id.
pub const VID_MICROPYTHON: u16 = 0xF055;

/// A serial port with its USB identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortInfo {
    /// What to open (`/dev/ttyACM0`, `/dev/cu.usbmodem1101`, `COM5`).
    pub name: String,
    /// USB vendor id, for USB ports.
    pub vid: Option<u16>,
    /// USB product id, for USB ports.
    pub pid: Option<u16>,
    /// USB serial number (the MCU UID on CircuitPython).
    pub serial_number: Option<String>,
    /// USB manufacturer string.
    pub manufacturer: Option<String>,
    /// USB product string.
    pub product: Option<String>,
}

impl PortInfo {
    /// Whether the vendor is one whose boards run MicroPython or CircuitPython.
    pub fn is_known_board(&self) -> bool {
        matches!(self.vid, Some(VID_ADAFRUIT) | Some(VID_MICROPYTHON))
    }
}

/// A mounted drive that looks like a CircuitPython board.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriveInfo {
    /// Mount point (`/media/me/CIRCUITPY`, `/Volumes/CIRCUITPY`, `E:\`).
    pub path: PathBuf,
    /// Volume label, where known.
    pub label: Option<String>,
    /// Parsed `boot_out.txt`, if readable.
    pub boot_out: Option<BootOut>,
}

/// One board: a port, a drive, or both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardCandidate {
    /// The serial port.
    pub port: Option<PortInfo>,
    /// The mounted drive.
    pub drive: Option<DriveInfo>,
}

impl BoardCandidate {
    /// One line for lists and errors.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.port {
            let mut s = p.name.clone();
            if let (Some(v), Some(d)) = (p.vid, p.pid) {
                s.push_str(&format!(" [{v:04x}:{d:04x}]"));
            }
            if let Some(prod) = &p.product {
                s.push_str(&format!(" {prod}"));
            }
            parts.push(s);
        }
        if let Some(d) = &self.drive {
            let mut s = d.path.display().to_string();
            if let Some(b) = &d.boot_out {
                s.push_str(&format!(
                    " (CircuitPython {} on {})",
                    b.version, b.board_name
                ));
            }
            parts.push(s);
        }
        parts.join("  <->  ")
    }

    /// Whether this is probably a MicroPython/CircuitPython board rather than some other USB
    /// serial device.
    pub fn is_known_board(&self) -> bool {
        self.drive.is_some() || self.port.as_ref().is_some_and(PortInfo::is_known_board)
    }
}

/// Convert the serialport crate's list, keeping USB ports only (built-in UARTs and Bluetooth
/// ports are never boards we can auto-detect; they can still be named with `--board`).
pub fn ports_from(list: Vec<serialport::SerialPortInfo>) -> Vec<PortInfo> {
    let mut out: Vec<PortInfo> = list
        .into_iter()
        .filter_map(|p| match p.port_type {
            serialport::SerialPortType::UsbPort(u) => Some(PortInfo {
                name: p.port_name,
                vid: Some(u.vid),
                pid: Some(u.pid),
                serial_number: u.serial_number,
                manufacturer: u.manufacturer,
                product: u.product,
            }),
            _ => None,
        })
        // macOS lists every device twice, as /dev/tty.* and /dev/cu.*; the cu side does not
        // wait for carrier detect.
        .filter(|p| !p.name.starts_with("/dev/tty.usbmodem"))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Filesystem type (`vfat`).
    pub fs_type: String,
    /// The device (`/dev/sdb1`).
    pub source: String,
}

/// Undo the kernel's octal escapes (`\040` for a space, as in `/media/me/CIRCUITPY 1`).
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `/proc/self/mountinfo` text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount_point = fields.get(4)?;
            let dash = fields.iter().position(|f| *f == "-")?;
            Some(Mount {
                mount_point: PathBuf::from(unescape_octal(mount_point)),
                fs_type: fields.get(dash + 1)?.to_string(),
                source: unescape_octal(fields.get(dash + 2)?),
            })
        })
        .collect()
}

/// Filesystems a CircuitPython drive can show up as.
const BOARD_FS: &[&str] = &["vfat", "msdos", "exfat", "fuseblk"];

/// The mounts worth probing for a `boot_out.txt`.
pub fn board_mount_points(mounts: &[Mount]) -> Vec<PathBuf> {
    mounts
        .iter()
        .filter(|m| BOARD_FS.contains(&m.fs_type.as_str()))
        .map(|m| m.mount_point.clone())
        .collect()
}

/// Whether a folder name is a CircuitPython drive label (`CIRCUITPY`, `CIRCUITPY1`,
/// `CIRCUITPY 1`).
pub fn looks_like_circuitpy(name: &str) -> bool {
    name.starts_with("CIRCUITPY")
}

/// Build a [`DriveInfo`] for `path` if it holds a CircuitPython `boot_out.txt` or is named like
/// a CIRCUITPY drive.
pub fn probe_drive(path: &Path, label: Option<String>) -> Option<DriveInfo> {
    let boot_out = BootOut::read(path).ok();
    let named = path
        .file_name()
        .is_some_and(|n| looks_like_circuitpy(&n.to_string_lossy()))
        || label.as_deref().is_some_and(looks_like_circuitpy);
    (boot_out.is_some() || named).then(|| DriveInfo {
        path: path.to_path_buf(),
        label,
        boot_out,
    })
}

/// Pair ports with drives by USB serial number = `UID:`. Unpaired ports and drives become
/// candidates of their own. Fallback for CircuitPython < 8 (no `UID:`): when exactly one
/// unpaired drive and exactly one unpaired Adafruit port remain, they are paired.
pub fn pair(ports: Vec<PortInfo>, drives: Vec<DriveInfo>) -> Vec<BoardCandidate> {
    let mut drives: Vec<Option<DriveInfo>> = drives.into_iter().map(Some).collect();
    let mut out: Vec<BoardCandidate> = Vec::new();
    for port in ports {
        let slot = port.serial_number.as_ref().and_then(|sn| {
            drives.iter().position(|d| {
                d.as_ref()
                    .and_then(|d| d.boot_out.as_ref())
                    .and_then(|b| b.uid.as_ref())
                    .is_some_and(|uid| uid.eq_ignore_ascii_case(sn))
            })
        });
        let drive = slot.and_then(|i| drives[i].take());
        out.push(BoardCandidate {
            port: Some(port),
            drive,
        });
    }
    let left: Vec<DriveInfo> = drives.into_iter().flatten().collect();
    let lonely_ports: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.drive.is_none() && c.port.as_ref().is_some_and(|p| p.vid == Some(VID_ADAFRUIT))
        })
        .map(|(i, _)| i)
        .collect();
    if left.len() == 1
        && lonely_ports.len() == 1
        && left[0].boot_out.as_ref().is_some_and(|b| b.uid.is_none())
    {
        out[lonely_ports[0]].drive = left.into_iter().next();
        return out;
    }
    out.extend(left.into_iter().map(|d| BoardCandidate {
        port: None,
        drive: Some(d),
    }));
    out
}

/// What `--board` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardSpec {
    /// Pick the only board present.
    Auto,
    /// A serial port name or path.
    Port(String),
    /// A mounted drive folder.
    Drive(PathBuf),
}

/// Read a `--board` value. A folder is a drive; anything else other than `auto` is a port.
pub fn parse_spec(spec: &str) -> BoardSpec {
    if spec.is_empty() || spec.eq_ignore_ascii_case("auto") {
        BoardSpec::Auto
    } else if Path::new(spec).is_dir() {
        BoardSpec::Drive(PathBuf::from(spec))
    } else {
        BoardSpec::Port(spec.to_string())
    }
}

/// The boards `auto` chooses among: known board vendors and drives, or, when there are none,
/// every USB serial port (an unknown adapter is still better than nothing).
pub fn auto_pool(found: &[BoardCandidate]) -> Vec<&BoardCandidate> {
    let boards: Vec<&BoardCandidate> = found.iter().filter(|c| c.is_known_board()).collect();
    if boards.is_empty() {
        found.iter().collect()
    } else {
        boards
    }
}

/// Resolve `--board` against the boards found. `auto` wants exactly one board (known board
/// vendors win over other USB serial devices); a port or drive is matched against the list to
/// pick up its partner, and used alone if it is not in the list but exists.
pub fn resolve_board(spec: &BoardSpec, found: &[BoardCandidate]) -> Result<BoardCandidate> {
    let known = || {
        found
            .iter()
            .map(BoardCandidate::describe)
            .collect::<Vec<_>>()
    };
    match spec {
        BoardSpec::Auto => match auto_pool(found).as_slice() {
            [] => Err(BoardError::NoBoard),
            [one] => Ok((*one).clone()),
            many => Err(BoardError::Ambiguous {
                candidates: many.iter().map(|c| c.describe()).collect(),
            }),
        },
        BoardSpec::Port(name) => {
            if let Some(c) = found
                .iter()
                .find(|c| c.port.as_ref().is_some_and(|p| same_port(&p.name, name)))
            {
                return Ok(c.clone());
            }
            if Path::new(name).exists() || is_windows_com(name) {
                return Ok(BoardCandidate {
                    port: Some(PortInfo {
                        name: name.clone(),
                        vid: None,
                        pid: None,
                        serial_number: None,
                        manufacturer: None,
                        product: None,
                    }),
                    drive: None,
                });
            }
            Err(BoardError::UnknownBoard {
                spec: name.clone(),
                known: known(),
            })
        }
        BoardSpec::Drive(path) => {
            if let Some(c) = found
                .iter()
                .find(|c| c.drive.as_ref().is_some_and(|d| same_path(&d.path, path)))
            {
                return Ok(c.clone());
            }
            match probe_drive(path, None) {
                Some(d) => Ok(BoardCandidate {
                    port: None,
                    drive: Some(d),
                }),
                None if path.is_dir() => {
                    // A plain folder: allowed (a test directory, a drive relabelled by the
                    // user), but without boot_out.txt nothing pairs it with a port.
                    Ok(BoardCandidate {
                        port: None,
                        drive: Some(DriveInfo {
                            path: path.clone(),
                            label: None,
                            boot_out: None,
                        }),
                    })
                }
                None => Err(BoardError::UnknownBoard {
                    spec: path.display().to_string(),
                    known: known(),
                }),
            }
        }
    }
}

fn same_port(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    // /dev/serial/by-id/... symlinks name the same device as /dev/ttyACM0.
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

fn is_windows_com(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let upper = upper.trim_start_matches(r"\\.\");
    upper.starts_with("COM") && upper[3..].parse::<u32>().is_ok()
}

/// List USB serial ports on this machine.
pub fn list_ports() -> Result<Vec<PortInfo>> {
    // serialport's sysfs scan panics when the folder is missing (some containers).
    #[cfg(target_os = "linux")]
    if !Path::new("/sys/class/tty").is_dir() {
        log::debug!("/sys/class/tty is missing: no serial ports listed");
        return Ok(Vec::new());
    }
    let list = serialport::available_ports().map_err(|source| BoardError::Enumerate { source })?;
    Ok(ports_from(list))
}

/// List mounted CircuitPython drives on this machine.
pub fn list_drives() -> Vec<DriveInfo> {
    let mut out: Vec<DriveInfo> = platform_drives();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup_by(|a, b| a.path == b.path);
    out
}

#[cfg(target_os = "linux")]
fn platform_drives() -> Vec<DriveInfo> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mounts = parse_mountinfo(&text);
    board_mount_points(&mounts)
        .into_iter()
        .filter_map(|p| {
            let label = p.file_name().map(|n| n.to_string_lossy().into_owned());
            probe_drive(&p, label)
        })
        .collect()
}

#[cfg(target_os = "macos")]
fn platform_drives() -> Vec<DriveInfo> {
    let Ok(rd) = std::fs::read_dir("/Volumes") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| {
            let label = e.file_name().to_string_lossy().into_owned();
            probe_drive(&e.path(), Some(label))
        })
        .collect()
}

#[cfg(windows)]
fn platform_drives() -> Vec<DriveInfo> {
    use windows_sys::Win32::Storage::FileSystem::{GetLogicalDrives, GetVolumeInformationW};
    use windows_sys::Win32::System::Diagnostics::Debug::{SetErrorMode, SEM_FAILCRITICALERRORS};
    // SAFETY (all calls below): plain Win32 calls with valid, NUL-terminated buffers whose
    // lengths are passed alongside; null pointers are allowed for the outputs we skip.
    // Without SEM_FAILCRITICALERRORS an empty card reader pops up a "no disk" dialog.
    let old_mode = unsafe { SetErrorMode(SEM_FAILCRITICALERRORS) };
    let mask = unsafe { GetLogicalDrives() };
    let mut out = Vec::new();
    // A: and B: are floppy letters; probing them can stall.
    for i in 2..26u32 {
        if mask & (1 << i) == 0 {
            continue;
        }
        let root = format!("{}:\\", char::from(b'A' + i as u8));
        let wide: Vec<u16> = root.encode_utf16().chain(Some(0)).collect();
        let mut name = [0u16; 261];
        let ok = unsafe {
            GetVolumeInformationW(
                wide.as_ptr(),
                name.as_mut_ptr(),
                name.len() as u32,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
        if ok == 0 {
            // No medium in the drive, or not ready.
            continue;
        }
        let len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        let label = String::from_utf16_lossy(&name[..len]);
        if let Some(d) = probe_drive(Path::new(&root), Some(label)) {
            out.push(d);
        }
    }
    unsafe { SetErrorMode(old_mode) };
    out
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn platform_drives() -> Vec<DriveInfo> {
    Vec::new()
}

/// Everything attached: ports and drives, paired.
pub fn discover() -> Result<Vec<BoardCandidate>> {
    Ok(pair(list_ports()?, list_drives()))
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
