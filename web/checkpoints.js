// checkpoints.js: the latest model trained in this browser, kept in
// IndexedDB so that a worker crash, a closed tab or a reload during training
// does not lose it (one record, replaced as training goes on), and the photo
// model taught by corrections.
const DB = 'fmnist-demo', STORE = 'checkpoints', KEY = 'latest';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** record: {bytes: Uint8Array, name, arch, epoch, batch, batchesPerEpoch, epochs, savedAt} */
export const saveCheckpoint = (record) => run('readwrite', (s) => s.put(record, KEY));
export const loadCheckpoint = () => run('readonly', (s) => s.get(KEY));
export const clearCheckpoint = () => run('readwrite', (s) => s.delete(KEY));

/** The photo model a person taught with their corrections (web/corrections.js):
 * {bytes, name, corrections, testAccuracy, savedAt}. */
const LEARNED = 'learned-photo-model';
export const saveLearned = (record) => run('readwrite', (s) => s.put(record, LEARNED));
export const loadLearned = () => run('readonly', (s) => s.get(LEARNED));
export const clearLearned = () => run('readwrite', (s) => s.delete(LEARNED));
