/* native/train.c: the native (gcc + SIMDe, multi-threaded) trainer, for long
 * offline runs such as the shipped models. Same C library and options as the
 * wasm module and `fmnist train`, so a model trained here is bit-for-bit the
 * file the page and the CLI load.
 *
 *   build/native/fmnist-train --arch cnn-bn --epochs 30 --optimizer adamw \
 *     --lr 2e-3 --schedule cosine --augment-shift 2 --augment-flip \
 *     --holdout 5000 --threads 2 --checkpoint build/ckpt/cnn-bn --out m.safetensors
 *
 * Any option of fm_config_set can be given as --name value (dashes for
 * underscores). With --checkpoint PREFIX the run saves PREFIX.safetensors
 * (weights) and PREFIX.state (trainer state) after every epoch and resumes
 * from them when they exist. With --init FILE training starts from that
 * model's weights (its architecture; --arch is ignored) instead of a random
 * initialisation: a second schedule on top of a finished run (fine-tuning).
 * Validation uses the held-out tail of the
 * training set; the test set is evaluated once, at the end.
 *
 * Real photos: --photos DIR (a folder of class folders) with --photo-ratio R
 * mixes them into every batch (fm_trainer_create_mixed); --photo-map FILE is
 * the folder-to-classes mapping (default photos/clothing-dataset-small.json).
 * --photo-fold K/N trains without fold K of N and, at the end, writes the
 * held-out photos' probabilities to --photo-report FILE (JSON lines; with
 * --ema, those of the trained weights beside the average's in FILE.trained) for
 * cross-validation (scripts/photo-cv.mjs). --photo-jitters N also trains on
 * N renders of perturbed copies of each photo (fm_photoset_set_jitters);
 * --photo-views M (M <= N) makes the model average M of them with a photo's
 * plain render when unsure (fm_net_predict_photo), the held-out report too.
 *
 * --teacher FILE with --distill A (0..1) distils that model into the one
 * being trained: each Fashion-MNIST image's target is (1 - A) x its label's
 * plus A x the teacher's probabilities for the same augmented image
 * (fm_trainer_set_teacher). Give --teacher again when resuming.
 *
 * --dtype F16 writes the --out file with float16 weights (half the size);
 * its recorded test accuracy is that of the rounded weights.
 *
 * --side N (8..64, default 28) makes a new network of N x N inputs and
 * renders the photos at that side (fm_photo_render): more of a garment's
 * detail than 28 pixels keep. Fashion-MNIST images are 28x28, so such a
 * network trains on photos alone (photo ratio 1, no holdout, no test-set
 * accuracy). With --init or a checkpoint the side is the model's own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmnist.h"
#include "photo_folder.h"
#include "read_file.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((noreturn)) static void die(const char *what, const char *why) {
  fprintf(stderr, "fmnist-train: %s%s%s\n", what, why ? ": " : "", why ? why : "");
  exit(1);
}


static void write_file_atomic(const char *path, const uint8_t *b, size_t n) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f || fwrite(b, 1, n, f) != n || fclose(f)) die(tmp, strerror(errno));
  if (rename(tmp, path)) die(path, strerror(errno));
}

static fm_dataset *load_split(const char *dir, const char *img, const char *lbl) {
  char ip[1024], lp[1024];
  size_t il, ll;
  uint8_t *ib = NULL, *lb = NULL;
  for (int gz = 1; gz >= 0 && !ib; gz--) {
    snprintf(ip, sizeof ip, "%s/%s%s", dir, img, gz ? ".gz" : "");
    ib = read_file(ip, &il);
  }
  for (int gz = 1; gz >= 0 && !lb; gz--) {
    snprintf(lp, sizeof lp, "%s/%s%s", dir, lbl, gz ? ".gz" : "");
    lb = read_file(lp, &ll);
  }
  if (!ib || !lb) die(ib ? lp : ip, "not found");
  fm_dataset *ds = fm_dataset_parse(ib, il, ip, lb, ll, lp);
  if (!ds) die(fm_last_error(), NULL);
  free(ib);
  free(lb);
  return ds;
}

static double accuracy(fm_net *net, const fm_dataset *ds, int start, int n) {
  int32_t conf[100] = {0};
  if (fm_evaluate_range(net, ds, start, n, conf, NULL) < 0) die("evaluate", fm_last_error());
  int right = 0;
  for (int c = 0; c < 10; c++) right += conf[c * 11];
  return (double)right / n;
}

/* Held-out photos: right when the top class is allowed (for none of the ten:
 * never counted right here; scripts/photo-cv.mjs judges doubt), and each
 * photo's probabilities as a JSON line for the cross-validation script. */
