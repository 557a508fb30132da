//! The runtime's vocabulary: what to create ([`spec`]) and what the engine reports
//! ([`observed`]). No engine type appears here.

pub mod exec;
pub mod observed;
pub mod packet_filter;
pub mod spec;
