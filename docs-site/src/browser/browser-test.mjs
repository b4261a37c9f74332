// The docs site in a real browser: Debian's headless Chromium driven by playwright-core (no browser download).
// Serves docs-site/target/site over HTTP, opens every page, and checks that it renders (VitePress mounted, an h1, no
// script errors), that every link between pages (and every #anchor) leads somewhere, that the sidebar and the top
// navigation move between pages, and that the search finds a built-in's reference page. Screenshots of every page
// and of the search go to target/browser/. Exit status 1 with a list of what failed.
//   node src/browser/browser-test.mjs target/site        (npm run browser-test)
// CHROMIUM names the browser (default: chromium on the PATH, /usr/bin/chromium).
import { chromium } from 'playwright-core'
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'

const site = path.resolve(process.argv[2] || 'target/site')
const shots = path.resolve('target/browser')
const failures = []
const fail = (what) => { failures.push(what); console.error('FAIL ' + what) }

if (!fs.existsSync(path.join(site, 'index.html'))) {
  console.error(`browser-test: no site in ${site}: build it first (docs-site/build-site)`)
  process.exit(1)
}
function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM
  // Debian's /usr/bin/chromium is a wrapper script; the binary itself starts quieter
  if (fs.existsSync('/usr/lib/chromium/chromium')) return '/usr/lib/chromium/chromium'
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    try { return execFileSync('sh', ['-c', `command -v ${c}`]).toString().trim() } catch { /* next */ }
  }
  return null
}
const executable = findChromium()
if (!executable) {
  console.error('browser-test: no Chromium found: apt-get install chromium (or set CHROMIUM; -Dbrowser.skip skips this test)')
  process.exit(1)
}

// the site over HTTP, as a static host serves it
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.txt': 'text/plain' }
const server = http.createServer((req, res) => {
  let p = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  if (p === '/favicon.ico') { res.writeHead(204); res.end(); return }   // the browser asks; the site has none
  if (p.endsWith('/')) p += 'index.html'
  const file = path.join(site, path.normalize(p))
  if (!file.startsWith(site) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404, { 'content-type': 'text/html' })
    res.end(fs.readFileSync(path.join(site, '404.html')))
    return
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' })
  res.end(fs.readFileSync(file))
})
await new Promise(r => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`

const pages = []
;(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name)
    const rel = path.relative(site, full)
    if (e.isDirectory()) {
      if (!['assets', 'javadoc'].includes(rel)) walk(full)
    } else if (e.name.endsWith('.html') && rel !== '404.html') {
      pages.push('/' + rel.split(path.sep).join('/'))
    }
  }
})(site)
pages.sort()

const started = Date.now()
const lap = (what) => console.log(`browser-test: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`)
const browser = await chromium.launch({
  executablePath: executable,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps', '--no-first-run',
    '--metrics-recording-only', '--disable-extensions']
})
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
const page = await context.newPage()
const errors = []
page.on('pageerror', e => errors.push(e.message))
page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
page.on('response', r => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`) })
fs.mkdirSync(shots, { recursive: true })

