//! Records the target triple the crate is compiled for, so a model names
//! the platform its embedded executable runs on (`x86_64-unknown-linux-gnu`,
//! not just `x86_64-linux`: the libc and ABI matter to whoever runs it).

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=TANDEM_BUILD_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
