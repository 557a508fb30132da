//! Helpers shared by the web console's end-to-end tests (`console*.rs`), beside the server
//! harness in `support`: a running `ecsctl console`, plain HTTP requests to it (and to the
//! server's own API on its unix socket), and the headless browser set-up.

#![allow(dead_code)]

pub mod console;
