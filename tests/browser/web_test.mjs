// The web view in a real browser (README, "Web view"): Debian's chromium,
// headless, driven by puppeteer-core, against a real factlogd on loopback
// with the demo loaded in a temp dir. One browser and one factlogd for the
// whole suite; every wait is on a condition with a deadline.
//
// ctest runs it as browser_test (label `browser`) with
//   FACTLOGD, FACTLOG   the binaries
//   FACTLOG_DEMO        deploy/demo/seed-2014-05-19.jsonl
//   CHROMIUM            /usr/bin/chromium by default
//   FACTLOG_SCREENSHOTS a directory to write the README's screenshots into
//                       (unset: none)
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync, readFileSync, writeFileSync} from 'node:fs';
import {createHash, randomBytes} from 'node:crypto';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const FACTLOGD = process.env.FACTLOGD;
const FACTLOG = process.env.FACTLOG;
const DEMO = process.env.FACTLOG_DEMO;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.FACTLOG_SCREENSHOTS || '';
// How long a page may take to show what the test waits for.
const DEADLINE = 10000;
// The bound for a live update to appear without a reload.
const LIVE_DEADLINE = 2000;

const REFUTED = 'russia-withdrawal-started-2014-05-19';
const REFUTED_TEXT =
    'Refuted by NATO (Anders Fogh Rasmussen), White House (Jay Carney)';

let dir, server, browser, grpcAddress, base, httpPort;

// Starts factlogd on the data dir (or `dataDir`); resolves once it printed
// both addresses. `http` is the --http-listen address.
function startServer(http, extra = [], dataDir = path.join(dir, 'data')) {
  return new Promise((resolve, reject) => {
    const child = spawn(FACTLOGD, [
      '--listen', '127.0.0.1:0', '--http-listen', http,
      '--data-dir', dataDir, '--log-level', 'warn',
      '--checkpoint-interval', '0.2', ...extra,
    ], {stdio: ['ignore', 'pipe', 'inherit']});
    let out = '';
    const timer = setTimeout(() => reject(new Error(`factlogd: ${out}`)), DEADLINE);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const grpc = /listening on (\S+)/.exec(out);
      const web = /web view on (http:\/\/\S+)\//.exec(out);
      if (grpc && web) {
        clearTimeout(timer);
        resolve({child, grpc: grpc[1], web: web[1]});
      }
    });
    child.on('exit', (code) => reject(new Error(`factlogd exited ${code}: ${out}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

function cli(...args) {
  return execFileSync(FACTLOG, ['--server', grpcAddress, ...args],
                      {encoding: 'utf8'});
}

async function api(p) {
  const response = await fetch(`${base}/api/v1/${p}`);
  assert.equal(response.status, 200, p);
  return response.json();
}

// A fresh tab that records the event-stream ids it receives (a wrapper
// around fetch; nothing in the page knows of it) and fails the test on any
// dialog (an alert from injected script).
async function newPage() {
  const page = await browser.newPage();
  await page.setViewport({width: 1200, height: 900});
  page.on('dialog', (dialog) => {
    assert.fail(`a dialog opened: ${dialog.message()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__streamIds = [];
    window.__lastEventIds = [];
    const original = window.fetch;
    window.fetch = async (input, init) => {
      const response = await original(input, init);
      if (String(input).startsWith('/api/v1/events') && response.body) {
        const headers = (init && init.headers) || {};
        window.__lastEventIds.push(headers['Last-Event-ID'] || '');
        const [mine, theirs] = response.body.tee();
        (async () => {
          const reader = mine.getReader();
          const decoder = new TextDecoder();
          let buffer = '';
          for (;;) {
            const {value, done} = await reader.read();
            if (done) return;
            buffer += decoder.decode(value, {stream: true});
            let end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const id = /^id: (\d+)$/m.exec(block);
              if (id && /^event: event$/m.test(block)) {
                window.__streamIds.push(Number(id[1]));
              }
            }
          }
        })();
        return new Response(theirs, {status: response.status,
                                     headers: response.headers});
      }
      return response;
    };
  });
  return page;
}

async function open(page, p) {
  await page.goto(`${base}${p}`, {waitUntil: 'domcontentloaded'});
  await page.waitForSelector('body[data-ready="true"]', {timeout: DEADLINE});
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'factlog-web-'));
  const started = await startServer('127.0.0.1:0');
  server = started.child;
  grpcAddress = started.grpc;
  base = started.web;
  httpPort = new URL(base).port;
  cli('import', DEMO);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--no-first-run', '--disable-extensions'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  if (dir) rmSync(dir, {recursive: true, force: true});
});

