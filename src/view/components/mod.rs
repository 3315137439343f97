//! One component per file; a device's page and its tabs under `device/`.
pub mod chart;
pub mod connect_form;
pub mod device;
pub mod device_list;
pub mod gateway_page;
pub mod json_editor;
pub mod loadtest;
pub mod notices;
pub mod simulator_panel;
pub mod status_bar;
pub mod tabs;
pub mod traffic_log;
pub mod virtual_list;
