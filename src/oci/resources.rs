//! `linux.resources` as cgroup v2 interface files: what the engine asks for in the runtime-spec's
//! (mostly cgroup v1) terms, converted the way runc and crun convert it (their "cgroup v2" man
//! page sections), as a list of `file value` writes for the container's cgroup.
//!
//! [`writes`] is pure. A field with no cgroup v2 meaning (kernel memory, realtime CPU budgets,
//! net_cls/net_prio, swappiness, disabling the OOM killer) is refused by name, never dropped.
//! [`Write::changes_something`] tells the values a fresh cgroup has anyway (shares 1024, no
//! quota, `max`), which a host without cgroup v2 may accept without a cgroup.

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources, LinuxThrottleDevice};

use super::config::ConfigError;

/// cpu.max's default period, 100 ms (the kernel's, and the runtime-spec's when none is given).
const CPU_PERIOD_US: u64 = 100_000;

/// One write of a cgroup interface file, and the field of config.json it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub file: String,
    pub value: String,
    pub field: String,
}

impl Write {
    fn new(file: impl Into<String>, value: impl Into<String>, field: impl Into<String>) -> Write {
        Write {
            file: file.into(),
            value: value.into(),
            field: field.into(),
        }
    }

    /// The controller whose file this is (`memory` for memory.max), if any.
    pub fn controller(&self) -> &str {
        self.file.split_once('.').map_or("", |(c, _)| c)
    }

    /// Whether this write changes what a new cgroup has: its defaults are no limit (`max`), the
    /// default weight 100, no protection (0) and no cpuset of its own.
    pub fn changes_something(&self) -> bool {
        !matches!(
            (self.file.as_str(), self.value.as_str()),
            (
                "memory.max" | "memory.swap.max" | "memory.high" | "pids.max",
                "max"
            ) | ("memory.low" | "memory.min", "0")
                | ("cpu.max", "max 100000")
                | ("cpu.weight", "100")
                | ("io.weight", "default 100")
        )
    }
}

/// cpu.shares (2 to 262144, default 1024) as cpu.weight (1 to 10000, default 100), with the
/// conversion of runc 1.3.2 and crun 1.23 on (a quadratic in log2 of the shares that keeps
/// the default on the default: the older linear one gave 1024 shares a weight of 39).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    // Rounded first so that floating-point noise above a whole number (1024 shares: 100.0000…1)
    // does not take the ceiling to the next weight.
    let weight = 10f64.powf(exponent);
    let rounded = (weight * 1e6).round() / 1e6;
    (rounded.ceil() as u64).clamp(1, 10_000)
}

/// blkio.weight (10 to 1000) as io.weight (1 to 10000), runc's and crun's linear conversion.
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    let weight = u64::from(weight.clamp(10, 1000));
    1 + (weight - 10) * 9999 / 990
}

/// memory.swap.max from the runtime-spec's swap, which counts memory and swap together (as
/// memory.memsw.limit_in_bytes did): `None` when nothing is to be written.
fn swap_max(limit: Option<i64>, swap: i64) -> Result<Option<String>, String> {
    match (limit, swap) {
        (_, 0) => Ok(None),
        (_, -1) => Ok(Some("max".into())),
        (_, s) if s < -1 => Err(format!("{s} is neither a size nor -1 (unlimited)")),
        (None | Some(0) | Some(-1), _) => Err(
            "a swap limit counts memory and swap together, so it needs linux.resources.memory.limit"
                .into(),
        ),
        (Some(l), s) if s < l => Err(format!(
            "{s} is below the memory limit {l} (the swap limit counts memory and swap together)"
        )),
        (Some(l), s) => Ok(Some((s - l).to_string())),
    }
}

/// A byte count or -1 (unlimited).
fn bytes_or_max(field: &str, value: i64) -> Result<String, ConfigError> {
    match value {
        -1 => Ok("max".into()),
        v if v >= 0 => Ok(v.to_string()),
        v => Err(ConfigError::invalid(
            field,
            format!("{v} is neither a size nor -1 (unlimited)"),
        )),
    }
}

