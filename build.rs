//! Tells the binary which target it was built for: the C compiler is
//! configured for the same one when plugins are compiled at pack time.

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=EMBEDPACK_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