test('the board shows the ten demo claims with their statuses', async () => {
  const page = await newPage();
  await open(page, '/');
  await page.waitForFunction(
      () => document.querySelectorAll('tr[data-claim-id]').length === 10,
      {timeout: DEADLINE});
  const rows = await page.$$eval('tr[data-claim-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.claimId,
    status: tr.querySelector('.status').dataset.status,
  })));
  const want = (await api('claims?pageSize=100')).claims;
  assert.equal(want.length, 10);
  for (const claim of want) {
    const row = rows.find((r) => r.id === claim.claimId);
    assert.ok(row, `row for ${claim.claimId}`);
    assert.equal(`CLAIM_STATUS_${row.status.toUpperCase()}`, claim.status,
                 claim.claimId);
  }
  const total = await page.$eval('.count-total strong', (el) => el.textContent);
  assert.equal(total, '10');
  if (SHOTS) await page.screenshot({path: path.join(SHOTS, 'web-board.png')});
  await page.close();
});

test('a claim page gives the reason for its status', async () => {
  const page = await newPage();
  await open(page, `/claims/${REFUTED}`);
  const reason = await page.$eval('.status-line .reason', (el) => el.textContent);
  assert.equal(reason, REFUTED_TEXT);
  const claimant = await page.$eval('dd.claimant', (el) => el.textContent);
  const reporter = await page.$eval('dd.reporter', (el) => el.textContent);
  assert.equal(claimant, 'Vladimir Putin');
  assert.equal(reporter, 'Dmitry Peskov (CNN)');
  // The badge checks the claim's events against the log head.
  await page.waitForSelector('#verified[data-state="ok"]', {timeout: DEADLINE});
  const badge = await page.$eval('#verified', (el) => el.textContent);
  const events = (await api(`claims/${REFUTED}/history`)).events.length;
  assert.match(badge, new RegExp(`${events} event\\(s\\) of this claim`));
  assert.match(badge, /SHA-256 \(RFC 6962\)/);
  if (SHOTS) {
    await page.screenshot({path: path.join(SHOTS, 'web-claim.png'), fullPage: true});
    const claimantPage = await newPage();
    await open(claimantPage, '/claimants/Vladimir%20Putin');
    await claimantPage.screenshot({path: path.join(SHOTS, 'web-claimant.png'),
                                   fullPage: true});
    await claimantPage.close();
  }
  await page.close();
});

test('the history slider shows the earlier status', async () => {
  const page = await newPage();
  await open(page, `/claims/${REFUTED}`);
  await page.waitForSelector('#as-of .status', {timeout: DEADLINE});
  assert.equal(await page.$eval('#as-of .status', (el) => el.dataset.status),
               'contradicted');
  // By keyboard: Home moves the slider to the first version.
  await page.focus('#history');
  await page.keyboard.press('Home');
  await page.waitForFunction(() =>
      document.querySelector('#as-of .status')?.dataset.status === 'unverified',
      {timeout: DEADLINE});
  const text = await page.$eval('#as-of', (el) => el.textContent);
  assert.match(text, /No supporting or refuting evidence yet/);
  await page.close();
});