fn memory(memory: &LinuxMemory, out: &mut Vec<Write>) -> Result<(), ConfigError> {
    const F: &str = "linux.resources.memory";
    let refuse = |name: &str, why: &str| ConfigError::unsupported(format!("{F}.{name}"), why);
    if memory.kernel().is_some_and(|k| k != 0) || memory.kernel_tcp().is_some_and(|k| k != 0) {
        return Err(refuse(
            "kernel",
            "kernel memory is counted with all other memory in cgroup v2 and has no limit of its own",
        ));
    }
    if memory.swappiness().is_some() {
        return Err(refuse(
            "swappiness",
            "cgroup v2 has no per-cgroup swappiness",
        ));
    }
    if memory.disable_oom_killer() == Some(true) {
        return Err(refuse(
            "disableOOMKiller",
            "cgroup v2 cannot turn the OOM killer off for a cgroup",
        ));
    }
    if memory.use_hierarchy() == Some(false) {
        return Err(refuse(
            "useHierarchy",
            "cgroup v2 accounting is always hierarchical",
        ));
    }
    let limit = memory.limit().filter(|l| *l != 0);
    if let Some(limit) = limit {
        let field = format!("{F}.limit");
        out.push(Write::new(
            "memory.max",
            bytes_or_max(&field, limit)?,
            field,
        ));
    }
    if let Some(swap) = memory.swap() {
        let field = format!("{F}.swap");
        if let Some(value) =
            swap_max(limit, swap).map_err(|why| ConfigError::invalid(&field, why))?
        {
            out.push(Write::new("memory.swap.max", value, field));
        }
    }
    if let Some(reservation) = memory.reservation().filter(|r| *r != 0) {
        // runc and crun: the soft limit of cgroup v1 is memory.low's best-effort protection.
        let field = format!("{F}.reservation");
        let value = match reservation {
            -1 => "0".into(),
            r => bytes_or_max(&field, r)?,
        };
        out.push(Write::new("memory.low", value, field));
    }
    Ok(())
}

fn cpu(cpu: &LinuxCpu, out: &mut Vec<Write>) -> Result<(), ConfigError> {
    const F: &str = "linux.resources.cpu";
    if cpu.realtime_runtime().is_some_and(|r| r != 0)
        || cpu.realtime_period().is_some_and(|p| p != 0)
    {
        return Err(ConfigError::unsupported(
            format!("{F}.realtimeRuntime"),
            "realtime CPU budgets are not part of cgroup v2's cpu controller",
        ));
    }
    if let Some(shares) = cpu.shares().filter(|s| *s != 0) {
        out.push(Write::new(
            "cpu.weight",
            shares_to_weight(shares).to_string(),
            format!("{F}.shares"),
        ));
    }
    let quota = cpu.quota().filter(|q| *q != 0);
    let period = cpu.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        let field = format!("{F}.{}", if quota.is_some() { "quota" } else { "period" });
        let quota = match quota {
            None => "max".to_string(),
            Some(q) if q < 0 => "max".into(),
            Some(q) if q < 1000 => {
                return Err(ConfigError::invalid(
                    field,
                    format!("{q} µs is below the kernel's minimum quota of 1000 µs"),
                ))
            }
            Some(q) => q.to_string(),
        };
        let period = period.unwrap_or(CPU_PERIOD_US);
        if !(1000..=1_000_000).contains(&period) {
            return Err(ConfigError::invalid(
                format!("{F}.period"),
                format!("{period} µs is outside the kernel's 1000 to 1000000 µs"),
            ));
        }
        out.push(Write::new("cpu.max", format!("{quota} {period}"), field));
    }
    if let Some(burst) = cpu.burst() {
        out.push(Write::new(
            "cpu.max.burst",
            burst.to_string(),
            format!("{F}.burst"),
        ));
    }
    if let Some(idle) = cpu.idle() {
        out.push(Write::new(
            "cpu.idle",
            idle.to_string(),
            format!("{F}.idle"),
        ));
    }
    for (file, name, value) in [
        ("cpuset.cpus", "cpus", cpu.cpus()),
        ("cpuset.mems", "mems", cpu.mems()),
    ] {
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        if !value
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b',' | b'-'))
        {
            return Err(ConfigError::invalid(
                format!("{F}.{name}"),
                format!("{value:?} is not a list such as 0-3,6"),
            ));
        }
        out.push(Write::new(file, value, format!("{F}.{name}")));
    }
    Ok(())
}

