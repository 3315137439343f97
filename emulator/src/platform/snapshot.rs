//! The tenant as it outlives a run (`--state FILE`): what ThingsBoard keeps
//! in its database. [`Platform::snapshot`] takes it, [`Platform::restore`]
//! builds a platform from it; the file itself is read and written by
//! [`crate::state`].
//!
//! Kept: the tenant id, the users, the REST login signing key (tokens issued
//! before a restart stay valid, as ThingsBoard's do), every device with its
//! id, name, profile, label, `additionalInfo` (gateway flags), version,
//! credentials and their record, activity times, telemetry and the
//! attributes of the three scopes and its next RPC id; the RPC requests with
//! their states; the claims and the error journal (`/emulator/claims`,
//! `/emulator/errors`); the session counter, so that session numbers never
//! repeat across restarts.
//!
//! Not kept: sessions and sub-device registrations (every connection ends at
//! shutdown; a gateway registers its devices again when it reconnects), and
//! what the command line decides on each start (limits, whether unknown
//! tokens are accepted, RPC timeouts) or `/emulator/` routes set for a run
//! (`PUT /emulator/limits`, canned client-side RPC replies).

use super::device::Device;
use super::journal::{ErrorRecord, Journal};
use super::rpc::{RpcBook, RpcRecord};
use super::{Claim, Config, Platform, User};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The `format` every state file starts with.
pub const STATE_FORMAT: &str = "platform-emulator state";

/// The layout version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// Everything a state file holds (see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// [`STATE_VERSION`] when written by this build.
    pub version: u32,
    /// When it was taken, epoch ms.
    pub saved_at: u64,
    /// The tenant's id.
    pub tenant_id: Uuid,
    /// The HS512 key REST login tokens are signed with.
    pub jwt_signing_key: Vec<u8>,
    /// The REST users.
    pub users: Vec<UserRecord>,
    /// Every device, by name.
    pub devices: Vec<Device>,
    /// Tokens that gateway devices were made and named for
    /// (`--gateway`, `--accept-any-token`): masked in every log line.
    pub token_names: Vec<String>,
    /// The number of the last session opened.
    pub last_session: u64,
    /// Server-side RPC requests, oldest first.
    pub rpcs: Vec<RpcRecord>,
    /// Claims received, oldest first.
    pub claims: Vec<ClaimRecord>,
    /// The error journal, oldest first.
    pub errors: Vec<ErrorRecord>,
    /// The sequence number of the newest error record ever made.
    pub last_error_seq: u64,
}

/// A REST user in a state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// User id.
    pub id: Uuid,
    /// E-mail, the login name.
    pub email: String,
    /// Password.
    pub password: String,
    /// `SYS_ADMIN` or `TENANT_ADMIN`.
    pub authority: String,
    /// Creation time, epoch ms.
    pub created_time: u64,
}

/// A claim in a state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRecord {
    /// Claimed device.
    pub device: String,
    /// Secret key.
    pub secret_key: String,
    /// Effective duration, ms.
    pub duration_ms: i64,
    /// Receive time, epoch ms.
    pub time: u64,
    /// `"gateway"` or `"device"`.
    pub via: String,
}

fn authority(name: &str) -> Result<&'static str, String> {
    match name {
        "SYS_ADMIN" => Ok("SYS_ADMIN"),
        "TENANT_ADMIN" => Ok("TENANT_ADMIN"),
        other => Err(format!(
            "user authority {other:?} is neither SYS_ADMIN nor TENANT_ADMIN"
        )),
    }
}

fn via(name: &str) -> Result<&'static str, String> {
    match name {
        "gateway" => Ok("gateway"),
        "device" => Ok("device"),
        other => Err(format!(
            "claim \"via\" {other:?} is neither \"gateway\" nor \"device\""
        )),
    }
}

impl Platform {
    /// The tenant as a state file keeps it (see [`Snapshot`]).
    pub fn snapshot(&self, now: u64) -> Snapshot {
        Snapshot {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            saved_at: now,
            tenant_id: self.tenant_id,
            jwt_signing_key: self.jwt_key.clone(),
            users: self
                .users
                .iter()
                .map(|u| UserRecord {
                    id: u.id,
                    email: u.email.clone(),
                    password: u.password.clone(),
                    authority: u.authority.into(),
                    created_time: u.created_time,
                })
                .collect(),
            devices: self.devices().cloned().collect(),
            token_names: self.token_names.clone(),
            last_session: self.next_session,
            rpcs: self.rpcs.iter().cloned().collect(),
            claims: self
                .claims
                .iter()
                .map(|c| ClaimRecord {
                    device: c.device.clone(),
                    secret_key: c.secret_key.clone(),
                    duration_ms: c.duration_ms,
                    time: c.time,
                    via: c.via.into(),
                })
                .collect(),
            errors: self.journal.records().cloned().collect(),
            last_error_seq: self.journal.last_seq(),
        }
    }

    /// The platform a state file describes, with the settings of `config`
    /// (its `--gateway` tokens that no device holds yet get their gateway
    /// device, as at a first start). Refuses, in words, a snapshot of
    /// another format or version, or one that contradicts itself (two
    /// devices with one id or one name, two devices with one access token,
    /// no signing key, an unknown authority).
    pub fn restore(config: Config, snapshot: Snapshot, now: u64) -> Result<Platform, String> {
        if snapshot.format != STATE_FORMAT {
            return Err(format!(
                "\"format\" is {:?}, not {STATE_FORMAT:?}",
                snapshot.format
            ));
        }
        if snapshot.version != STATE_VERSION {
            return Err(format!(
                "layout version {} is not the one this emulator reads ({STATE_VERSION})",
                snapshot.version
            ));
        }
        if snapshot.jwt_signing_key.len() < 32 {
            return Err(format!(
                "\"jwtSigningKey\" has {} bytes; HS512 needs at least 32",
                snapshot.jwt_signing_key.len()
            ));
        }
        let mut p = Platform::blank(config, snapshot.tenant_id, snapshot.jwt_signing_key);
        for u in snapshot.users {
            p.users.push(User {
                id: u.id,
                authority: authority(&u.authority)?,
                email: u.email,
                password: u.password,
                created_time: u.created_time,
            });
        }
        let mut tokens = BTreeSet::new();
        for d in snapshot.devices {
            if p.devices.contains_key(&d.id) {
                return Err(format!("two devices have the id {}", d.id));
            }
            if p.names.contains_key(&d.name) {
                return Err(format!("two devices are named {:?}", d.name));
            }
            if let super::Credentials::AccessToken(t) = &d.credentials {
                if !tokens.insert(t.clone()) {
                    // The token itself is a secret: name the device instead.
                    return Err(format!(
                        "device {:?} has the access token of another device",
                        d.name
                    ));
                }
            }
            p.insert_device(d);
        }
        p.token_names = snapshot.token_names;
        p.next_session = snapshot.last_session;
        p.rpcs = RpcBook::restore(snapshot.rpcs);
        for c in snapshot.claims {
            p.claims.push(Claim {
                via: via(&c.via)?,
                device: c.device,
                secret_key: c.secret_key,
                duration_ms: c.duration_ms,
                time: c.time,
            });
        }
        p.journal = Journal::restore(snapshot.errors, snapshot.last_error_seq);
        for token in p.config.gateway_tokens.clone() {
            if p.token_owner(&token).is_none() {
                p.create_gateway_for_token(&token, now);
            }
        }
        Ok(p)
    }
}
