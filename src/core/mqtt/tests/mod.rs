//! Transcript tests of the session against a simulated broker and clock.
//! One file per concern; [`harness`] is the broker.
mod connect;
mod framing;
mod harness;
mod incoming;
mod keepalive;
mod lifecycle;
mod publish;
mod robustness;
mod subscribe;
mod transmit;
mod v5;
