// VitePress config of the Sluice docs site. SiteTest copies it to target/site-src/.vitepress/ next to
// plugins.json (the generated reference pages of the built-ins); `npm run build` (in docs-site) builds the site.
import plugins from './plugins.json' with { type: 'json' }

export default {
  title: 'Sluice',
  description: 'An open-source API gateway in Java, built as a plugin platform',
  cleanUrls: false,
  // public/ is copied as is (the javadoc); its legal/*.md are no pages of ours
  srcExclude: ['public/**'],
  lastUpdated: false,
  // the javadoc and the SDK's Maven repository are copied as is (public/javadoc, public/maven); VitePress cannot
  // see into them
  ignoreDeadLinks: [/^\/javadoc\//, /^\/maven\//],
  // heading anchors as GitHub makes them ("A — b" is #a--b), so links between the markdown files work both on
  // GitHub and here
  markdown: {
    anchor: {
      slugify: (s) => s.trim().toLowerCase().replace(/<[^>]*>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-')
    }
  },
  themeConfig: {
    search: { provider: 'local' },
    nav: [
      { text: 'Quickstart', link: '/quickstart' },
      { text: 'Guides', link: '/guide-service-developer' },
      { text: 'Reference', link: '/configuration' },
      { text: 'Operations', link: '/observability' }
    ],
    sidebar: [
      { text: 'Introduction', items: [
        { text: 'What Sluice is', link: '/' },
        { text: 'Quickstart', link: '/quickstart' },
        { text: 'Concepts', link: '/concepts' }
      ] },
      { text: 'Guides', items: [
        { text: 'Service developer', link: '/guide-service-developer' },
        { text: 'Platform engineer', link: '/guide-platform-engineer' },
        { text: 'Plugin author (SDK)', link: '/sdk' }
      ] },
      { text: 'Reference', items: [
        { text: 'Configuration and command line', link: '/configuration' },
        { text: 'Upstreams', link: '/upstreams' },
        { text: 'Protocols: TLS, HTTP/2', link: '/protocols' },
        { text: 'Plugins', link: '/plugins' },
        { text: 'Admin API guide', link: '/admin-api' },
        { text: 'Admin API reference', link: '/api-reference' },
        { text: 'plugin-api javadoc', link: '/plugin-api' }
      ] },
      { text: 'Built-in filters', collapsed: false, items: plugins },
      { text: 'Operations', items: [
        { text: 'Metrics, tracing, logs', link: '/observability' },
        { text: 'Deployment', link: '/deployment' },
        { text: 'Sizing', link: '/sizing' },
        { text: 'Benchmarks', link: '/benchmarks' },
        { text: 'Security', link: '/security' }
      ] }
    ]
  }
}
