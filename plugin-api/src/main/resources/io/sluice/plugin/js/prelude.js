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

  // The ctx objects are built and frozen once per context, not per call: they reach the exchange through `h`, set
  // for the duration of one invocation only. A ctx a script keeps (say in a module variable) therefore always means
  // the request running now, and outside an invocation it throws instead of reaching a finished request.
  let h = null;
  const host = () => {
    if (h === null) {
      throw new Error('ctx is only usable during the call it was passed to');
    }
    return h;
  };
  const request = {
    get method() { return host().method(); },
    get path() { return host().path(); },
    set path(p) { host().setPath(String(p)); },
    get query() { return host().query(); },
    set query(q) { host().setQuery(String(q)); },
    headers: headers((n) => host().requestHeader(n), (n) => host().requestHeaders(n),
      (n, v) => host().setRequestHeader(n, v), (n, v) => host().addRequestHeader(n, v),
      (n) => host().removeRequestHeader(n)),
    get body() { return host().requestBody(); },
    set body(b) { host().setRequestBody(typeof b === 'string' ? b : JSON.stringify(b)); },
    json() { const t = host().requestBody(); return t === null || t === '' ? null : JSON.parse(t); },
  };
  const response = {
    get status() { return host().status(); },
    headers: headers((n) => host().responseHeader(n), (n) => host().responseHeaders(n),
      (n, v) => host().setResponseHeader(n, v), (n, v) => host().addResponseHeader(n, v),
      (n) => host().removeResponseHeader(n)),
    get body() { return host().responseBody(); },
    set body(b) { host().setResponseBody(typeof b === 'string' ? b : JSON.stringify(b)); },
    json() { const t = host().responseBody(); return t === null || t === '' ? null : JSON.parse(t); },
  };
  function makeCtx(withResponse) {
    return {
      request,
      response: withResponse ? response : undefined,
      // read on use: most filters never look, and the route's params cost a JSON round trip
      get consumer() { const id = host().consumerId(); return id === null ? null : Object.freeze({ id }); },
      get route() {
        return Object.freeze({ id: host().routeId(), params: Object.freeze(JSON.parse(host().routeParams())) });
      },
      vars: {
        get: (k) => host().getVar(String(k)),
        set: (k, v) => { host().setVar(String(k), toStr(v)); },
      },
      get requestId() { return host().requestId(); },
      get clientAddress() { return host().clientAddress(); },
      log: (...parts) => { host().log(parts.map((p) => typeof p === 'string' ? p : JSON.stringify(p)).join(' ')); },
    };
  }
  const ctxRequest = makeCtx(false);
  const ctxResponse = makeCtx(true);

  // what the host calls: run one phase, return null (proceed) or [status, body, name1, value1, ...]
  function invoke(fn, facade, conf) {
    h = facade;
    let r;
    try {
      r = fn(facade.hasResponse() ? ctxResponse : ctxRequest, conf);
    } finally {
      h = null;
    }
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
  freeze(ctxRequest);
  freeze(ctxResponse);
  return invoke;
})
