//! Boards: transports (serial raw REPL, USB mass storage) behind one trait.
