// Opens a keyturn approval link in a real headless Chromium, reports the page,
// optionally presses its Approve/Reject button and reports the result page.
//
//   node tests/browser/approve.mjs --url URL [--click approve|reject|intake|none] [--fill NAME=VALUE]
//                                  [--screenshot FILE] [--screenshot-before FILE] [--max-height PX]
//
// --fill types VALUE into the form field NAME before clicking (the intake
// form's key); VALUE is read from the environment variable it names when it
// starts with `env:`, so a key never has to sit on a command line.
//
// Prints one JSON object: {"before": PAGE, "after": PAGE|null}, where PAGE is
// {status, title, heading, text, buttons, a11y}. Exit 0 when the browser did
// its job (whatever the HTTP statuses), 2 (with {"error"} on stderr) when not.
import { chromium } from 'playwright-core';

function args(argv) {
  const out = { click: 'none', timeoutMs: 15000 };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--url') out.url = v;
    else if (k === '--click') out.click = v;
    else if (k === '--screenshot') out.screenshot = v;
    else if (k === '--screenshot-before') out.screenshotBefore = v;
    else if (k === '--max-height') out.maxHeight = Number(v);
    else if (k === '--fill') out.fill = v;
    else if (k === '--timeout-ms') out.timeoutMs = Number(v);
    else throw new Error(`unknown argument ${k}`);
  }
  if (!out.url) throw new Error('--url is required');
  if (!['approve', 'reject', 'intake', 'none'].includes(out.click)) {
    throw new Error('--click must be approve, reject, intake or none');
  }
  return out;
}

async function describe(page, response) {
  return page.evaluate((status) => {
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    // A cheap accessible name: what a screen reader announces. A <button>'s
    // `value` is not part of it (an icon-only <button value="approve"> is unnamed).
    const name = (b) => {
      const ids = b.getAttribute('aria-labelledby');
      const byId = ids && ids.split(/\s+/).map((id) => document.getElementById(id)?.innerText ?? '').join(' ').trim();
      const own = b.tagName === 'INPUT' ? (b.value || (b.type === 'submit' ? 'Submit' : ''))
        : (b.innerText.trim() || [...b.querySelectorAll('img[alt]')].map((i) => i.alt).join(' '));
      return (byId || b.getAttribute('aria-label') || own || b.title || '').trim();
    };
    const buttons = [...document.querySelectorAll('button, input[type=submit], input[type=button], [role=button]')].filter(visible);
    return {
      status,
      title: document.title,
      heading: document.querySelector('h1')?.innerText.trim() ?? null,
      text: (document.body?.innerText ?? '').trim().slice(0, 4000),
      buttons: buttons.map(name),
      a11y: {
        lang: document.documentElement.getAttribute('lang'),
        buttons_have_names: buttons.every((b) => name(b) !== ''),
        images_have_alt: [...document.images].every((img) => img.hasAttribute('alt')),
        has_main_landmark: !!document.querySelector('main, [role=main]'),
      },
    };
  }, response ? response.status() : null);
}

async function main() {
  const opts = args(process.argv);
  const browser = await chromium.launch({
    executablePath: process.env.KEYTURN_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(opts.timeoutMs);
    const before = await describe(page, await page.goto(opts.url, { waitUntil: 'load' }));
    // The page as the approver first sees it, before any click.
    const shot = (path) => page.screenshot(opts.maxHeight
      ? { path, clip: { x: 0, y: 0, width: 1280, height: opts.maxHeight } }
      : { path, fullPage: true });
    if (opts.screenshotBefore) await shot(opts.screenshotBefore);
    let after = null;
    if (opts.fill) {
      const [name, ...rest] = opts.fill.split('=');
      let value = rest.join('=');
      if (value.startsWith('env:')) value = process.env[value.slice(4)] ?? '';
      await page.locator(`[name="${name}"]`).fill(value);
    }
    if (opts.click !== 'none') {
      let button = page.locator(`button[value="${opts.click}"], input[type=submit][value="${opts.click}"], [data-decision="${opts.click}"]`).first();
      if (await button.count() === 0) {
        button = page.getByRole('button', { name: new RegExp(opts.click, 'i') }).first();
      }
      if (await button.count() === 0) throw new Error(`no ${opts.click} button on the page (${before.heading})`);
      // A classic form POST: the click navigates.
      const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), button.click()]);
      after = await describe(page, response);
    }
    if (opts.screenshot) await shot(opts.screenshot);
    process.stdout.write(JSON.stringify({ before, after }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  // Playwright colours its call log; the message lands in a Rust assertion.
  const error = String(e?.message ?? e).replace(/\u001b\[[0-9;]*m/g, '');
  process.stderr.write(JSON.stringify({ error }) + '\n');
  process.exit(2);
});