static void report_photos(fm_net *net, const fm_photoset *held, const char *path, const char *weights) {
  int n = fm_photoset_count(held), right = 0, mapped = 0;
  float *probs = malloc((size_t)n * 10 * sizeof(float));
  if (!probs || !fm_net_predict_photoset(net, held, probs)) die("photos", fm_last_error());
  FILE *f = path ? fopen(path, "w") : NULL;
  if (path && !f) die(path, strerror(errno));
  for (int i = 0; i < n; i++) {
    const float *p = probs + 10 * i;
    int top = 0, allowed = fm_photoset_allowed(held, i);
    for (int c = 1; c < 10; c++) top = p[c] > p[top] ? c : top;
    if (allowed) mapped++, right += allowed >> top & 1;
    if (f) {
      fprintf(f, "{\"folder\":\"%s\",\"allowed\":%d,\"probabilities\":[", 
              fm_photoset_folder_name(held, fm_photoset_folder_of(held, i)), allowed);
      for (int c = 0; c < 10; c++) fprintf(f, "%s%.6f", c ? "," : "", p[c]);
      fprintf(f, "]}\n");
    }
  }
  if (f && fclose(f)) die(path, strerror(errno));
  printf("{\"held_out_photos\":%d,\"mapped\":%d,\"right\":%d,\"accuracy\":%.4f,\"weights\":\"%s\"}\n", n,
         mapped, right, mapped ? (double)right / mapped : 0, weights);
  free(probs);
}

/* "AMD EPYC ... (2 cores), native build, 2 threads" from /proc/cpuinfo. */
static void describe_machine(char *out, size_t cap, int threads) {
  char model[256] = "unknown CPU", line[512];
  int cores = 0;
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (!strncmp(line, "model name", 10)) {
      char *colon = strchr(line, ':');
      if (colon) snprintf(model, sizeof model, "%s", colon + 2);
      model[strcspn(model, "\n")] = 0;
      cores++;
    }
  }
  if (f) fclose(f);
  snprintf(out, cap, "%s (%d cores), native build, %d thread%s", model, cores, threads,
           threads > 1 ? "s" : "");
}