test('the verified badge turns red when a proof is tampered with', async () => {
  const page = await newPage();
  await page.setRequestInterception(true);
  page.on('request', async (request) => {
    if (!request.url().includes('/api/v1/log/inclusion/')) {
      request.continue();
      return;
    }
    const proof = await (await fetch(request.url())).json();
    const first = Buffer.from(proof.path[0], 'base64');
    first[0] ^= 0x01;
    proof.path[0] = first.toString('base64');
    request.respond({status: 200, contentType: 'application/json',
                     body: JSON.stringify(proof)});
  });
  await open(page, `/claims/${REFUTED}`);
  await page.waitForSelector('#verified[data-state="failed"]', {timeout: DEADLINE});
  const badge = await page.$eval('#verified', (el) => el.textContent);
  assert.match(badge, /NOT verified/);
  await page.close();
});

test('evidence added over gRPC appears on an open board and claim page', async () => {
  const claimId = 'putin-orders-troops-back-2014-05-19';
  const board = await newPage();
  await open(board, '/');
  const page = await newPage();
  await open(page, `/claims/${claimId}`);
  await page.waitForFunction(() => window.__streamIds !== undefined &&
      document.getElementById('live').dataset.state === 'live', {timeout: DEADLINE});
  await board.waitForFunction(
      () => document.getElementById('live').dataset.state === 'live',
      {timeout: DEADLINE});
  cli('evidence', 'add', claimId, '--stance', 'refutes', '--source', 'OSCE',
      '--note', 'No movement seen.', '--id', 'osce-live');
  await page.waitForSelector('li[data-evidence-id="osce-live"]',
                             {timeout: LIVE_DEADLINE});
  await board.waitForFunction((id) => {
    const row = document.querySelector(`tr[data-claim-id="${id}"]`);
    return row && row.classList.contains('fresh');
  }, {timeout: LIVE_DEADLINE}, claimId);
  await board.close();
  await page.close();
});

test('an editor form adds evidence; a stale form gets the conflict message', async () => {
  const target = 'ukraine-24-servicemen-killed';
  const page = await newPage();
  await open(page, `/claims/${target}`);
  const before = (await api(`claims/${target}`)).version;
  await page.type('#ev-source', 'Reuters desk');
  await page.select('#add-evidence select[name=stance]', 'STANCE_SUPPORTS');
  await page.type('#ev-note', 'Seen on the wire.');
  await page.click('#add-evidence button[type=submit]');
  await page.waitForFunction(() => /Saved: version/.test(
      document.querySelector('#add-evidence .form-message')?.textContent || ''),
      {timeout: DEADLINE});
  assert.equal(Number((await api(`claims/${target}`)).version), Number(before) + 1);

  // Someone else changes the claim; this form still has the old version.
  await page.waitForSelector('#issue-verdict', {timeout: DEADLINE});
  cli('evidence', 'add', target, '--stance', 'context', '--source', 'AP',
      '--id', 'ap-elsewhere');
  const version = Number((await api(`claims/${target}`)).version);
  await page.type('#vd-summary', 'Checked.');
  await page.type('#vd-reviewer', 'Desk');
  await page.click('#issue-verdict button[type=submit]');
  await page.waitForFunction(() => /Someone else changed this claim/.test(
      document.querySelector('#issue-verdict .form-message')?.textContent || ''),
      {timeout: DEADLINE});
  const message = await page.$eval('#issue-verdict .form-message', (el) => el.textContent);
  assert.match(message, /ap-elsewhere/);
  assert.equal(Number((await api(`claims/${target}`)).version), version,
               'the stale verdict changed nothing');
  await page.close();
});

test('a claim text with markup renders as text', async () => {
  const text = '<img src=x onerror=alert(1)>';
  cli('claim', 'add', '--id', 'markup-test', '--text', text, '--claimant',
      '<b>Mallory</b>', '--reported-by', 'Desk', '--subject', 'xss', '--kind',
      'fact');
  const page = await newPage();
  await open(page, '/claims/markup-test');
  assert.equal(await page.$eval('h1.claim-text', (el) => el.textContent), text);
  assert.equal(await page.$$eval('main img', (imgs) => imgs.length), 0);
  await open(page, '/');
  await page.waitForSelector('tr[data-claim-id="markup-test"]', {timeout: DEADLINE});
  assert.equal(await page.$eval('tr[data-claim-id="markup-test"] td.text',
                                (el) => el.textContent), text);
  assert.equal(await page.$$eval('main img, main b', (els) => els.length), 0);
  await page.close();
});