fn block_io(io: &oci_spec::runtime::LinuxBlockIo, out: &mut Vec<Write>) -> Result<(), ConfigError> {
    const F: &str = "linux.resources.blockIO";
    let leaf = io.leaf_weight().is_some()
        || io
            .weight_device()
            .iter()
            .flatten()
            .any(|d| d.leaf_weight().is_some());
    if leaf {
        return Err(ConfigError::unsupported(
            format!("{F}.leafWeight"),
            "cgroup v2 has no leaf weights",
        ));
    }
    if let Some(weight) = io.weight().filter(|w| *w != 0) {
        out.push(Write::new(
            "io.weight",
            format!("default {}", blkio_weight_to_io(weight)),
            format!("{F}.weight"),
        ));
    }
    for (i, device) in io.weight_device().iter().flatten().enumerate() {
        if let Some(weight) = device.weight().filter(|w| *w != 0) {
            out.push(Write::new(
                "io.weight",
                format!(
                    "{}:{} {}",
                    device.major(),
                    device.minor(),
                    blkio_weight_to_io(weight)
                ),
                format!("{F}.weightDevice[{i}]"),
            ));
        }
    }
    let throttles: [(&str, &str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        (
            "throttleReadBpsDevice",
            "rbps",
            io.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "wbps",
            io.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "riops",
            io.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "wiops",
            io.throttle_write_iops_device(),
        ),
    ];
    for (name, key, devices) in throttles {
        for (i, device) in devices.iter().flatten().enumerate() {
            let rate = match device.rate() {
                0 => "max".to_string(),
                r => r.to_string(),
            };
            out.push(Write::new(
                "io.max",
                format!("{}:{} {key}={rate}", device.major(), device.minor()),
                format!("{F}.{name}[{i}]"),
            ));
        }
    }
    Ok(())
}

/// A key of `linux.resources.unified`: an interface file of a controller (`memory.high`), not
/// one of the core `cgroup.*` files that shape the tree (the runtime manages those) and no path.
fn check_unified_key(key: &str) -> Result<(), String> {
    let Some((controller, rest)) = key.split_once('.') else {
        return Err("not a controller's interface file (CONTROLLER.NAME)".into());
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.'))
    };
    if !name_ok(controller) || !name_ok(rest) || controller.contains('.') {
        return Err("not a controller's interface file (CONTROLLER.NAME)".into());
    }
    if controller == "cgroup" {
        return Err("the cgroup.* files belong to the runtime, which places the container".into());
    }
    Ok(())
}

/// The cgroup v2 writes `resources` asks for, in the order they are made. Device rules are not
/// among them: a rootless container has no device nodes but those bound into it.
pub fn writes(resources: &LinuxResources) -> Result<Vec<Write>, ConfigError> {
    const F: &str = "linux.resources";
    let mut out = Vec::new();
    if let Some(m) = resources.memory() {
        memory(m, &mut out)?;
    }
    if let Some(c) = resources.cpu() {
        cpu(c, &mut out)?;
    }
    if let Some(pids) = resources.pids() {
        let value = match pids.limit() {
            l if l <= 0 => "max".to_string(),
            l => l.to_string(),
        };
        out.push(Write::new("pids.max", value, format!("{F}.pids.limit")));
    }
    if let Some(io) = resources.block_io() {
        block_io(io, &mut out)?;
    }
    for (i, page) in resources.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("{F}.hugepageLimits[{i}]");
        let size = page.page_size();
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::invalid(
                field,
                format!("{size:?} is not a page size such as 2MB"),
            ));
        }
        out.push(Write::new(
            format!("hugetlb.{size}.max"),
            bytes_or_max(&field, page.limit())?,
            field,
        ));
    }
    if resources.network().is_some() {
        return Err(ConfigError::unsupported(
            format!("{F}.network"),
            "net_cls and net_prio are cgroup v1 controllers, absent from cgroup v2",
        ));
    }
    if resources.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(ConfigError::unsupported(
            format!("{F}.rdma"),
            "hutch-oci does not implement the rdma controller",
        ));
    }
    let mut unified: Vec<(&String, &String)> = resources.unified().iter().flatten().collect();
    unified.sort();
    for (key, value) in unified {
        let field = format!("{F}.unified.{key}");
        check_unified_key(key).map_err(|why| ConfigError::invalid(&field, why))?;
        if value.contains('\n') {
            return Err(ConfigError::invalid(field, "a value of one line"));
        }
        out.push(Write::new(key.as_str(), value.as_str(), field));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
