//! Pass the build's optimisation level and profile to the binary, so its
//! report says what it was measured with.

fn main() {
    for name in ["OPT_LEVEL", "PROFILE", "DEBUG"] {
        let value = std::env::var(name).unwrap_or_else(|_| "?".into());
        println!("cargo:rustc-env=BENCH_{name}={value}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_PROFILE_RELEASE_OPT_LEVEL");
}
