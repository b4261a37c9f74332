// ${filterName}-js: the same filter in JavaScript, with a header of its own (X-Tag-Js), so that a route with both
// shows which ran. Upload this file as it is (POST /v1/filters, Content-Type: application/javascript);
// src/test/java/...JsTest runs it with plugin-api's JsFilterHarness.
export default {
  name: '${filterName}-js',
  version: '${version}',
  description: 'Tags requests and responses with X-Tag-Js',
  schema: {
    type: 'object',
    required: ['tag'],
    additionalProperties: false,
    properties: {
      tag: { type: 'string', minLength: 1 },
      require_header: { type: 'string' },
    },
  },
  onRequest(ctx, conf) {
    if (conf.require_header && !ctx.request.headers.has(conf.require_header)) {
      return { status: 400, body: { error: 'missing_header', message: conf.require_header + ' is required' } };
    }
    ctx.request.headers.set('X-Tag-Js', conf.tag);
  },
  onResponse(ctx, conf) {
    ctx.response.headers.set('X-Tag-Js', conf.tag);
  },
};
