//! The integration tests, one binary: each module is what was once a test file of
//! its own, `support` what they share. `docs/testing.md` says what runs where.

mod support;

mod alerts;
mod cli_convert;
mod cli_devices;
mod cli_errors;
mod cli_processes;
mod cli_registers;
mod cli_transmit_log;
mod clock_steps;
mod coexistence;
mod conformance;
mod core_captures;
mod core_locals;
mod core_scenarios;
mod dbus_policy;
mod dbus_service;
mod dbus_settings;
mod dbus_vecan;
mod docs;
mod n2k_out;
mod n2k_out_nodes;
mod readme;
mod real_buses;
mod robustness;
mod switching;
mod systemd;
mod transport;
mod vcan_vm;
mod vecan_active;
mod vecan_products;
mod venus_captures;
mod venus_install;
mod venus_scenarios;
