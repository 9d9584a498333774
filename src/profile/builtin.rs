//! GENERATED from profiles/*.toml by src/profile/codegen.rs; do not edit. After changing a
//! built-in profile: HUTCH_UPDATE_BUILTIN_PROFILES=1 cargo test --lib builtin_profiles
//! (a stale copy is not used: `catalog::pre_parsed` parses the text instead).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::{At, EnvSection, Located, Profile, Source};

/// The fingerprint of the text each profile here was made from.
pub(super) const MADE_FROM: &[(&str, u64)] = &[
    ("base", 0x6e4aa4ada2ee6af2),
    ("default", 0xd5d5f22dd690b438),
    ("strict", 0x650b60d8a5ccd239),
    ("dev", 0x0b250d2ca6fe7452),
    ("ci", 0xe9685247e8382a4e),
];

/// What `parse` makes of built-in profile `name`'s text, `s`: the profile and its `extends`.
pub(super) fn parsed(name: &str, s: &Arc<Source>) -> Option<(Profile, Option<Located<String>>)> {
    match name {
        "base" => Some(base(s)),
        "default" => Some(default(s)),
        "strict" => Some(strict(s)),
        "dev" => Some(dev(s)),
        "ci" => Some(ci(s)),
        _ => None,
    }
}

fn at(s: &Arc<Source>, start: usize, end: usize) -> At {
    At::new(s, Range { start, end })
}

fn located<T>(s: &Arc<Source>, value: T, start: usize, end: usize) -> Located<T> {
    Located { value, at: at(s, start, end) }
}

fn base(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {
    let profile = Profile {
        name: "base".into(),
        chain: vec!["base".into()],
        description: "host read-only, empty home, private /tmp, no network, nothing writable but tmpfs".into(),
        hostname: Some(located(s, "sandbox".into(), 477, 486)),
        capabilities: Some(vec![located(s, "CHOWN".into(), 648, 655), located(s, "DAC_OVERRIDE".into(), 657, 671), located(s, "FOWNER".into(), 673, 681), located(s, "FSETID".into(), 683, 691), located(s, "KILL".into(), 693, 699), located(s, "SETGID".into(), 701, 709), located(s, "SETUID".into(), 711, 719), located(s, "SETPCAP".into(), 737, 746), located(s, "NET_BIND_SERVICE".into(), 748, 766), located(s, "SYS_CHROOT".into(), 768, 780), located(s, "SETFCAP".into(), 782, 791), located(s, "AUDIT_WRITE".into(), 793, 806)]),
        map_root: None,
        mounts: vec![super::MountEntry { kind: super::MountKind::RoBind, src: Some(located(s, "/".into(), 981, 984)), dst: located(s, "/".into(), 991, 994), optional: false, create: false, mode: None, at: at(s, 904, 913) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/home".into(), 1176, 1183), optional: false, create: false, mode: None, at: at(s, 1099, 1108) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/root".into(), 1261, 1268), optional: false, create: false, mode: Some(448), at: at(s, 1184, 1193) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/run".into(), 1399, 1405), optional: false, create: false, mode: None, at: at(s, 1282, 1291) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/tmp".into(), 1522, 1528), optional: false, create: false, mode: Some(1023), at: at(s, 1406, 1415) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/var/tmp".into(), 1623, 1633), optional: false, create: false, mode: Some(1023), at: at(s, 1543, 1552) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/mnt".into(), 1724, 1730), optional: true, create: false, mode: None, at: at(s, 1648, 1657) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/media".into(), 1825, 1833), optional: true, create: false, mode: None, at: at(s, 1747, 1756) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "${HOME}".into(), 1981, 1990), optional: false, create: false, mode: Some(448), at: at(s, 1908, 1917) }, super::MountEntry { kind: super::MountKind::Proc, src: None, dst: located(s, "/proc".into(), 2117, 2124), optional: false, create: false, mode: None, at: at(s, 2005, 2014) }, super::MountEntry { kind: super::MountKind::Dev, src: None, dst: located(s, "/dev".into(), 2244, 2250), optional: false, create: false, mode: None, at: at(s, 2125, 2134) }],
        limits: BTreeMap::from([]),
        env: EnvSection { keep: vec!["PATH".into(), "TERM".into(), "COLORTERM".into(), "LANG".into(), "LC_*".into(), "TZ".into(), "USER".into(), "LOGNAME".into(), "SHELL".into()], set: BTreeMap::from([("HOME".into(), located(s, "${HOME}".into(), 2647, 2656))]), unset: vec![] },
        net: Some(super::NetMode::None),
        publish: vec![],
        host_loopback: None,
        allow_hosts: vec![],
        landlock: Some(crate::landlock::LandlockMode::BestEffort),
        tcp_bind: None,
        tcp_connect: None,
        seccomp_deny: vec![],
        seccomp_allow: vec![],
        hide: vec![],
        scrub_git_config: None,
        seccomp_socket_families: vec![],
    };
    (profile, None)
}

