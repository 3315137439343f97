// ThingsBoard's REST API as a script written for ThingsBoard calls it: log in
// as the demo tenant, find devices by name, read time series and attributes,
// save shared attributes, call RPCs, rename and delete. The same calls work
// against a real ThingsBoard; the emulator's own routes (/emulator/...) are
// kept apart at the bottom.
//
//   const tb = rest('http://127.0.0.1:8081');
//   const pump = await tb.device('Pump 7');            // null if unknown
//   await tb.saveShared('Pump 7', { setpoint: 42 });

const TENANT = { username: 'tenant@thingsboard.org', password: 'tenant' };

/** A REST client for the platform at `baseUrl` (no trailing slash). */
export function rest(baseUrl, credentials = TENANT) {
  let token = null;

  async function login() {
    const res = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials),
    });
    if (res.status !== 200) throw new Error(`login as ${credentials.username}: HTTP ${res.status} ${await res.text()}`);
    token = (await res.json()).token;
  }

  /**
   * Call `path` (with its query) on the platform, logged in; resolves to
   * { status, body } with the body parsed as JSON when it is JSON. A 401
   * (a restarted platform forgets its tokens) logs in again once.
   */
  async function call(path, { method = 'GET', body, query } = {}) {
    const url = new URL(baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    for (let attempt = 0; ; attempt++) {
      if (!token) await login();
      const headers = { 'x-authorization': `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status === 401 && attempt === 0) { token = null; continue; }
      let parsed = text;
      try { parsed = text === '' ? '' : JSON.parse(text); } catch { /* plain text (shape B) */ }
      return { status: res.status, body: parsed };
    }
  }

  /** The Device named `name`, or null (404). */
  async function device(name) {
    const r = await call('/api/tenant/devices', { query: { deviceName: name } });
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`device ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** The id (UUID) of the device named `name`; throws if there is none. */
  async function idOf(name) {
    const d = await device(name);
    if (!d) throw new Error(`no device named ${JSON.stringify(name)}`);
    return d.id.id;
  }

  const telemetry = async (name) => `/api/plugins/telemetry/DEVICE/${await idOf(name)}`;

  return {
    call,
    device,
    idOf,
    /** Every device of the tenant (one page of up to 20 000). */
    async devices() {
      const r = await call('/api/tenant/devices', { query: { pageSize: 20000, page: 0 } });
      if (r.status !== 200) throw new Error(`devices: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.data;
    },
    /** Latest values of `keys`: {key: [{ts, value}]} (values are strings, as ThingsBoard gives them). */
    async timeseries(name, keys) {
      return call(`${await telemetry(name)}/values/timeseries`, { query: { keys } });
    },
    /** Attributes of one scope (or all with scope undefined): [{lastUpdateTs, key, value}]. */
    async attributes(name, scope, keys) {
      return call(`${await telemetry(name)}/values/attributes${scope ? `/${scope}` : ''}`, { query: keys ? { keys } : {} });
    },
    /** Save shared attributes; ThingsBoard pushes them to the device. */
    async saveShared(name, values) {
      return call(`${await telemetry(name)}/attributes/SHARED_SCOPE`, { method: 'POST', body: values });
    },
    /** Delete shared attribute keys (comma list). */
    async deleteShared(name, keys) {
      return call(`${await telemetry(name)}/SHARED_SCOPE`, { method: 'DELETE', query: { keys } });
    },
    /** A two-way RPC: resolves to { status, body } with the device's reply (504 on timeout). */
    async twoway(name, request) {
      return call(`/api/rpc/twoway/${await idOf(name)}`, { method: 'POST', body: request });
    },
    /** A one-way RPC. */
    async oneway(name, request) {
      return call(`/api/rpc/oneway/${await idOf(name)}`, { method: 'POST', body: request });
    },
    /**
     * Rename as ThingsBoard's UI does: GET the device, change the name, POST
     * it back whole (so additionalInfo.lastConnectedGateway is kept and the
     * gateway hears gateway_device_renamed).
     */
    async rename(name, newName) {
      const d = await device(name);
      if (!d) throw new Error(`no device named ${JSON.stringify(name)}`);
      return call('/api/device', { method: 'POST', body: { ...d, name: newName } });
    },
    async remove(name) {
      return call(`/api/device/${await idOf(name)}`, { method: 'DELETE' });
    },

    // The emulator's own routes: no auth, never under /api/.
    /** The MQTT sessions the emulator holds (each with its registered sub-devices). */
    async sessions() {
      const res = await fetch(`${baseUrl}/emulator/sessions`);
      if (res.status !== 200) throw new Error(`/emulator/sessions: HTTP ${res.status}`);
      return res.json();
    },
    /** Names of the sub-devices registered in any gateway session now. */
    async connected() {
      const sessions = await this.sessions();
      return new Set(sessions.flatMap((s) => s.subDevices ?? []));
    },
    async errors() {
      const res = await fetch(`${baseUrl}/emulator/errors`);
      return res.json();
    },
    /** The limits now in force (`null` = unlimited). */
    async limits() {
      const res = await fetch(`${baseUrl}/emulator/limits`);
      return res.json();
    },
    /** Change limits while running (only the fields given; every session's buckets restart full). */
    async setLimits(limits) {
      const res = await fetch(`${baseUrl}/emulator/limits`, {
        method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(limits),
      });
      if (res.status !== 200) throw new Error(`PUT /emulator/limits: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    },
  };
}
