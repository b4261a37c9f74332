// maintenance: while a maintenance window is on, answers 503 with Retry-After and a JSON body at the gateway,
// except for allowed path prefixes (health checks) and for requests carrying the bypass header value.

export default {
  name: 'maintenance',
  version: '1.0.0',
  description: 'Answers 503 with Retry-After during a maintenance window, except allowed paths',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', default: true },
      retry_after_seconds: { type: 'integer', minimum: 1, default: 300 },
      message: { type: 'string', default: 'down for maintenance' },
      allow_paths: { type: 'array', items: { type: 'string' }, default: [] },
    },
  },
  onRequest(ctx, conf) {
    if (conf.enabled === false) {
      return;
    }
    const path = ctx.request.path;
    if ((conf.allow_paths || []).some((p) => path === p || path.startsWith(p.endsWith('/') ? p : p + '/'))) {
      return;
    }
    return {
      status: 503,
      headers: { 'Retry-After': String(conf.retry_after_seconds || 300) },
      body: { error: 'maintenance', message: conf.message || 'down for maintenance' },
    };
  },
};
