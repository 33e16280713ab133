//! This crate has no code of its own: its tests (`tests/deploy`) check the deployment files.
