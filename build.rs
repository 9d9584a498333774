//! Links the functions that `hutch run` executes next to each other, at the start of `.text`.
//!
//! hutch is a static binary of about 4 MiB of code, and each start-up maps in what it touches
//! one fault at a time (the kernel maps up to 64 KiB around each fault). Laid out as the compiler
//! leaves it, `hutch run -- true` touched 55 such windows of code across its processes; with the
//! functions it runs together at the front, 12 to 17, as the list is fresh or not
//! (bench/elsewhere.md has the numbers). The list is `link/startup-symbols.txt`, made by
//! `scripts/startup-symbols`. A symbol that no longer exists is skipped, so a stale list costs
//! speed, never a build.
//!
//! Only lld reads such a list (`--symbol-ordering-file`), and only where rustc links with its own
//! lld by default (x86_64-unknown-linux-gnu, Rust 1.90 and later; hutch needs 1.91) and nobody
//! asked for another linker is the flag passed; elsewhere the build is the usual one.
//!
//! There too, the static PIE's relocations are packed (`-z pack-relative-relocs`, DT_RELR): a
//! table of about 2 KiB instead of 119 KiB for glibc's start to read and apply, measured at 10
//! fewer page faults per `hutch run -- true`. The code that applies them is glibc's own, linked
//! in from the libc.a of the build host, and glibc reads DT_RELR only from 2.36 on; a static
//! binary has no version check at run time to catch an older one, so the flag is passed only
//! when the build host's glibc is 2.36 or later.

use std::env;
use std::path::Path;

const LIST: &str = "link/startup-symbols.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if !links_with_rust_lld() {
        return;
    }
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let list = Path::new(&manifest_dir).join(LIST);
    if !list.is_file() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=hutch=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo:rustc-link-arg-bin=hutch=-Wl,--no-warn-symbol-ordering");
    if glibc_reads_relr() {
        println!("cargo:rustc-link-arg-bin=hutch=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build host's glibc, whose libc.a hutch is linked with, applies DT_RELR
/// relocations at start-up: 2.36 or later, as `getconf GNU_LIBC_VERSION` says ("glibc 2.36").
/// Anything else, or no answer, is taken as no; so is a cross build, whose libc is not the
/// host's.
fn glibc_reads_relr() -> bool {
    if env::var("HOST").ok() != env::var("TARGET").ok() {
        return false;
    }
    let Ok(out) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= (2, 36),
        _ => false,
    }
}

/// Whether the hutch binary is linked by the lld that rustc ships and uses by default on this
/// target: not when a linker or linker flavour was chosen by hand.
fn links_with_rust_lld() -> bool {
    if env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    if env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    !flags.split('\x1f').any(|flag| {
        ["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|chosen| flag.contains(chosen))
    })
}
