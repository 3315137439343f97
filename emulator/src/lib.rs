//! # platform-emulator
//!
//! **ThingsBoard itself, for development and tests of browser-gateway**: an
//! MQTT server (TCP and WebSocket, MQTT 3.1, 3.1.1 and 5) with the rules of
//! ThingsBoard's MQTT transport (`thingsboard-gateway-contract.md` §1–§7 and
//! §11), and ThingsBoard's REST API (`thingsboard-rest.md` §0–§5). It is not
//! a broker: nothing is routed between clients, so no client ever receives
//! its own publishes.
//!
//! ## What it emulates
//!
//! * **A tenant** with devices keyed by UUID, each with credentials
//!   (`ACCESS_TOKEN`, or `MQTT_BASIC` `{clientId?, userName?, password?}`),
//!   a profile name (`type`), `additionalInfo` (`gateway`,
//!   `overwriteActivityTime`, `lastConnectedGateway`, and the emulator's
//!   per-gateway `sendPubackOnValidationFailure`) and a `version`. Demo
//!   data as ThingsBoard's: users `tenant@thingsboard.org` / `tenant`
//!   (TENANT_ADMIN) and `sysadmin@thingsboard.org` / `sysadmin`, device
//!   `Test Device A1` with token `A1_TEST_TOKEN` (not a gateway).
//! * **CONNECT** (§1): the user name is looked up as an MQTT basic user name
//!   (with the client id and password when stored), then as an access
//!   token; no user name means MQTT basic by client id. Refusals: CONNACK
//!   134 (MQTT 5) or 5 (3.1.1). `--gateway TOKEN` creates gateway
//!   "Gateway TOKEN" at start; `--accept-any-token` creates one for an
//!   unknown token at its CONNECT. **One session per credential**: a newer
//!   CONNECT ends the older session (MQTT 5 DISCONNECT 142) and its
//!   sub-device registrations.
//! * **Subscriptions** (§2): `v1/gateway/attributes`,
//!   `v1/gateway/attributes/response`, `v1/gateway/rpc`,
//!   `v1/devices/me/attributes`, `v1/devices/me/attributes/response/+`,
//!   `v1/devices/me/rpc/request/+`, `v1/devices/me/rpc/response/+` and the
//!   `v2/` short forms are granted at QoS ≤ 1; anything else is refused
//!   (0x80 / 0x8F). Pushes go to a session whether it subscribed or not,
//!   at the QoS granted to the filter matching their topic, else QoS 1
//!   (`getQoSForTopic`).
//!   Subscribing to `…/rpc/request/+` delivers the RPCs held for the device.
//! * **Publish verdicts** (§4): one PUBACK per message after processing.
//!   Gateway topics from a device without "Is gateway": no PUBACK. Not
//!   JSON: MQTT 5 PUBACK 153, 3.1.1 close. Not an object, a required field
//!   missing or no valid entry: PUBACK 131 and close. One device's values
//!   not convertible: MQTT 5 PUBACK 153, 3.1.1 close. Unknown
//!   `v1/gateway/*` (or any unknown topic): PUBACK 144 (MQTT 5) / 0, open.
//!   QoS 0 on a gateway topic other than connect/disconnect: processed,
//!   PUBACK with packet id 65535 and code 128, and under MQTT 5 a
//!   `{"device":..,"reason":129}` notice on `v1/gateway/disconnect`.
//!   Invalid device-level input: close. With `sendPubackOnValidationFailure`
//!   in the gateway's `additionalInfo`, those closes (and the 3.1.1
//!   not-JSON close) become PUBACK 153.
//! * **Gateway topics** (§3): implicit creation (type `"default"`, or the
//!   connect's `type`), `lastConnectedGateway` set on each registration,
//!   telemetry (both element forms, the `values`-without-`ts` and
//!   `metadata` traps, value typing with numeric-string casting), client
//!   attributes, attribute requests in the exact §3.6 shapes, RPC replies
//!   matched by (device, id) (late ones dropped as stale), claims. Several
//!   gateways at once, each with its own sub-devices; a device registered by
//!   a newer session moves there.
//! * **A device's own API** (§7): telemetry, client attributes, attribute
//!   requests, server-side RPC and its replies (non-JSON → REST 406),
//!   client-side RPC with the built-in `getSessionLimits` (answered from the
//!   current limits) and canned replies set through `/emulator/client-rpc`,
//!   claims.
//! * **Limits** (§6): `maxPayloadSize` and `maxInflightMessages` (enforced
//!   by the transport), and ThingsBoard's rate-limit strings (`"10:1,300:60"`,
//!   every window at once, greedy refill) for `messages`,
//!   `telemetryMessages` and `telemetryDataPoints`: the gateway limits for
//!   all sub-device traffic of one gateway summed, the device limits for a
//!   device's own traffic. A breach: MQTT 5 PUBACK 151 then close; 3.1.1
//!   close. Changeable at run time through `PUT /emulator/limits`.
//! * **Expiry** (§11 item 3): a sub-device without traffic for
//!   `--session-inactivity-ms` (600 000) is silently deregistered (a
//!   repeated connect does not count); with `overwriteActivityTime` the
//!   gateway's traffic and PINGREQs keep all its sub-devices alive. A
//!   session without any packet for that long is closed.
//! * **RPC** as ThingsBoard: per-device ids from 0, requests for an
//!   unreachable device held until it is reachable or expires
//!   (`--rpc-timeout-ms` 10 000, at least `--rpc-min-timeout-ms` 5 000),
//!   persistent RPC with statuses QUEUED/SENT/SUCCESSFUL/TIMEOUT/EXPIRED/FAILED.
//!   Renaming or deleting a device sends `gateway_device_renamed` /
//!   `gateway_device_deleted` (persistent, one-way, 1 day) to its
//!   `lastConnectedGateway` on `v1/devices/me/rpc/request/<id>`.
//!
//! ## Command line
//!
//! ```text
//! --mqtt HOST:PORT|off        MQTT over TCP                          [127.0.0.1:1883]
//! --ws HOST:PORT|off          MQTT over WebSocket (subprotocols mqtt, mqttv3.1,
//!                             binary; any path)                      [127.0.0.1:9001]
//! --http HOST:PORT            REST API                               [127.0.0.1:8081]
//! --gateway TOKEN             repeatable: gateway device "Gateway TOKEN" at start
//! --accept-any-token          an unknown token at CONNECT creates a gateway for it
//! --max-payload-size N        largest packet, bytes                  [65536]
//! --max-inflight N            QoS 1 publishes awaiting PUBACK        [100]
//! --gateway-rate-limits SPEC  sub-device traffic of one gateway, summed
//! --device-rate-limits SPEC   a device's own traffic
//! --session-inactivity-ms N   sub-device session expiry, 0 = never   [600000]
//! --rpc-timeout-ms N          server-side RPC default timeout        [10000]
//! --rpc-min-timeout-ms N      smallest RPC timeout honoured          [5000]
//! --state FILE                the tenant kept in FILE across restarts
//! ```
//!
//! Port 0 takes a free port. SPEC is `KIND=COUNT:SECONDS[,COUNT:SECONDS...]`
//! joined by `;`, KIND one of `messages`, `telemetryMessages`,
//! `telemetryDataPoints` (e.g.
//! `messages=10:1,300:60;telemetryMessages=10:1;telemetryDataPoints=200:1`);
//! kinds left out are unlimited. Bad values are refused with a message and
//! status 2 (clap).
//!
//! Once every listener is bound it prints on **stdout**, flushed, one line
//! per listener, http last:
//!
//! ```text
//! emulator: mqtt listening on 127.0.0.1:41234
//! emulator: ws listening on ws://127.0.0.1:41235
//! emulator: http listening on http://127.0.0.1:41236
//! ```
//!
//! Logs go to stderr, one line per event: `emulator: [HH:MM:SS.mmm] ...`;
//! user names (access tokens) are masked to their first 2 characters
//! (`A1***`). It exits with status 0 on SIGINT or SIGTERM.
//!
//! **Restarts** ([`state`], [`platform::snapshot`]): with `--state FILE` the
//! tenant lives on as ThingsBoard's lives in its database. At start FILE is
//! read if it exists (devices with their ids, credentials and gateway
//! flags, telemetry, attributes of every scope, RPCs, claims, the error
//! journal, the users and the REST signing key, the session counter); a
//! file that cannot be read or is not a state stops the start with a
//! message and status 1. At SIGINT/SIGTERM the listeners stop accepting,
//! every session is ended (MQTT 5: DISCONNECT 139, server shutting down,
//! after the PUBACKs owed), and the tenant is written to a temporary file
//! renamed over FILE; then it exits 0. Listeners bind with `SO_REUSEADDR`,
//! so a restart on the same ports binds at once.
//!
//! ## MQTT transport
//!
//! [`server`] accepts connections on both listeners, one task each, and
//! drives the platform through [`platform::session`]; see [`server`] for
//! the rules it applies itself. In short:
//!
//! * The first packet must be a CONNECT, within 10 s. Its protocol level
//!   picks the codec (3.1 `MQIsdp`/3, 3.1.1, 5); the platform accepts or
//!   refuses it (CONNACK code, then close).
//! * SUBSCRIBE, PUBLISH (any QoS: QoS 2 gets a PUBACK, as ThingsBoard has no
//!   QoS 2 flow) and PINGREQ go to the platform; its verdict decides the
//!   PUBACK (MQTT 5 reason code) and whether the connection closes.
//! * Server pushes are QoS 1 (QoS 0 where the matching subscription was
//!   granted QoS 0) with the connection's own 16-bit-truncated packet id
//!   counter (id 0 after 65 535; a QoS 0 push takes a number too), never
//!   retransmitted.
//! * No keepalive enforcement (as ThingsBoard); a packet over
//!   `maxPayloadSize` (checked from its header, never buffered) or more than
//!   `maxInflightMessages` QoS 1 publishes in one read closes the connection
//!   (MQTT 5: DISCONNECT 129 / 151 first); malformed input closes it (MQTT 5:
//!   DISCONNECT 129 after CONNECT). Every close is logged; nothing a client
//!   sends can stop the emulator.
//! * WebSocket: binary messages carry the bytes (a packet may span
//!   messages, a message may hold several); the offered subprotocol is
//!   echoed; messages over 4 MiB are refused from their header.
//!
//! Crates: mqttbytes 0.6 reads PUBLISH and SUBSCRIBE (v4 codec for 3.1 and
//! 3.1.1, v5 for 5); CONNECT and the server's own packets are written by
//! hand (mqttbytes refuses level 3, binary passwords and a QoS 1 PUBLISH with
//! packet id 0). tokio-tungstenite does the WebSocket handshake and framing;
//! clap the command line.
//!
//! ## REST routes that behave as ThingsBoard's
//!
//! Every `/api/` route but login and token refresh wants
//! `X-Authorization: Bearer <jwt>` (or `Authorization: Bearer`) and answers
//! 401 `{"status":401,"message":"Authentication failed","errorCode":10,"timestamp":..}`
//! without it. Errors are ThingsBoard's shape A (JSON with `errorCode`) or,
//! on the telemetry and RPC routes, shape B (plain text).
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /api/auth/login` `{"username","password"}` | `{"token","refreshToken"}` (HS512 JWT) |
//! | `POST /api/auth/token` `{"refreshToken"}` | a new pair |
//! | `GET /api/auth/user` | the User |
//! | `GET /api/tenant/devices?pageSize&page[&type&textSearch&sortProperty&sortOrder]` | PageData of Device |
//! | `GET /api/tenant/devices?deviceName=`, `GET /api/tenant/device?deviceName=` | Device, or 404 `Requested item wasn't found!` |
//! | `GET /api/device/{id}`, `DELETE /api/device/{id}` | Device / empty 200 |
//! | `POST /api/device[?accessToken=]` | creates (no `id`) or replaces the Device; 400 name missing or taken; 409 stale `version` |
//! | `GET /api/device/{id}/credentials`, `POST /api/device/credentials` | DeviceCredentials (`ACCESS_TOKEN`, `MQTT_BASIC`) |
//! | `GET …/DEVICE/{id}/keys/timeseries` | `["key"]` |
//! | `GET …/DEVICE/{id}/values/timeseries?keys&startTs&endTs&limit&agg&interval&orderBy&useStrictDataTypes` | `{"key":[{"ts","value"}]}` |
//! | `GET …/DEVICE/{id}/keys/attributes[/{scope}]`, `…/values/attributes[/{scope}]?keys` | `["key"]` / `[{"lastUpdateTs","key","value"}]` |
//! | `POST …/DEVICE/{id}/{scope}`, `…/attributes/{scope}`, legacy `POST …/{id}/{scope}` | SERVER_SCOPE or SHARED_SCOPE (shared changes are pushed) |
//! | `DELETE …/DEVICE/{id}/{scope}?keys=`, legacy `DELETE …/{id}/{scope}?keys=` | empty 200 |
//! | `POST …/DEVICE/{id}/timeseries/{scope}[/{ttl}]`, `DELETE …/DEVICE/{id}/timeseries/delete?keys=` | empty 200 |
//! | `POST /api/rpc/{oneway,twoway}/{id}` `{"method","params","timeout","expirationTime","persistent"}` | the reply; 504 on timeout or no connection; 406 non-JSON reply; `{"rpcId"}` when persistent |
//! | `POST /api/plugins/rpc/{oneway,twoway}/{id}` | as above with 408 (timeout) / 409 (no connection) |
//! | `GET`/`DELETE /api/rpc/persistent/{rpcId}`, `GET /api/rpc/persistent/device/{id}?pageSize&page[&rpcStatus]` | Rpc / PageData of Rpc |
//!
//! (`…` is `/api/plugins/telemetry`.)
//!
//! ## The emulator's own routes (no auth)
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /emulator/health` | `{"ok":true}` |
//! | `GET /emulator/sessions` | `[{session, deviceId, deviceName, gateway, version, peer, connectedAt, subDevices}]` |
//! | `POST /emulator/sessions/{session}/close` `{"reason":142}?` | closes that connection (MQTT 5 DISCONNECT with the reason) |
//! | `GET`/`DELETE /emulator/errors` | what was rejected or closed, `[{seq,time,session,device,topic,payload,problem,action,connectionClosed}]`, newest last |
//! | `GET /emulator/limits`, `PUT /emulator/limits` | `{"maxPayloadSize","maxInflightMessages","gatewayRateLimits":{..},"deviceRateLimits":{..},"sessionInactivityMs"}` (`null` = unlimited; PUT merges) |
//! | `PUT`/`DELETE /emulator/client-rpc/{method}` | the body answers the client-side RPC `method` |
//! | `GET /emulator/claims` | `[{device,secretKey,durationMs,time,via}]` |
//! | `POST /emulator/devices/{id}/disconnect-notice` `{"reason":150}` | the MQTT 5 notice on `v1/gateway/disconnect` |
//!
//! ## Layout
//!
//! * [`platform`]: the pure tenant model and rules (no I/O, caller-supplied
//!   time), unit-tested natively; [`platform::session`] is what the MQTT
//!   transport calls.
//! * [`server`]: the MQTT transport; [`rest`]: the REST API; [`hub`]: the
//!   platform behind a lock, effect routing and change notifications;
//!   [`app`]: wiring and shutdown; [`cli`]: arguments; [`state`]: the
//!   state file.
//!
//! Tests through the real binary: `tests/transport.rs` (the transport with
//! rumqttc 3.1.1 and 5 over TCP and WebSocket, raw bytes for bad input),
//! `tests/restarts.rs` (SIGTERM, the state saved and served again on the
//! same ports, unusable state files), `tests/rules.rs` (CONNACK refusals, refused filters, plain devices on
//! gateway topics, takeover) and `tests/verdicts.rs` (every publish
//! verdict, QoS 0, rate limits and `getSessionLimits`, sub-device expiry,
//! push QoS and packet ids, rename/delete notices, no echo), each over TCP
//! and WebSocket as the client sees it on the wire.

#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod hub;
pub mod platform;
pub mod rest;
pub mod server;
pub mod state;
