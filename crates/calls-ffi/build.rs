//! Gives libcalls.so an ELF SONAME, so that programs linked against it record
//! the ABI they were built for and `make install` can version the file:
//! `libcalls.so.<major>` from 1.0 on, `libcalls.so.0.<minor>` before (where,
//! by Cargo's semver rules, a new minor version may break the ABI).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "linux" {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let abi = if major == "0" {
        format!("0.{minor}")
    } else {
        major
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcalls.so.{abi}");
}