test('the pages have no serious accessibility violations', async () => {
  const page = await newPage();
  // axe runs as an injected script, which the page's CSP would refuse.
  await page.setBypassCSP(true);
  for (const p of ['/', `/claims/${REFUTED}`, '/claimants/Vladimir%20Putin',
                   '/promises']) {
    await open(page, p);
    await page.addScriptTag({content: AXE_SOURCE});
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, {resultTypes: ['violations']});
      return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
          .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(' ')})`);
    });
    assert.deepEqual(result, [], p);
  }
  await page.close();
});

test('the event stream resumes across a restart without gap or repeat', async () => {
  const page = await newPage();
  await open(page, '/');
  await page.waitForFunction(
      () => document.getElementById('live').dataset.state === 'live',
      {timeout: DEADLINE});
  cli('evidence', 'add', REFUTED, '--stance', 'refutes', '--source', 'OSCE',
      '--id', 'before-restart');
  const head = (await api('log/head')).treeSize;
  await page.waitForFunction((n) => window.__streamIds.includes(n),
                             {timeout: DEADLINE}, Number(head));
  // Restart on the same port, so the page's origin stays.
  await stopServer(server);
  const restarted = await startServer(`127.0.0.1:${httpPort}`);
  server = restarted.child;
  grpcAddress = restarted.grpc;
  cli('evidence', 'add', REFUTED, '--stance', 'refutes', '--source', 'EU',
      '--id', 'after-restart-1');
  cli('evidence', 'add', REFUTED, '--stance', 'refutes', '--source', 'UN',
      '--id', 'after-restart-2');
  const last = Number((await api('log/head')).treeSize);
  await page.waitForFunction((n) => window.__streamIds.includes(n),
                             {timeout: DEADLINE}, last);
  const ids = await page.evaluate(() => window.__streamIds);
  const resumedWith = await page.evaluate(() => window.__lastEventIds);
  // Consecutive positions, each once: no gap, no repeat.
  for (let i = 1; i < ids.length; ++i) {
    assert.equal(ids[i], ids[i - 1] + 1, `ids ${ids.join(',')}`);
  }
  assert.ok(resumedWith.includes(String(head)) ||
            resumedWith.some((id) => Number(id) >= Number(head)),
            `reconnected with Last-Event-ID ${resumedWith.join(',')}`);
  await page.close();
});

test('with tokens, a page asks for one and sends it as a bearer header', async () => {
  const token = randomBytes(32).toString('base64url');
  const tokens = path.join(dir, 'tokens');
  writeFileSync(tokens, `desk reader ${createHash('sha256').update(token).digest('hex')}\n`);
  const guarded = await startServer('127.0.0.1:0', ['--auth-tokens', tokens],
                                    path.join(dir, 'guarded'));
  try {
    const page = await newPage();
    await page.goto(guarded.web + '/', {waitUntil: 'domcontentloaded'});
    await page.waitForSelector('form.token input#token', {timeout: DEADLINE});
    // A wrong token is refused, and the page asks again saying so.
    await page.type('#token', 'not-a-token');
    await page.click('form.token button');
    await page.waitForFunction(() => /refused the token/.test(
        document.querySelector('form.token')?.textContent || ''), {timeout: DEADLINE});
    await page.type('#token', token);
    await page.click('form.token button');
    await page.waitForSelector('body[data-ready="true"] table.board', {timeout: DEADLINE});
    // Live updates carry it too.
    await page.waitForFunction(
        () => document.getElementById('live').dataset.state === 'live',
        {timeout: DEADLINE});
    // Kept for the tab, not in a cookie.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('factlog-token')), token);
    assert.deepEqual(await page.cookies(), []);
    await page.close();
  } finally {
    await stopServer(guarded.child);
  }
});
