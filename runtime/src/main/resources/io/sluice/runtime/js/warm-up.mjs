// Run by each JavaScript worker when the sandbox starts (JsSandbox.Worker.warmUp), in a context of its own that is
// then thrown away: loads and first-interprets what filters commonly use (the ctx facade on both sides, regular
// expressions, JSON, strings, arrays, dates, URI coding, a respond outcome), so the first real requests after a
// start do not pay for it. Not a filter: it is never uploaded, and nothing it does outlives its context.
export default {
  name: 'sluice-warm-up', version: '1.0.0', schema: {},
  onRequest(ctx, conf) {
    const p = ctx.request.path;
    const m = /^\/([a-z]+)\/(\d{1,4})(?:\.(json|xml))?$/i.exec(p);
    const parts = (ctx.request.query || '').split('&').map((kv) => kv.split('=')).filter((kv) => kv.length === 2);
    const doc = JSON.parse(JSON.stringify({ m: m ? m.slice(1) : [], parts, at: new Date(0).toISOString(), n: Date.now() > 0 }));
    const names = Object.keys(doc).sort().reverse().join(',');
    const tags = (conf.tags || []).map((t) => t.trim().toUpperCase()).filter((t) => t.includes('A') || t.startsWith('B'));
    ctx.request.headers.set('x-warm', encodeURIComponent(names) + ';' + decodeURIComponent('%41') + tags.length);
    ctx.request.headers.add('x-warm', String(Math.max(1, ...tags.map((t) => t.length))).padStart(3, '0'));
    ctx.request.headers.remove('x-cold');
    const all = ctx.request.headers.all('x-warm');
    const has = ctx.request.headers.has('x-warm') && ctx.request.headers.get('x-warm') !== null;
    ctx.vars.set('warm', String(all.length) + has);
    const route = ctx.route;
    const who = ctx.consumer === null ? 'anonymous' : ctx.consumer.id;
    if (p.endsWith('/deny') || p.replace(/\/+$/g, '').length === 0) {
      return { status: 403, headers: { 'x-why': who + route.id }, body: { error: 'denied', list: tags, doc } };
    }
    try {
      if (ctx.request.method === 'POST') { throw new Error('warm'); }
    } catch (e) {
      ctx.vars.set('error', e.message);
    }
    ctx.request.path = p.toLowerCase();
    ctx.request.query = parts.map(([k, v]) => k + '=' + v).join('&');
  },
  onResponse(ctx, conf) {
    const s = ctx.response.status;
    if (s >= 200 && s < 300 && ctx.vars.get('warm') !== null) {
      ctx.response.headers.set('x-warm', ['a', 'b', 'c'].reduce((acc, x, i) => acc + x + (i * 7 % 3), ''));
    } else if (s >= 500) {
      return { status: 503, body: 'try later' };
    }
  },
};
