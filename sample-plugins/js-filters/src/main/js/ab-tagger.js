// ab-tagger (JavaScript): the twin of the ab-tagger plugin jar, same config, same hash, same placement.
// Puts each request of an experiment into variant A or B, sticky by a header (e.g. a session id), and tells the
// upstream and the client which in a header.

// 32-bit FNV-1a over the string's UTF-16 code units (as Java's String.charAt sees them)
function bucket(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return (h >>> 0) % 100;
}

export function variant(experiment, key, percentB) {
  return bucket(experiment + ':' + key) < percentB ? 'B' : 'A';
}

export default {
  name: 'ab-tagger-js',
  version: '1.0.0',
  description: 'Tags each request with an A/B variant, sticky by a header (JavaScript twin of ab-tagger)',
  schema: {
    type: 'object',
    required: ['experiment'],
    additionalProperties: false,
    properties: {
      experiment: { type: 'string', minLength: 1 },
      percent_b: { type: 'integer', minimum: 0, maximum: 100, default: 50 },
      sticky_header: { type: 'string' },
      header: { type: 'string', default: 'X-AB-Variant' },
    },
  },
  onRequest(ctx, conf) {
    const header = conf.header || 'X-AB-Variant';
    const sticky = conf.sticky_header ? ctx.request.headers.get(conf.sticky_header) : null;
    const v = variant(conf.experiment, sticky === null ? ctx.requestId : sticky,
      conf.percent_b === undefined ? 50 : conf.percent_b);
    ctx.request.headers.set(header, v);   // replaces anything the client sent
    ctx.vars.set('ab_variant', v);
  },
  onResponse(ctx, conf) {
    const v = ctx.vars.get('ab_variant');
    if (v !== null) {
      ctx.response.headers.set(conf.header || 'X-AB-Variant', v);
    }
  },
};
