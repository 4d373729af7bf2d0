//! The `#`/`###` line convention (see README): rendering, alignment, validation and patches.