fn default(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {
    let profile = Profile {
        name: "default".into(),
        chain: vec!["default".into()],
        description: "host read-only, current directory writable, empty home, private /tmp, no network".into(),
        hostname: None,
        capabilities: None,
        map_root: None,
        mounts: vec![super::MountEntry { kind: super::MountKind::Bind, src: Some(located(s, "${CWD}".into(), 961, 969)), dst: located(s, "${CWD}".into(), 976, 984), optional: false, create: false, mode: None, at: at(s, 890, 899) }],
        limits: BTreeMap::from([]),
        env: EnvSection { keep: vec![], set: BTreeMap::from([]), unset: vec![] },
        net: None,
        publish: vec![],
        host_loopback: None,
        allow_hosts: vec![],
        landlock: None,
        tcp_bind: None,
        tcp_connect: None,
        seccomp_deny: vec![],
        seccomp_allow: vec![],
        hide: vec![],
        scrub_git_config: None,
        seccomp_socket_families: vec![],
    };
    (profile, Some(located(s, "base".into(), 379, 385)))
}

fn strict(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {
    let profile = Profile {
        name: "strict".into(),
        chain: vec!["strict".into()],
        description: "like default, but the current directory read-only and a smaller system-call set".into(),
        hostname: None,
        capabilities: None,
        map_root: None,
        mounts: vec![super::MountEntry { kind: super::MountKind::RoBind, src: Some(located(s, "${CWD}".into(), 502, 510)), dst: located(s, "${CWD}".into(), 517, 525), optional: false, create: false, mode: None, at: at(s, 425, 434) }],
        limits: BTreeMap::from([]),
        env: EnvSection { keep: vec![], set: BTreeMap::from([]), unset: vec![] },
        net: None,
        publish: vec![],
        host_loopback: None,
        allow_hosts: vec![],
        landlock: None,
        tcp_bind: None,
        tcp_connect: None,
        seccomp_deny: vec![located(s, "ptrace".into(), 724, 732), located(s, "process_vm_readv".into(), 734, 752), located(s, "process_vm_writev".into(), 754, 773), located(s, "personality".into(), 775, 788), located(s, "mbind".into(), 790, 797), located(s, "migrate_pages".into(), 807, 822), located(s, "move_pages".into(), 824, 836), located(s, "set_mempolicy".into(), 838, 853), located(s, "vmsplice".into(), 855, 865), located(s, "uselib".into(), 867, 875), located(s, "syslog".into(), 877, 885)],
        seccomp_allow: vec![],
        hide: vec![],
        scrub_git_config: None,
        seccomp_socket_families: vec![],
    };
    (profile, Some(located(s, "base".into(), 361, 367)))
}

fn dev(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {
    let profile = Profile {
        name: "dev".into(),
        chain: vec!["dev".into()],
        description: "like default, plus a persistent home of its own and a network of its own (pasta)".into(),
        hostname: None,
        capabilities: None,
        map_root: None,
        mounts: vec![super::MountEntry { kind: super::MountKind::Bind, src: Some(located(s, "${HUTCH_DATA}/homes/dev".into(), 553, 578)), dst: located(s, "${HOME}".into(), 585, 594), optional: false, create: true, mode: None, at: at(s, 451, 460) }],
        limits: BTreeMap::from([]),
        env: EnvSection { keep: vec![], set: BTreeMap::from([]), unset: vec![] },
        net: Some(super::NetMode::Pasta),
        publish: vec![],
        host_loopback: Some(false),
        allow_hosts: vec![],
        landlock: None,
        tcp_bind: None,
        tcp_connect: None,
        seccomp_deny: vec![],
        seccomp_allow: vec![],
        hide: vec![],
        scrub_git_config: None,
        seccomp_socket_families: vec![],
    };
    (profile, Some(located(s, "default".into(), 368, 377)))
}

fn ci(s: &Arc<Source>) -> (Profile, Option<Located<String>>) {
    let profile = Profile {
        name: "ci".into(),
        chain: vec!["ci".into()],
        description: "CI job: checkout writable, host read-only, network on, secrets and sockets hidden".into(),
        hostname: Some(located(s, "ci".into(), 648, 652)),
        capabilities: None,
        map_root: None,
        mounts: vec![super::MountEntry { kind: super::MountKind::RoBind, src: Some(located(s, "/".into(), 768, 771)), dst: located(s, "/".into(), 778, 781), optional: false, create: false, mode: None, at: at(s, 691, 700) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/run".into(), 903, 909), optional: false, create: false, mode: None, at: at(s, 782, 791) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/tmp".into(), 1010, 1016), optional: false, create: false, mode: Some(1023), at: at(s, 910, 919) }, super::MountEntry { kind: super::MountKind::Tmpfs, src: None, dst: located(s, "/var/tmp".into(), 1111, 1121), optional: false, create: false, mode: Some(1023), at: at(s, 1031, 1040) }, super::MountEntry { kind: super::MountKind::Bind, src: Some(located(s, "${WORKSPACE}".into(), 1296, 1310)), dst: located(s, "${WORKSPACE}".into(), 1317, 1331), optional: false, create: false, mode: None, at: at(s, 1209, 1218) }, super::MountEntry { kind: super::MountKind::Proc, src: None, dst: located(s, "/proc".into(), 1363, 1370), optional: false, create: false, mode: None, at: at(s, 1333, 1342) }, super::MountEntry { kind: super::MountKind::Dev, src: None, dst: located(s, "/dev".into(), 1400, 1406), optional: false, create: false, mode: None, at: at(s, 1371, 1380) }],
        limits: BTreeMap::from([]),
        env: EnvSection { keep: vec!["PATH".into(), "HOME".into(), "USER".into(), "LOGNAME".into(), "SHELL".into(), "TERM".into(), "COLORTERM".into(), "LANG".into(), "LANGUAGE".into(), "LC_*".into(), "TZ".into(), "CI".into(), "DEBIAN_FRONTEND".into(), "SOURCE_DATE_EPOCH".into(), "*_PROXY".into(), "*_proxy".into(), "SSL_CERT_FILE".into(), "SSL_CERT_DIR".into(), "CURL_CA_BUNDLE".into(), "REQUESTS_CA_BUNDLE".into(), "NODE_EXTRA_CA_CERTS".into(), "GIT_SSL_CAINFO".into(), "PIP_CERT".into(), "GITHUB_ACTIONS".into(), "GITHUB_ACTION".into(), "GITHUB_ACTOR".into(), "GITHUB_ACTOR_ID".into(), "GITHUB_BASE_REF".into(), "GITHUB_EVENT_NAME".into(), "GITHUB_HEAD_REF".into(), "GITHUB_JOB".into(), "GITHUB_REF".into(), "GITHUB_REF_NAME".into(), "GITHUB_REF_PROTECTED".into(), "GITHUB_REF_TYPE".into(), "GITHUB_REPOSITORY".into(), "GITHUB_REPOSITORY_ID".into(), "GITHUB_REPOSITORY_OWNER".into(), "GITHUB_RUN_ATTEMPT".into(), "GITHUB_RUN_ID".into(), "GITHUB_RUN_NUMBER".into(), "GITHUB_SERVER_URL".into(), "GITHUB_API_URL".into(), "GITHUB_GRAPHQL_URL".into(), "GITHUB_SHA".into(), "GITHUB_TRIGGERING_ACTOR".into(), "GITHUB_WORKFLOW".into(), "GITHUB_WORKFLOW_REF".into(), "GITHUB_WORKSPACE".into(), "RUNNER_ARCH".into(), "RUNNER_DEBUG".into(), "RUNNER_ENVIRONMENT".into(), "RUNNER_NAME".into(), "RUNNER_OS".into(), "RUNNER_TEMP".into(), "RUNNER_TOOL_CACHE".into(), "ImageOS".into(), "ImageVersion".into(), "CARGO_HOME".into(), "CARGO_TARGET_DIR".into(), "CARGO_TERM_*".into(), "CARGO_INCREMENTAL".into(), "CARGO_BUILD_*".into(), "CARGO_PROFILE_*".into(), "RUSTUP_HOME".into(), "RUSTUP_TOOLCHAIN".into(), "RUSTFLAGS".into(), "RUSTDOCFLAGS".into(), "RUST_BACKTRACE".into(), "RUST_LOG".into(), "RUST_TEST_THREADS".into(), "JAVA_HOME".into(), "JAVA_HOME_*".into(), "JAVA_TOOL_OPTIONS".into(), "MAVEN_OPTS".into(), "GRADLE_OPTS".into(), "GRADLE_USER_HOME".into(), "ANDROID_HOME".into(), "ANDROID_SDK_ROOT".into(), "ANDROID_NDK_HOME".into(), "GOPATH".into(), "GOROOT".into(), "GOROOT_*".into(), "GOFLAGS".into(), "GOCACHE".into(), "GOMODCACHE".into(), "GOOS".into(), "GOARCH".into(), "GO111MODULE".into(), "CGO_ENABLED".into(), "NODE_OPTIONS".into(), "NODE_ENV".into(), "NODE_PATH".into(), "NVM_DIR".into(), "COREPACK_HOME".into(), "PYTHONPATH".into(), "PYTHONHASHSEED".into(), "PYTHONUNBUFFERED".into(), "PYTHONDONTWRITEBYTECODE".into(), "PYTHONIOENCODING".into(), "PYTHONUTF8".into(), "pythonLocation".into(), "Python_ROOT_DIR".into(), "Python2_ROOT_DIR".into(), "Python3_ROOT_DIR".into(), "VIRTUAL_ENV".into(), "CONDA".into(), "PIPX_HOME".into(), "PIPX_BIN_DIR".into(), "DOTNET_ROOT".into(), "DOTNET_CLI_TELEMETRY_OPTOUT".into(), "DOTNET_NOLOGO".into(), "GEM_HOME".into(), "GEM_PATH".into(), "BUNDLE_PATH".into(), "CHROME_BIN".into(), "CHROMEWEBDRIVER".into(), "CC".into(), "CXX".into(), "AR".into(), "LD".into(), "CPP".into(), "CFLAGS".into(), "CXXFLAGS".into(), "CPPFLAGS".into(), "LDFLAGS".into(), "PKG_CONFIG_PATH".into(), "LD_LIBRARY_PATH".into(), "MAKEFLAGS".into()], set: BTreeMap::from([]), unset: vec![] },
        net: Some(super::NetMode::Host),
        publish: vec![],
        host_loopback: None,
        allow_hosts: vec![],
        landlock: Some(crate::landlock::LandlockMode::BestEffort),
        tcp_bind: None,
        tcp_connect: None,
        seccomp_deny: vec![],
        seccomp_allow: vec![],
        hide: vec![located(s, "${HOME}/.netrc".into(), 5239, 5255), located(s, "${HOME}/.git-credentials".into(), 5257, 5283), located(s, "${HOME}/.config/git/credentials".into(), 5285, 5318), located(s, "${HOME}/.npmrc".into(), 5324, 5340), located(s, "${HOME}/.pypirc".into(), 5342, 5359), located(s, "${HOME}/.cargo/credentials.toml".into(), 5361, 5394), located(s, "${HOME}/.cargo/credentials".into(), 5400, 5428), located(s, "${HOME}/.gem/credentials".into(), 5430, 5456), located(s, "${HOME}/.m2/settings-security.xml".into(), 5458, 5493), located(s, "${HOME}/.composer/auth.json".into(), 5499, 5528), located(s, "${HOME}/.config/composer/auth.json".into(), 5530, 5566), located(s, "${HOME}/.docker".into(), 5572, 5589), located(s, "${HOME}/.kube".into(), 5591, 5606), located(s, "${HOME}/.config/gh".into(), 5608, 5628), located(s, "${HOME}/.config/hub".into(), 5630, 5651), located(s, "${HOME}/.aws".into(), 5657, 5671), located(s, "${HOME}/.config/gcloud".into(), 5673, 5697), located(s, "${HOME}/.azure".into(), 5699, 5715), located(s, "${HOME}/.oci".into(), 5717, 5731), located(s, "${HOME}/.terraform.d/credentials.tfrc.json".into(), 5737, 5781), located(s, "${HOME}/.vault-token".into(), 5783, 5805), located(s, "${HOME}/.ssh".into(), 5811, 5825), located(s, "${HOME}/.gnupg".into(), 5827, 5843), located(s, "${HOME}/.password-store".into(), 5845, 5870), located(s, "${HOME}/.local/share/keyrings".into(), 5876, 5907), located(s, "${HOME}/.config/containers/auth.json".into(), 5909, 5947)],
        scrub_git_config: Some(true),
        seccomp_socket_families: vec![],
    };
    (profile, None)
}
