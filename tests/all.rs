//! hutch's integration tests, compiled into one binary: each spawns the real `hutch`.
mod suite;
