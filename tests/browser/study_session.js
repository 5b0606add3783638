#!/usr/bin/env node
/* study_session.js — one rater's whole session on a running `circumplex study serve`, driven in
   headless Chromium with puppeteer-core: sign in on the start page, rate every 2D image (buttons
   and keys 1–5), rotate the 3D ball by dragging (its pixels must change), rate every 3D image.
   Usage: node study_session.js --url http://127.0.0.1:PORT --out DIR [--name NAME]
   Writes DIR/study_2d.png and DIR/study_3d.png; the last stdout line is a JSON summary. */
'use strict';

const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const STEP_MS = 30000; // any one step
const TOTAL_MS = 120000; // the whole run
const CHROMIUM = '/usr/bin/chromium';

class Failure extends Error {}
const fail = (msg) => { throw new Failure(msg); };
const log = (msg) => console.log(`study_session: ${msg}`);

function parseArgs(argv) {
  const opts = { name: 'Browser Test' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i], val = argv[i + 1];
    if (!['--url', '--out', '--name'].includes(key) || val === undefined) {
      fail(`bad argument ${key}; usage: node study_session.js --url URL --out DIR [--name NAME]`);
    }
    opts[key.slice(2)] = val;
  }
  if (!opts.url || !opts.out) fail('--url and --out are required');
  opts.url = opts.url.replace(/\/+$/, '');
  return opts;
}

/* Runs fn() under the per-step limit; a timeout names the step. */
async function step(name, fn) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`step "${name}" took over ${STEP_MS / 1000} s`)), STEP_MS);
  });
  try {
    return await Promise.race([fn(), limit]);
  } catch (e) {
    if (e instanceof Failure) throw e;
    throw new Failure(`step "${name}": ${e.message}`);
  } finally {
    clearTimeout(timer);
  }
}

/* Fails when the page shows its #error banner, or a script error or failed request happened. */
async function checkPage(page, problems) {
  const shown = await page.evaluate(() => {
    const el = document.getElementById('error');
    return el && !el.hidden ? el.textContent : '';
  });
  const also = problems.length ? ` (${problems.join('; ')})` : '';
  if (shown) fail(`the page shows an error: ${shown}${also}`);
  if (problems.length) fail(problems.join('; '));
}

async function progress(page, token, set) {
  const data = await page.evaluate(async (t) => {
    const res = await fetch(`/api/progress?rater=${encodeURIComponent(t)}`);
    return res.ok ? res.json() : { error: `GET /api/progress: ${res.status}` };
  }, token);
  if (data.error) fail(data.error);
  const s = data.sets && data.sets[set];
  if (!s || typeof s.rated !== 'number' || typeof s.total !== 'number') fail(`no progress for set ${set}`);
  return s;
}

/* Waits until the rating page is done, or shows an image other than `prev` with votes enabled. */
async function waitNext(page, problems, prev) {
  await page.waitForFunction((p) => {
    const s = document.body.dataset.state;
    return s === 'done' || s === 'error' || !document.getElementById('error').hidden ||
      (s === 'ready' && document.getElementById('image').dataset.image !== p);
  }, { timeout: STEP_MS }, prev || '');
  await checkPage(page, problems);
  const st = await page.evaluate(() => ({
    state: document.body.dataset.state,
    image: document.getElementById('image').dataset.image,
    cls: document.getElementById('class').textContent,
    enabled: [1, 2, 3, 4, 5].every((s) => !document.getElementById(`vote-${s}`).disabled),
  }));
  if (st.state === 'error') fail('the rating page went into its error state');
  if (st.state === 'ready' && (!st.enabled || !st.cls)) fail(`image ${st.image} shown without class or votes`);
  return st;
}

/* Votes on every image of the page's set; screenshots to `shot` before the last vote. */
async function rateAll(page, problems, token, set, shot) {
  const before = await progress(page, token, set);
  const remaining = before.total - before.rated;
  let votes = 0, prev = '';
  for (;;) {
    const st = await step(`${set} image ${votes + 1}`, () => waitNext(page, problems, prev));
    if (st.state === 'done') break;
    if (votes >= remaining) fail(`${set}: more images offered than the ${remaining} progress left`);
    if (shot && votes === remaining - 1) {
      await page.mouse.move(0, 0); // no hover highlight in the picture
      await page.screenshot({ path: shot, fullPage: true });
    }
    const score = 1 + (votes % 5);
    await step(`${set} vote ${votes + 1}`, () => (votes % 2 === 0
      ? page.click(`#vote-${score}`)
      : page.keyboard.press(String(score))));
    votes++;
    prev = st.image;
  }
  const done = await page.$eval('#done', (el) => (el.hidden ? '' : el.textContent));
  if (!/All done/.test(done)) fail(`${set}: #done not shown at the end`);
  if (votes !== remaining) fail(`${set}: voted ${votes} times but progress left ${remaining}`);
  const after = await progress(page, token, set);
  if (after.rated !== after.total) fail(`${set}: progress says ${after.rated}/${after.total} after the last vote`);
  log(`${set}: ${votes} votes, ${after.rated}/${after.total} rated`);
  return votes;
}

