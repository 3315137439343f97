//! One component per file.
pub mod chart;
pub mod connect_form;
pub mod notices;
pub mod status_bar;
pub mod traffic_log;
pub mod virtual_list;