int main(int argc, char **argv) {
  const char *arch = "cnn-small", *out = NULL, *ckpt = NULL, *init = NULL, *teacher_path = NULL;
  const char *photos_dir = NULL, *photo_map = "photos/clothing-dataset-small.json", *photo_report = NULL;
  int fold = -1, folds = 0, jitters = 0, side = 0;
  const char *photo_views = NULL;
  const char *data = getenv("FASHION_MNIST_DIR") ? getenv("FASHION_MNIST_DIR")
                                                 : "/usr/share/datasets/fashion-mnist";
  int threads = 1;
  const char *dtype = "F32"; /* of the --out file; checkpoints stay F32 for exact resumes */
  char command[4096] = "fmnist-train";
  fm_train_config *cfg = fm_config_create();
  for (int i = 1; i < argc; i++) {
    if (strlen(command) + strlen(argv[i]) + 2 < sizeof command)
      strcat(strcat(command, " "), argv[i]);
    const char *a = argv[i];
    if (strncmp(a, "--", 2)) die(a, "unexpected argument");
    a += 2;
    int boolean = !strcmp(a, "nesterov") || !strcmp(a, "augment-flip");
    if (!boolean && i + 1 >= argc) die(argv[i], "needs a value");
    const char *v = boolean ? "1" : argv[++i];
    if (!boolean && strlen(command) + strlen(v) + 2 < sizeof command) strcat(strcat(command, " "), v);
    if (!strcmp(a, "arch")) arch = v;
    else if (!strcmp(a, "out")) out = v;
    else if (!strcmp(a, "data")) data = v;
    else if (!strcmp(a, "checkpoint")) ckpt = v;
    else if (!strcmp(a, "init")) init = v;
    else if (!strcmp(a, "teacher")) teacher_path = v;
    else if (!strcmp(a, "threads")) threads = atoi(v);
    else if (!strcmp(a, "photos")) photos_dir = v;
    else if (!strcmp(a, "photo-map")) photo_map = v;
    else if (!strcmp(a, "photo-report")) photo_report = v;
    else if (!strcmp(a, "photo-views")) photo_views = v;
    else if (!strcmp(a, "photo-jitters")) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < 0 || n > FM_PHOTO_MAX_JITTERS) die(argv[i - 1], "expects 0..32 renders per photo");
      jitters = (int)n;
    }
    else if (!strcmp(a, "side")) {
      char *end;
      long n = strtol(v, &end, 10);
      if (*end || n < FM_PHOTO_SIDE_MIN || n > FM_PHOTO_SIDE_MAX) die(argv[i - 1], "expects 8..64 pixels");
      side = (int)n;
    }
    else if (!strcmp(a, "dtype")) {
      if (strcmp(v, "F32") && strcmp(v, "F16")) die(argv[i - 1], "expects F32 or F16");
      dtype = v;
    }
    else if (!strcmp(a, "photo-fold")) {
      if (sscanf(v, "%d/%d", &fold, &folds) != 2 || folds < 2 || fold < 0 || fold >= folds)
        die(argv[i - 1], "expects K/N with 0 <= K < N, N >= 2 (e.g. 0/5)");
    }
    else {
      char key[64];
      snprintf(key, sizeof key, "%s", a);
      for (char *p = key; *p; p++)
        if (*p == '-') *p = '_';
      double val;
      if (!strcmp(key, "optimizer"))
        val = !strcmp(v, "sgd") ? 0 : !strcmp(v, "adam") ? 1 : !strcmp(v, "adamw") ? 2 : -1;
      else if (!strcmp(key, "schedule"))
        val = !strcmp(v, "constant") ? 0 : !strcmp(v, "cosine") ? 1 : -1;
      else {
        char *end;
        val = strtod(v, &end);
        if (*end) die(argv[i - 1], "not a number");
      }
      if (!fm_config_set(cfg, key, val)) die(fm_last_error(), NULL);
    }
  }
  if (!fm_set_threads(threads)) die("--threads", fm_last_error());
  fm_dataset *train = load_split(data, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  fm_dataset *test = load_split(data, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  int holdout = (int)fm_config_get(cfg, "holdout"), epochs = (int)fm_config_get(cfg, "epochs");

  char mpath[1024] = "", spath[1024] = "";
  fm_net *net = NULL;
  size_t len;
  uint8_t *bytes;
  if (ckpt) {
    snprintf(mpath, sizeof mpath, "%s.safetensors", ckpt);
    snprintf(spath, sizeof spath, "%s.state", ckpt);
    if ((bytes = read_file(mpath, &len))) {
      net = fm_net_load(bytes, len);
      if (!net) die(mpath, fm_last_error());
      free(bytes);
    }
  }
  int resumed = net != NULL;
  if (!net && init) {
    if (!(bytes = read_file(init, &len))) die(init, "cannot read");
    if (!(net = fm_net_load(bytes, len))) die(init, fm_last_error());
    free(bytes);
  }
  if (net && side && fm_net_input_size(net) != side * side) die("--side", "differs from the model's own input side");
  if (!net) net = fm_net_create(arch, 1, side ? side : 28, side ? side : 28, (uint64_t)fm_config_get(cfg, "seed"));
  if (!net) die("architecture", fm_last_error());
  /* Fashion-MNIST is 28x28: a network of other inputs learns from photos alone. */
  int fashion = fm_net_input_size(net) == 28 * 28;
  if (!fashion) {
    if (!(side = fm_net_photo_side(net))) die("model", fm_last_error());
    if (!photos_dir) die("--side", "a network of other than 28x28 inputs trains on photos alone: give --photos DIR");
    if (holdout) die("--holdout", "needs Fashion-MNIST images, which are 28x28: not with --side");
    double ratio = fm_config_get(cfg, "photo_ratio");
    if (ratio > 0 && ratio < 1) die("--photo-ratio", "below 1 needs Fashion-MNIST images, which are 28x28: not with --side");
    fm_config_set(cfg, "photo_ratio", 1);
  }
  if (photo_views) {
    if (!fm_net_set_meta(net, "photo_views", photo_views)) die("--photo-views", fm_last_error());
    if (fm_net_photo_views(net) > jitters) die("--photo-views N", "needs --photo-jitters N or more");
  }
  fm_photoset *photos = NULL, *held = NULL;
  if (photos_dir) {
    if (!(photos = load_photo_folder(photos_dir, photo_map, threads, jitters, fashion ? 28 : side))) exit(1);
    if (fold >= 0) {
      held = fm_photoset_split(photos, fold, folds, 1);
      fm_photoset *rest = fm_photoset_split(photos, fold, folds, 0);
      if (!held || !rest) die("--photo-fold", fm_last_error());
      fm_photoset_free(photos);
      photos = rest;
      fprintf(stderr, "fold %d of %d: %d photos to train on, %d held out\n", fold, folds,
              fm_photoset_count(photos), fm_photoset_count(held));
    }
    if (fm_config_get(cfg, "photo_ratio") <= 0) fm_config_set(cfg, "photo_ratio", 0.25);
  } else if (fold >= 0 || photo_report) {
    die("--photo-fold and --photo-report", "need --photos DIR");
  }
  fm_trainer *tr = fm_trainer_create_mixed(net, fashion ? train : NULL, photos, cfg);
  if (!tr) die("trainer", fm_last_error());
  fm_net *teacher = NULL;
  if (teacher_path) {
    if (fm_config_get(cfg, "distill") <= 0) die("--teacher", "needs --distill A (0 < A <= 1)");
    if (!(bytes = read_file(teacher_path, &len))) die(teacher_path, "cannot read");
    if (!(teacher = fm_net_load(bytes, len))) die(teacher_path, fm_last_error());
    free(bytes);
    if (!fm_trainer_set_teacher(tr, teacher)) die("--teacher", fm_last_error());
  } else if (fm_config_get(cfg, "distill") > 0) {
    die("--distill", "needs --teacher FILE");
  }
  if (resumed) {
    if (!(bytes = read_file(spath, &len))) die(spath, "missing beside its model file");
    if (!fm_trainer_load_state(tr, bytes, len)) die(spath, fm_last_error());
    free(bytes);
    fprintf(stderr, "resumed from %s at epoch %d\n", mpath, fm_trainer_epoch(tr));
  }
  fprintf(stderr, "training %s (%ld parameters), %d threads\n", fm_net_spec(net),
          fm_net_param_count(net), threads);

  /* Training time adds up across resumed sessions, in the model's metadata. */
  const char *prev = fm_net_get_meta(net, "train_seconds");
  /* A fine-tuned model's time includes its starting model's; the card shows
   * both commands. */
  double train_seconds = (resumed || init) && prev ? atof(prev) : 0;
  if (init && !resumed && fm_net_get_meta(net, "command")) {
    /* A chain of fine-tunings keeps every earlier command, in order. */
    char base[8192];
    const char *earlier = fm_net_get_meta(net, "base_command");
    snprintf(base, sizeof base, "%s%s%s", earlier ? earlier : "", earlier ? " && " : "",
             fm_net_get_meta(net, "command"));
    fm_net_set_meta(net, "base_command", base);
  }
  char machine[512];
  describe_machine(machine, sizeof machine, threads);
  fm_step_info info;
  double t0 = now(), t_epoch = now(), images = 0;
  int r;
  /* On a terminal, the position within the epoch every second (stderr, one
   * line rewritten): an epoch of a large network takes minutes. */
  int tty = isatty(2);
  double t_shown = now();
  while ((r = fm_trainer_step(tr, &info)) == 1) {
    images += info.images;
    if (tty && now() - t_shown >= 1) {
      t_shown = now();
      double rate = images / (t_shown - t_epoch);
      int left = info.batches_per_epoch - info.batch - 1;
      fprintf(stderr, "\repoch %d/%d batch %d/%d loss %.4f %.0f images/s, epoch ends in %.0f s   ",
              info.epoch + 1, epochs, info.batch + 1, info.batches_per_epoch, info.loss, rate,
              rate > 0 ? left * (images / (info.batch + 1)) / rate : 0);
    }
    if (info.batch + 1 < info.batches_per_epoch) continue;
    if (tty) fprintf(stderr, "\r%*s\r", 100, "");
    double dt = now() - t_epoch;
    train_seconds += dt;
    char num[32];
    snprintf(num, sizeof num, "%.0f", train_seconds);
    fm_net_set_meta(net, "train_seconds", num);
    fm_net_set_meta(net, "machine", machine);
    /* With ema the model the run makes is the average: validate that, and the
     * trained weights beside it. */
    int avg = fm_config_get(cfg, "ema") > 0, in_net = avg && fm_trainer_average_in_net(tr);
    double val = -1, val_trained = -1;
    if (holdout && avg) {
      if (!in_net) fm_trainer_swap_average(tr);
      val = accuracy(net, train, train->count - holdout, holdout);
      fm_trainer_swap_average(tr);
      val_trained = accuracy(net, train, train->count - holdout, holdout);
      if (in_net) fm_trainer_swap_average(tr);
    } else if (holdout)
      val = accuracy(net, train, train->count - holdout, holdout);
    char trained[48] = "";
    if (avg) snprintf(trained, sizeof trained, ",\"validation_trained\":%.4f", val_trained);
    printf("{\"epoch\":%d,\"loss\":%.5f,\"lr\":%.6g,\"validation_accuracy\":%.4f%s,\"seconds\":%.1f,"
           "\"images_per_sec\":%.0f}\n",
           info.epoch + 1, info.loss, info.lr, val, trained, dt, images / dt);
    fflush(stdout);
    images = 0;
    t_epoch = now();
    if (ckpt) {
      uint8_t *mb, *sb;
      size_t ml, sl;
      if (!fm_net_save_as(net, "F32", &mb, &ml) || !fm_trainer_save_state(tr, &sb, &sl))
        die("checkpoint", fm_last_error());
      write_file_atomic(spath, sb, sl); /* state first: a model without state is never newer */
      write_file_atomic(mpath, mb, ml);
      fm_free(mb);
      fm_free(sb);
    }
  }
  if (r < 0) die("training stopped", fm_last_error());
  if (!strcmp(dtype, "F16")) {
    /* The weights as the file will hold them, so the accuracy recorded is
     * the shipped model's. */
    uint8_t *mb;
    size_t ml;
    if (!fm_net_save_as(net, "F16", &mb, &ml)) die("save", fm_last_error());
    fm_net *rounded = fm_net_load(mb, ml);
    if (!rounded) die("float16 round trip", fm_last_error());
    fm_free(mb);
    fm_trainer_free(tr);
    tr = NULL;
    fm_net_free(net);
    net = rounded;
  }
  double test_acc = fashion ? accuracy(net, test, 0, test->count) : -1;
  char buf[64];
  snprintf(buf, sizeof buf, "%.4f", test_acc);
  if (fashion) fm_net_set_meta(net, "test_accuracy", buf);
  snprintf(buf, sizeof buf, "%d", epochs);
  fm_net_set_meta(net, "epochs", buf);
  fm_net_set_meta(net, "command", command);
  printf("{\"done\":true,\"test_accuracy\":%.4f,\"seconds_this_session\":%.0f}\n", test_acc,
         now() - t0);
  if (out) {
    uint8_t *mb;
    size_t ml;
    if (!fm_net_save_as(net, dtype, &mb, &ml)) die("save", fm_last_error());
    write_file_atomic(out, mb, ml);
    fm_free(mb);
    fprintf(stderr, "saved %s\n", out);
  }
  if (held) {
    int avg = fm_config_get(cfg, "ema") > 0; /* the finished run's model is the average */
    report_photos(net, held, photo_report, avg ? "average" : "trained");
    if (avg && tr) { /* (tr is gone after a float16 round trip) */
      /* The trained weights too, in FILE.trained: whether the average helps
       * is then measured on the same run. */
      char path[4096];
      snprintf(path, sizeof path, "%s.trained", photo_report ? photo_report : "");
      fm_trainer_swap_average(tr);
      report_photos(net, held, photo_report ? path : NULL, "trained");
    }
  }
  fm_trainer_free(tr);
  fm_net_free(teacher);
  fm_photoset_free(photos);
  fm_photoset_free(held);
  fm_net_free(net);
  fm_dataset_free(train);
  fm_dataset_free(test);
  fm_config_free(cfg);
  return 0;
}
