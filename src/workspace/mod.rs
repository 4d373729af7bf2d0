//! Repository-level operations over `patches/`, `lib-src/` and the `work/` checkout.
