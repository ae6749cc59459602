// Learning from corrections in the page (web/corrections.js), in Debian's
// Chromium: a photo is corrected to another class, "Learn from my
// corrections" fine-tunes the photo model in the data worker with
// Fashion-MNIST mixed in, the corrected photo's answer becomes the chosen
// class, the taught model keeps its Fashion-MNIST test accuracy, Undo brings
// the old answer back, and after a reload the taught model is offered again.
// Screenshots at desktop and phone sizes go to build/screenshots/.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, skip, shots } from './browser-helpers.mjs';
import { split, encodePng, renderPhoto } from './helpers.mjs';

const env = serverAndBrowser();
let ds;
before(async () => { if (!skip) ds = await split('test'); });

const photoFile = (name, i) => {
  const { rgba, W, H } = renderPhoto(ds.image(i), i);
  return { name, mimeType: 'image/png', buffer: encodePng(rgba, W, H, 4) };
};

for (const [size, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
  test(`a correction is learned, shown before/after, undone, and kept for the next visit (${size})`, { skip, timeout: 240000 }, async () => {
    const context = await env.browser.newContext({ viewport, ...(size === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(env.origin);
    await page.setInputFiles('#photo-input', [photoFile('coat-or-not.png', 0), photoFile('other.png', 1)]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-result] [data-testid=correct]').length === 2, null, { timeout: 60000 });
    const card = page.locator('[data-testid=photo-result]', { hasText: 'coat-or-not.png' });
    // Teach it the class it ranked second: a real disagreement, one the model can learn in seconds.
    const ranked = await card.locator('ol.top3 li').allTextContents();
    const wanted = ranked[1].replace(/ [\d.]+%$/, '');
    const before = ranked[0].replace(/ [\d.]+%$/, '');
    assert.notEqual(wanted, before);
    assert.ok(await page.locator('[data-testid=learn]').isDisabled(), 'nothing to learn before a correction');
    await card.locator('[data-testid=correct]').selectOption({ label: wanted });
    assert.ok(!(await page.locator('[data-testid=learn]').isDisabled()));
    await page.click('[data-testid=learn]');
    await page.waitForFunction(() => /test accuracy/.test(document.querySelector('[data-testid=learn-status]').textContent), null, { timeout: 200000 });
    const status = await page.textContent('[data-testid=learn-status]');
    assert.match(status, /Learned from 1 correction in [\d.]+ s/);
    // It did not forget Fashion-MNIST (the photo model: 92.8% before).
    const acc = Number(await page.getAttribute('[data-testid=learn-status]', 'data-test-accuracy'));
    assert.ok(acc > 0.88, `Fashion-MNIST test accuracy after learning: ${acc}`);
    assert.equal(await card.getAttribute('data-answer'), wanted, 'the corrected photo is now answered as corrected');
    assert.match(await card.locator('[data-testid=before-after]').textContent(), new RegExp(`Now: ${wanted.replace('/', '\\/')} \\(before: ${before.replace('/', '\\/')}\\)`));
    assert.ok(await page.locator('[data-testid=learn-download]').getAttribute('href'));
    await page.screenshot({ path: `${shots}${size}-corrections-learned.png`, fullPage: size === 'desktop' });
    // Undo: the previous model answers again.
    await page.click('[data-testid=learn-undo]');
    await page.waitForFunction(() => /Undone/.test(document.querySelector('[data-testid=learn-status]').textContent));
    assert.equal(await card.getAttribute('data-answer'), before);
    // Next visit: the taught model is offered, not used unasked.
    await page.reload();
    await page.waitForSelector('[data-testid=learn-reuse]:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('[data-testid=learn-reuse]'), /Use the model you taught \(1 correction/);
    await page.screenshot({ path: `${shots}${size}-corrections-offered.png` });
    assert.deepEqual(errors, []);
    await context.close();
  });
}
