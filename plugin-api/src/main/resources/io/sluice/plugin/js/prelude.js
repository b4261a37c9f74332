// Evaluated once in every sandbox context, before the filter's module. Builds the `ctx` a filter sees from the
// host facade, normalises what a filter returns, then removes what a script must not reach and freezes every
// intrinsic so that nothing one request does to shared objects (prototype pollution) survives into the next.
(function () {
  'use strict';
  const toStr = (v) => (v === undefined || v === null) ? null : String(v);

  function headers(get, all, set, add, remove) {
    return Object.freeze({
      get: (n) => get(String(n)),
      all: (n) => JSON.parse(all(String(n))),
      has: (n) => get(String(n)) !== null,
      set: (n, v) => { set(String(n), String(v)); },
      add: (n, v) => { add(String(n), String(v)); },
      remove: (n) => { remove(String(n)); },
    });
  }

  function makeCtx(h) {
    const request = {
      get method() { return h.method(); },
      get path() { return h.path(); },
      set path(p) { h.setPath(String(p)); },
      get query() { return h.query(); },
      set query(q) { h.setQuery(String(q)); },
      headers: headers((n) => h.requestHeader(n), (n) => h.requestHeaders(n), (n, v) => h.setRequestHeader(n, v),
        (n, v) => h.addRequestHeader(n, v), (n) => h.removeRequestHeader(n)),
      get body() { return h.requestBody(); },
      set body(b) { h.setRequestBody(typeof b === 'string' ? b : JSON.stringify(b)); },
      json() { const t = h.requestBody(); return t === null || t === '' ? null : JSON.parse(t); },
    };
    const response = h.hasResponse() ? {
      get status() { return h.status(); },
      headers: headers((n) => h.responseHeader(n), (n) => h.responseHeaders(n), (n, v) => h.setResponseHeader(n, v),
        (n, v) => h.addResponseHeader(n, v), (n) => h.removeResponseHeader(n)),
      get body() { return h.responseBody(); },
      set body(b) { h.setResponseBody(typeof b === 'string' ? b : JSON.stringify(b)); },
      json() { const t = h.responseBody(); return t === null || t === '' ? null : JSON.parse(t); },
    } : undefined;
    return {
      request,
      response,
      // read on use: most filters never look, and the route's params cost a JSON round trip
      get consumer() { const id = h.consumerId(); return id === null ? null : Object.freeze({ id }); },
      get route() { return Object.freeze({ id: h.routeId(), params: Object.freeze(JSON.parse(h.routeParams())) }); },
      vars: Object.freeze({
        get: (k) => h.getVar(String(k)),
        set: (k, v) => { h.setVar(String(k), toStr(v)); },
      }),
      get requestId() { return h.requestId(); },
      get clientAddress() { return h.clientAddress(); },
      log: (...parts) => { h.log(parts.map((p) => typeof p === 'string' ? p : JSON.stringify(p)).join(' ')); },
    };
  }

  // what the host calls: run one phase, return null (proceed) or [status, body, name1, value1, ...]
  function invoke(fn, h, conf) {
    const r = fn(makeCtx(h), conf);
    if (r === undefined || r === null) {
      return null;
    }
    if (typeof r !== 'object') {
      throw new TypeError('a filter returns nothing (proceed) or {status, headers, body}');
    }
    const status = r.status === undefined ? 200 : r.status;
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new TypeError('status must be an integer from 100 to 599');
    }
    let body = r.body === undefined || r.body === null ? '' : r.body;
    const out = [status, typeof body === 'string' ? body : JSON.stringify(body)];
    if (typeof body !== 'string' && !(r.headers && Object.keys(r.headers).some((k) => k.toLowerCase() === 'content-type'))) {
      out.push('Content-Type', 'application/json');
    }
    if (r.headers) {
      for (const k of Object.keys(r.headers)) {
        out.push(String(k), String(r.headers[k]));
      }
    }
    return out;
  }

  for (const name of ['load', 'loadWithNewGlobal', 'print', 'printErr', 'quit', 'exit', 'read', 'readbuffer',
    'readline', 'Java', 'Packages', 'java', 'javax', 'com', 'org', 'edu', 'net', 'Polyglot', 'Graal', 'console',
    'require', 'process', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'WebAssembly',
    'SharedArrayBuffer', 'Atomics']) {
    try { delete globalThis[name]; } catch (e) { /* not configurable: frozen below */ }
  }

  const seen = new Set();
  function freeze(o) {
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) {
      return;
    }
    seen.add(o);
    Object.freeze(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d) {
        if ('value' in d) freeze(d.value);
        if (d.get) freeze(d.get);
        if (d.set) freeze(d.set);
      }
    }
    freeze(Object.getPrototypeOf(o));
  }
  // generator, async and iterator prototypes are not reachable as globals
  freeze(Object.getPrototypeOf(function* () {}));
  freeze(Object.getPrototypeOf(async function () {}));
  freeze(Object.getPrototypeOf([][Symbol.iterator]()));
  freeze(globalThis);
  return invoke;
})
