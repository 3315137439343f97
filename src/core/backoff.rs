//! Reconnect delays: exponential backoff with jitter, from 1 s up to 60 s.
