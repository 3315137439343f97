//! # platform-emulator
//!
//! Plays **ThingsBoard's side of the gateway MQTT contract**
//! (`thingsboard-gateway-contract.md`, §2–§7) for development and
//! end-to-end tests of browser-gateway, where a real ThingsBoard cannot run.
//!
//! It is an MQTT 5 *client* of an ordinary broker (mosquitto), standing where
//! a mosquitto bridge to ThingsBoard would stand in deployment B of the
//! contract (§10): it emulates **one gateway device** (one gateway token) and
//! the sub-devices the gateway reports. It subscribes with **No Local**, so
//! it never receives its own publishes, and publishes everything at QoS 1.
//!
//! ## What it emulates
//!
//! * Gateway topics (§3): `connect` / `disconnect` (sub-device session
//!   registration), `telemetry` (both element forms, `ts` as number or
//!   numeric string, the `values`-without-`ts` and `metadata` traps, value
//!   typing with numeric-string casting), client `attributes`, shared
//!   attribute pushes (one device per message, deletions separately),
//!   `attributes/request` answered in the exact §3.6 shapes (including the
//!   `keys: []` quirk), server-side RPC with per-device ids from 0 and
//!   replies matched by (device, id) (late or duplicate replies are dropped
//!   as stale), and `claim`.
//! * Implicit creation: any message naming an unknown device creates it
//!   with type `"default"` and registers it in the gateway session; a
//!   `connect` with a `type` creates it with that profile; existing devices
//!   keep their profile.
//! * RPC delivery as ThingsBoard does it: requests for a device that is not
//!   registered are **held** until it connects (or sends its first message)
//!   or the request expires; the REST call then answers 409. A delivered
//!   request without a reply answers 408. The timeout defaults to 10 000 ms
//!   and is raised to a minimum of 5 000 ms (`--rpc-min-timeout-ms`).
//! * Sub-device session expiry (§11 item 3): a registered sub-device with no
//!   message for 10 minutes (`--session-inactivity-ms`) is silently
//!   deregistered; a repeated `connect` does not count as activity.
//! * Shared-attribute updates are pushed only to registered devices, never
//!   queued (so a client must re-request attributes after connecting).
//! * The gateway's own device API (§7): telemetry and client attributes
//!   stored under the gateway device; attribute requests on
//!   `v1/devices/me/attributes/request/<id>` answered with
//!   `{"client":{..},"shared":{..}}`; the built-in `getSessionLimits`
//!   client-side RPC (§6; CE defaults: no rate limits, so `null`s); server
//!   RPC to the gateway on `v1/devices/me/rpc/request/<id>` with its reply
//!   on `v1/devices/me/rpc/response/<id>` (non-JSON replies give the REST
//!   caller 406); `gateway_device_renamed` / `gateway_device_deleted`
//!   notifications; claims.
//! * Malformed input (§4): every message ThingsBoard would reject, skip or
//!   drop is recorded (`GET /api/errors`) with what ThingsBoard would do. When
//!   ThingsBoard would **close the connection** (PUBACK 131 cases, oversized
//!   packets, invalid device-level payloads), the emulator does what that
//!   closure implies: it deregisters every sub-device, as ThingsBoard does on
//!   a closed gateway session. It never panics on input.
//!
//! ## What it does not emulate
//!
//! * **PUBACK reason codes and connection closes.** PUBACKs come from the
//!   broker, which cannot know ThingsBoard's verdict; the emulator cannot
//!   close the gateway's connection either. Both are reported in the error
//!   log instead (this is also what a real bridge deployment hides).
//! * Authentication, access tokens, the one-session-per-token rule and
//!   session takeover; MQTT 3.1.1 specifics; QoS 0 handling on gateway
//!   topics (§4); protobuf payloads; short `v2/` topics; Sparkplug B;
//!   provisioning; OTA; rate limits (none are enforced, as on a default CE
//!   tenant); device-count limits; gateway latency metrics (`metadata` is
//!   validated and stripped, no `gatewayMetrics` telemetry is written).
//! * Client-side RPCs other than `getSessionLimits` are answered at once with
//!   `{"error":"no rule chain handles method <m>"}`, or with a reply set by
//!   `PUT /api/gateway/client-rpc/{method}`; real ThingsBoard without a rule
//!   chain sends `{"error":"timeout"}` after 60 s.
//! * One-way RPCs and the rename/delete notifications are published once
//!   (no persistence or retries); their status stays `SENT`.
//! * Value typing is exact for numeric strings; for JSON numbers it is
//!   approximated (serde_json keeps no number text: `1e3` is a double here,
//!   a long in ThingsBoard; see `platform::values`).
//! * The gateway's own connection is not observable through a broker: the
//!   gateway device counts as connected while the emulator is connected to
//!   the broker. Losing the broker connection is treated like a bridge drop:
//!   every sub-device is deregistered.
//!
//! ## Command line
//!
//! ```text
//! platform-emulator [--broker HOST:PORT] [--http HOST:PORT] [--rpc-timeout-ms N]
//!                   [--rpc-min-timeout-ms N] [--client-id ID] [--gateway-name NAME]
//!                   [--session-inactivity-ms N] [--state-topic TOPIC|none]
//! ```
//!
//! Defaults: broker `127.0.0.1:1883`, HTTP `127.0.0.1:8080` (port 0 picks a
//! free port), RPC timeout 10 000 ms (minimum 5 000), client id
//! `tb-emulator`, gateway name `gateway`, session inactivity 600 000 ms,
//! state topic `tb-bridge/state` (retained `"1"` when connected, `"0"` on
//! shutdown and as the will, like a bridge's `notification_topic`).
//!
//! Logs go to stderr, one line per event: `emulator: [HH:MM:SS.mmm] ...`.
//! Once the HTTP server is bound **and** the broker has granted every
//! subscription, it prints (on stderr, once) the ready line
//!
//! ```text
//! emulator: http listening on http://127.0.0.1:8080
//! ```
//!
//! with the actual bound address. It reconnects (and re-subscribes) when the
//! broker restarts, and exits with status 0 on Ctrl-C or SIGTERM.
//!
//! ## HTTP API
//!
//! JSON in and out; errors are `{"status":N,"message":"..."}`. `{name}` is a
//! URL-encoded sub-device name (any characters). The gateway device itself
//! is addressed under the reserved prefix `/api/gateway` instead of
//! `/api/plugins/telemetry/DEVICE/{name}`, so no sub-device name is reserved.
//!
//! | Method and path | Body | Answer |
//! |---|---|---|
//! | `GET /api/health` | | 200 `{"ok":true,"mqtt":"subscribed"}`; 503 `{"ok":false,"mqtt":"connecting"\|"connected"}` until subscribed |
//! | `GET /api/devices` | | 200 `[{name,type,connected,createdTime,lastActivityTime,lastConnectTime,lastDisconnectTime,telemetryCount,attributeCount}]` (times epoch ms or null) |
//! | `POST /api/devices` | `{"name","type"?}` | 200 summary; 400 if it exists (pre-create, as in the UI) |
//! | `GET /api/devices/{name}` | | 200 summary; 404 |
//! | `DELETE /api/devices/{name}` | | 200; sends `gateway_device_deleted`; pending RPCs fail (404); 404 if unknown |
//! | `POST /api/devices/{name}/rename` | `{"name":"new"}` | 200 new summary; sends `gateway_device_renamed`; 400 if taken; 404 |
//! | `POST /api/devices/{name}/disconnect-notice` | `{"reason":150}`? | 200; publishes `{"device","reason"}` on `v1/gateway/disconnect` (§3.2) |
//! | `GET .../DEVICE/{name}/values/timeseries` | `?keys=a,b&useStrictDataTypes=true&startTs=&endTs=&limit=100&orderBy=DESC` | 200 `{"key":[{"ts","value"}]}`: latest per key, or the `[startTs,endTs)` range when both are given; values are strings unless `useStrictDataTypes=true`; 404 |
//! | `GET .../DEVICE/{name}/keys/timeseries` | | 200 `["key",..]` |
//! | `GET .../DEVICE/{name}/values/attributes[/{scope}]` | `?keys=a,b` | 200 `[{"key","value","lastUpdateTs"}]` (all scopes: client, shared); 400 bad scope; 404 |
//! | `GET .../DEVICE/{name}/keys/attributes[/{scope}]` | | 200 `["key",..]` |
//! | `POST .../DEVICE/{name}/attributes/SHARED_SCOPE` (or `.../DEVICE/{name}/SHARED_SCOPE`) | `{k:v}` | 200; stored, pushed `{"device","data":{..}}` if the device is registered; 400 other scope/empty/not an object; 404 |
//! | `DELETE .../DEVICE/{name}/{scope}` | `?keys=a,b` | 200; for `SHARED_SCOPE` pushes `{"device","data":{"deleted":[..]}}` if registered; 400 without keys; 404 |
//! | `POST /api/rpc/twoway/{name}` | `{"method","params"?,"timeout"?}` | 200 with the reply's `data` as body; 408 delivered but unanswered; 409 never delivered (device not connected before expiry); 404 unknown or deleted device; 400 bad body |
//! | `POST /api/rpc/oneway/{name}` | same | 200 (empty) once published; 409/404/400 as above |
//! | `GET /api/gateway` | | 200 the gateway device's summary |
//! | `GET /api/gateway/values/timeseries`, `/keys/timeseries`, `/values/attributes[/{scope}]`, `/keys/attributes[/{scope}]` | as above | as above, for the gateway's own data |
//! | `POST /api/gateway/attributes/SHARED_SCOPE` (or `/api/gateway/SHARED_SCOPE`) | `{k:v}` | 200; pushes `{k:v}` on `v1/devices/me/attributes` |
//! | `DELETE /api/gateway/SHARED_SCOPE?keys=a,b` | | 200; pushes `{"deleted":[..]}` on `v1/devices/me/attributes` |
//! | `POST /api/gateway/rpc/twoway`, `/api/gateway/rpc/oneway` | `{"method","params"?,"timeout"?}` | via `v1/devices/me/rpc/request/<id>`; 200 reply body; 406 non-JSON reply; 408 |
//! | `PUT /api/gateway/client-rpc/{method}` | any JSON | 200; the gateway's client-side RPC `method` is answered with it (`DELETE` removes) |
//! | `POST /api/gateway/session/close` | | 200 `{"deregistered":N}`: what ThingsBoard does when the gateway's connection closes |
//! | `GET /api/claims` | | 200 `[{device,secretKey,durationMs,time,via}]` |
//! | `GET /api/errors` | | 200 `[{seq,time,topic,payload,problem,thingsboard,connectionClosed}]`, oldest first, last 1000; `DELETE` clears |
//! | `GET /api/rpc`, `GET /api/rpc/{seq}` | | 200 `[{seq,target,device,rpcId,method,params,oneway,status,createdTime,expirationTime,sentTime,response,responseNotJson,responseTime,staleReplies}]`; status is `QUEUED`, `SENT`, `SUCCESSFUL`, `TIMEOUT`, `EXPIRED` or `DELETED` |
//!
//! (`...` is `/api/plugins/telemetry`.)
//!
//! ## Layout
//!
//! * [`platform`]: the pure state machine (no I/O, caller-supplied time),
//!   unit-tested against the contract's examples and malformed cases.
//! * [`mqtt`], [`http`]: the I/O around it; [`hub`]: what they share;
//!   [`app`]: wiring; [`cli`]: arguments.

#![warn(missing_docs)]

pub mod app;
pub mod cli;
pub mod http;
pub mod hub;
pub mod platform;
pub mod server;
