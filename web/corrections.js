// corrections.js: "that is not a shirt, it is a coat". Each photo card gets a
// list to say what the photo really is; "Learn from my corrections"
// fine-tunes the photo model on the corrected photos mixed with
// Fashion-MNIST images (in the data worker, which holds the dataset: seconds,
// with progress and Stop), checks it on the test set, then answers every
// photo on the page again and shows each card's answer before and after.
// Undo puts the previous model back. The taught model is kept in IndexedDB
// (offered again after a reload) and can be downloaded as safetensors.
import { saveLearned, loadLearned, clearLearned } from './checkpoints.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const NONE = 'none';

/** photosWorker / dataWorker: Bridges; ensureData(): loads the test and
 * training sets into the data worker; el: the page's element helper;
 * panel: the element to fill; onModel(name): the photo model changed. */
export function setupCorrections({ photosWorker, dataWorker, ensureData, el, panel, onModel }) {
  const cards = []; // {card, input, slot, select, first: answer when picked}
  const history = []; // earlier models, for Undo: {bytes, name}
  let learning = false;

  const count = el('span', {}, '0');
  const learn = el('button', { type: 'button', 'data-testid': 'learn', disabled: '' }, 'Learn from my corrections (', count, ')');
  const stop = el('button', { type: 'button', 'data-testid': 'learn-stop', hidden: '' }, 'Stop');
  const undo = el('button', { type: 'button', 'data-testid': 'learn-undo', disabled: '' }, 'Undo');
  const download = el('a', { class: 'file-button', 'data-testid': 'learn-download', hidden: '', download: 'photo-model-learned.safetensors' }, 'Download the taught model');
  const reuse = el('button', { type: 'button', 'data-testid': 'learn-reuse', hidden: '' }, 'Use the model you taught');
  const forget = el('button', { type: 'button', 'data-testid': 'learn-forget', hidden: '' }, 'Forget it');
  const bar = el('progress', { max: '1', value: '0', hidden: '', 'aria-label': 'learning progress' });
  const status = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'learn-status' },
    'Wrong answer? Say what the photo really is, then teach the model.');
  panel.replaceChildren(el('div', { class: 'learn-buttons' }, learn, stop, undo, download, reuse, forget), bar, status);
  panel.hidden = false;

  const corrected = () => cards.filter((c) => c.select.value !== '');
  function refresh() {
    const n = corrected().length;
    count.textContent = String(n);
    learn.toggleAttribute('disabled', learning || n === 0);
    undo.toggleAttribute('disabled', learning || history.length === 0);
  }

  /** Answers every photo on the page with the current photo model. */
  async function answerAll(label) {
    if (!cards.length) return;
    const answers = await photosWorker.call('answerInputs', { inputs: cards.map((c) => c.input) });
    cards.forEach((c, i) => {
      const a = answers[i];
      const now = a.inScope === false ? 'none of the ten' : a.label;
      c.after.replaceChildren(`${label}: `, el('strong', {}, now), ` (before: ${c.first})`);
      c.after.hidden = false;
      c.card.dataset.answer = now;
    });
  }

  function setDownload(bytes) {
    if (download.href) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    download.hidden = false;
  }

  learn.addEventListener('click', async () => {
    const picked = corrected();
    if (!picked.length || learning) return;
    learning = true;
    refresh();
    stop.hidden = false;
    bar.hidden = false;
    bar.removeAttribute('value');
    try {
      status.textContent = 'Getting the Fashion-MNIST images ready (the model keeps seeing them, so it does not forget them)…';
      await ensureData();
      const current = await photosWorker.call('photoModelBytes');
      const photos = picked.map((c) => ({ input: c.input, classes: c.select.value === NONE ? [] : [Number(c.select.value)] }));
      const r = await dataWorker.call('learnCorrections', { model: current.bytes, photos }, {
        onProgress: (p) => {
          if (p.stage === 'learn') {
            bar.max = p.steps;
            bar.value = p.step;
            status.textContent = `Learning from ${photos.length} correction${photos.length > 1 ? 's' : ''}: step ${p.step} of ${p.steps}, loss ${p.loss.toFixed(3)}`;
          } else {
            bar.removeAttribute('value');
            status.textContent = 'Checking the taught model on the 10,000 test images…';
          }
        },
      });
      history.push(current);
      const name = `${current.name.replace(/\.safetensors$/, '').replace(/\+taught$/, '')}+taught`;
      await photosWorker.call('usePhotoModelBytes', { bytes: r.bytes, name });
      onModel?.(name);
      await answerAll('Now');
      setDownload(r.bytes);
      status.textContent = `${r.stopped ? 'Stopped early: l' : 'L'}earned from ${photos.length} correction${photos.length > 1 ? 's' : ''} ` +
        `in ${r.seconds.toFixed(1)} s (${r.steps} steps). Fashion-MNIST test accuracy of the taught model: ` +
        `${(100 * r.testAccuracy).toFixed(2)}%.`;
      status.dataset.testAccuracy = String(r.testAccuracy);
      saveLearned({ bytes: r.bytes, name, corrections: photos.length, testAccuracy: r.testAccuracy, savedAt: Date.now() }).catch(() => {});
    } catch (e) {
      status.textContent = `Could not learn: ${e.message}`;
    } finally {
      learning = false;
      stop.hidden = true;
      bar.hidden = true;
      refresh();
    }
  });
  stop.addEventListener('click', () => { dataWorker.call('stop').catch(() => {}); });
  undo.addEventListener('click', async () => {
    const previous = history.pop();
    if (!previous) return;
    await photosWorker.call('usePhotoModelBytes', previous);
    onModel?.(previous.name);
    await answerAll('Back to');
    status.textContent = `Undone: photos are answered by ${previous.name} again.`;
    refresh();
  });

  // A model taught before this visit: offered, not used unasked.
  loadLearned().then((rec) => {
    if (!rec) return;
    const when = new Date(rec.savedAt).toLocaleString();
    reuse.textContent = `Use the model you taught (${rec.corrections} correction${rec.corrections > 1 ? 's' : ''}, ${when})`;
    reuse.hidden = forget.hidden = false;
    reuse.onclick = async () => {
      history.push(await photosWorker.call('photoModelBytes'));
      await photosWorker.call('usePhotoModelBytes', { bytes: rec.bytes, name: rec.name });
      onModel?.(rec.name);
      setDownload(rec.bytes);
      await answerAll('Now');
      reuse.hidden = forget.hidden = true;
      status.textContent = `Photos are answered by the model you taught (Fashion-MNIST test accuracy ${(100 * rec.testAccuracy).toFixed(2)}%).`;
      refresh();
    };
    forget.onclick = async () => {
      await clearLearned().catch(() => {});
      reuse.hidden = forget.hidden = true;
    };
  }).catch(() => {});

  return {
    /** Adds the correction control to a photo card (r: the worker's answer). */
    attach(card, r, slot) {
      const first = r.inScope === false ? 'none of the ten' : r.top[0].label;
      const select = el('select', { 'data-testid': 'correct', 'aria-label': `what ${r.name} really is` },
        el('option', { value: '' }, 'Right, or not sure'),
        ...CLASS_NAMES.map((c, i) => el('option', { value: String(i) }, c)),
        el('option', { value: NONE }, 'None of these'));
      const after = el('p', { class: 'muted', 'data-testid': 'before-after', hidden: '' });
      slot.replaceChildren(el('label', {}, 'What is it really? ', select), after);
      cards.push({ card, input: r.input, select, after, first });
      select.addEventListener('change', refresh);
    },
  };
}
