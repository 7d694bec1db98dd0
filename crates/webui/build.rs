//! Release builds embed `ui/dist` at compile time. Files that existed are tracked by the
//! embedding itself; this makes cargo also notice a `ui/dist` that appears (or changes) after
//! the first build, so `npm run build` followed by `cargo build --release` never serves a stale UI.

fn main() {
    let dist = std::path::Path::new("../../ui/dist");
    if dist.exists() {
        println!("cargo:rerun-if-changed=../../ui/dist");
    } else {
        // Watching the (always present) parent notices the moment `dist` is created.
        println!("cargo:rerun-if-changed=../../ui");
    }
}
