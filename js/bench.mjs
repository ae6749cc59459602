// bench.mjs: speed of the wasm module on one network, shared by `fmnist
// bench` and `make bench`. Each timed function is called many times after a
// warm-up, so V8 has tiered the hot wasm functions up to optimised code.

function timeIt(fn, per, seconds) {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const t0 = performance.now();
  do { fn(); n++; } while (performance.now() - t0 < seconds * 1000);
  return (n * per) / ((performance.now() - t0) / 1000);
}

/** Training images/s (batch 64), inference images/s (batch 256) and the
 * median latency of one image, on real training images. */
export function benchArch(fm, trainSet, arch, { trainSeconds = 3, inferSeconds = 2 } = {}) {
  const net = fm.createNet(arch, { seed: 1 });
  const trainer = fm.createTrainer(net, trainSet, { batch: 64, epochs: 1000, seed: 1 });
  const trainRate = timeIt(() => trainer.step(), 64, trainSeconds);
  trainer.free();
  const px = fm.copyIn(trainSet.images(0, 256)), probs = fm.alloc(256 * 40);
  const inferRate = timeIt(() => net.predictAt(px, 256, probs), 256, inferSeconds);
  const lat = [];
  for (let i = 0; i < 50; i++) net.predictAt(px, 1, probs);
  // The median of 1,000 calls (about 0.3 s): on a shared VM a burst of
  // interference lasting half of a shorter window moved the median by 15%.
  for (let i = 0; i < 1000; i++) {
    const t = performance.now();
    net.predictAt(px + (i % 256) * 784, 1, probs);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  fm.free(px); fm.free(probs);
  const macs = net.macs, spec = net.spec;
  net.free();
  return {
    arch: spec, train_images_per_sec: trainRate, infer_images_per_sec: inferRate,
    latency_ms: lat[lat.length >> 1], macs_per_image: macs,
    // A training step costs about 3 forward passes (forward, input and weight gradients).
    train_gflops: (trainRate * 3 * 2 * macs) / 1e9, infer_gflops: (inferRate * 2 * macs) / 1e9,
  };
}
