//! Links `bootstrap` as a position-dependent executable (`-no-pie`): the
//! dynamic loader then has no relative relocations to apply at every cold
//! start (8,835 of them in a PIE `bootstrap`, with a copy-on-write fault for
//! each page of pointers they touch). The code is still compiled
//! position-independent; only the executable's own load address is fixed,
//! as it is for every Go function on Lambda. Shared libraries, heap and
//! stack stay randomised. Measured in benches/README.md ("Where the time
//! goes").

fn main() {
    println!("cargo:rustc-link-arg-bin=bootstrap=-no-pie");
}