/* Pixel statistics of #ball read back through a 2D canvas: drawn pixels, and changed pixels
   against the previous call's copy. */
const ballPixels = (page) => page.evaluate(() => {
  const c = document.getElementById('ball');
  const o = document.createElement('canvas');
  o.width = c.width; o.height = c.height;
  const g = o.getContext('2d');
  g.drawImage(c, 0, 0);
  const d = g.getImageData(0, 0, o.width, o.height).data;
  const old = window.__ballPixels;
  let drawn = 0, changed = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) drawn++;
    if (old && (Math.abs(d[i] - old[i]) + Math.abs(d[i + 1] - old[i + 1]) + Math.abs(d[i + 2] - old[i + 2])) > 24) changed++;
  }
  window.__ballPixels = d;
  return { total: d.length / 4, drawn, changed };
});

async function rotateBall(page, problems) {
  const webgl = await page.$eval('#ball', (c) => c.dataset.webgl !== 'off' && Number(c.dataset.renders) > 0)
    .catch(() => false);
  if (!webgl) fail('3D: the ball canvas did not render (no WebGL?)');
  const ball = await page.$('#ball');
  const shotBefore = await ball.screenshot();
  const a = await ballPixels(page);
  if (a.drawn < a.total * 0.05) fail(`3D: the ball looks empty (${a.drawn} of ${a.total} pixels drawn)`);
  const box = await ball.boundingBox();
  const x = box.x + box.width * 0.55, y = box.y + box.height * 0.5;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + box.width * 0.09, y + box.height * 0.04, { steps: 10 });
  await page.mouse.up();
  const b = await ballPixels(page);
  const shotAfter = await ball.screenshot();
  await checkPage(page, problems);
  const rotated = b.changed > b.total * 0.01 && !Buffer.from(shotBefore).equals(Buffer.from(shotAfter));
  if (!rotated) fail(`3D: dragging did not rotate the ball (${b.changed} of ${b.total} pixels changed)`);
  log(`3D: drag changed ${b.changed} of ${b.total} ball pixels`);
  return true;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(opts.out, { recursive: true });
  const browser = await step('launch chromium', () => puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    timeout: STEP_MS,
  }));
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.setViewport({ width: 1100, height: 1000 });
    const problems = [];
    page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.request().method()} ${r.url()} answered ${r.status()}`);
    });
    page.on('requestfailed', (r) => problems.push(`${r.url()} failed: ${r.failure() && r.failure().errorText}`));

    // start page: sign in
    await step('open the start page', () => page.goto(`${opts.url}/index.html`, { waitUntil: 'load' }));
    await step('sign in', async () => {
      await page.waitForSelector('#name', { visible: true });
      await page.type('#name', opts.name);
      await page.click('#start');
      await page.waitForSelector('#link-2d', { visible: true });
    });
    await checkPage(page, problems);
    const token = await page.evaluate(() => localStorage.getItem('circumplex-study-rater'));
    if (!token) fail('no rater token stored after signing in');
    log(`rater ${token}`);

    // 2D page
    await step('open the 2D page', () => Promise.all([page.waitForNavigation(), page.click('#link-2d')]));
    const votes2d = await rateAll(page, problems, token, '2d', path.join(opts.out, 'study_2d.png'));

    // back to the start page: it must resume the same rater
    await step('back to the start page', async () => {
      await Promise.all([page.waitForNavigation(), page.click('#done a')]);
      await page.waitForSelector('#link-3d', { visible: true });
    });
    await checkPage(page, problems);
    const who = await page.$eval('#who', (el) => el.textContent);
    if (who !== opts.name) fail(`start page continues as "${who}", not "${opts.name}"`);

    // 3D page: rotate, screenshot, rate
    await step('open the 3D page', () => Promise.all([page.waitForNavigation(), page.click('#link-3d')]));
    const first = await step('3D first image', () => waitNext(page, problems, ''));
    if (first.state === 'done') fail('3D: nothing to rate');
    const rotated = await step('rotate the ball', () => rotateBall(page, problems));
    await page.screenshot({ path: path.join(opts.out, 'study_3d.png'), fullPage: true });
    const votes3d = await rateAll(page, problems, token, '3d', null);

    if (!fs.existsSync(path.join(opts.out, 'study_2d.png'))) fail('no 2D screenshot was taken');
    console.log(JSON.stringify({ rater: token, votes_2d: votes2d, votes_3d: votes3d, rotated }));
  } finally {
    await browser.close().catch(() => {});
  }
}

const overall = setTimeout(() => {
  console.error(`study_session: FAIL: the whole run took over ${TOTAL_MS / 1000} s`);
  process.exit(1);
}, TOTAL_MS);

main().then(() => {
  clearTimeout(overall);
}).catch((e) => {
  console.error(`study_session: FAIL: ${e instanceof Failure ? e.message : e.stack || e}`);
  process.exit(1);
});