// 1. every page renders
const links = new Map()   // target -> first page linking to it
for (const p of pages) {
  errors.length = 0
  const resp = await page.goto(base + p, { waitUntil: 'load' })
  await page.locator('#app .VPContent').waitFor({ timeout: 5000 }).catch(() => {})
  if (!resp || resp.status() !== 200) { fail(`${p}: HTTP ${resp && resp.status()}`); continue }
  const h1 = (await page.locator('.vp-doc h1, h1').first().textContent({ timeout: 5000 }).catch(() => '')).trim()
  if (!h1) fail(`${p}: no h1`)
  if (!(await page.locator('#app .VPContent').count())) fail(`${p}: VitePress did not mount`)
  if (errors.length) fail(`${p}: script errors: ${errors.join(' | ')}`)
  await page.screenshot({ path: path.join(shots, (p.slice(1).replace(/\//g, '_') || 'index') + '.png') })
  for (const href of await page.$$eval('a[href]', as => as.map(a => a.href))) {
    const u = new URL(href)
    if (u.origin === base && !links.has(u.pathname + u.hash)) links.set(u.pathname + u.hash, p)
  }
}

lap(`${pages.length} pages rendered`)
// 2. no broken link: the page exists, and so does the element an #anchor names
const html = new Map()
let externalSkipped = 0
for (const [target, from] of links) {
  const [pathname, hash] = target.split('#')
  const file = path.join(site, decodeURIComponent(pathname.endsWith('/') ? pathname + 'index.html' : pathname))
  if (!fs.existsSync(file)) { fail(`broken link on ${from}: ${target}`); continue }
  if (hash && file.endsWith('.html')) {
    if (!html.has(file)) html.set(file, fs.readFileSync(file, 'utf8'))
    const id = decodeURIComponent(hash)
    if (!html.get(file).includes(`id="${id}"`) && !html.get(file).includes(`name="${id}"`)) {
      fail(`broken anchor on ${from}: ${target}`)
    }
  }
}

lap('links checked')
// 3. navigation: the sidebar and the top bar move between pages
await page.goto(base + '/index.html', { waitUntil: 'networkidle' })
await page.locator('.VPSidebar a', { hasText: 'Quickstart' }).first().click()
await page.waitForURL(/quickstart/, { timeout: 5000 }).catch(() => fail('sidebar: Quickstart did not open'))
await page.locator('.vp-doc h1', { hasText: 'Quickstart' }).waitFor({ timeout: 5000 })
  .catch(() => fail('sidebar: Quickstart page not shown'))
await page.locator('.VPSidebar a', { hasText: 'rate-limit' }).first().click()
await page.waitForURL(/plugins\/rate-limit/, { timeout: 5000 }).catch(() => fail('sidebar: rate-limit did not open'))
await page.locator('.vp-doc table td code', { hasText: 'redis_url' }).first().waitFor({ timeout: 5000 })
  .catch(() => fail('rate-limit: no redis_url row'))
await page.locator('.VPNavBar a', { hasText: 'Operations' }).first().click()
await page.waitForURL(/observability/, { timeout: 5000 }).catch(() => fail('top bar: Operations did not open'))
await page.screenshot({ path: path.join(shots, 'navigation.png') })

// 4. search: the local index finds a built-in's reference page, and Enter opens it
await page.goto(base + '/index.html', { waitUntil: 'networkidle' })
await page.locator('.VPNavBarSearch button').first().click()
const input = page.locator('input.search-input, #localsearch-input').first()
await input.waitFor({ timeout: 5000 }).catch(() => fail('search: no search box'))
await input.fill('circuit breaker fallback')
await page.locator('.result').first().waitFor({ timeout: 5000 }).catch(() => fail('search: no results'))
const hrefs = await page.$$eval('a.result, .result a, li a[href]', as => as.map(a => a.getAttribute('href')))
if (!hrefs.some(h => h && h.includes('circuit-breaker'))) fail(`search: circuit-breaker not among ${hrefs.slice(0, 5)}`)
await page.screenshot({ path: path.join(shots, 'search.png') })
await input.press('Enter')
await page.waitForURL(/circuit-breaker/, { timeout: 5000 }).catch(() => fail('search: Enter did not open the result'))

// 5. the SDK's Maven repository folder is served at /maven/: a build can resolve plugin-api from the site
const apiDir = path.join(site, 'maven', 'io', 'sluice', 'plugin-api')
const apiVersion = fs.existsSync(apiDir) ? fs.readdirSync(apiDir).find(v => /^\d/.test(v)) : undefined
if (!apiVersion) {
  fail('maven: no io/sluice/plugin-api in the site')
} else {
  for (const [file, needle] of [[`plugin-api-${apiVersion}.pom`, '<artifactId>plugin-api</artifactId>'],
                                [`plugin-api-${apiVersion}.jar`, null]]) {
    const r = await fetch(`${base}/maven/io/sluice/plugin-api/${apiVersion}/${file}`)
    const body = r.ok ? Buffer.from(await r.arrayBuffer()) : null
    if (!r.ok) fail(`maven: ${file} answered ${r.status}`)
    else if (needle && !body.toString('utf8').includes(needle)) fail(`maven: ${file} is not plugin-api's pom`)
    else if (!needle && body.subarray(0, 2).toString('latin1') !== 'PK') fail(`maven: ${file} is not a jar`)
  }
}
lap('maven repository checked')

await browser.close()
server.close()
console.log(`browser-test: ${pages.length} pages, ${links.size} internal links checked, ${externalSkipped} external ` +
  `not followed, in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${path.relative(process.cwd(), shots)}`)
if (failures.length) {
  console.error(`browser-test: ${failures.length} failed`)
  process.exit(1)
}
