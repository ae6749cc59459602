/* fmnist.h: public API of the Fashion-MNIST network and trainer.
 *
 * One C library, compiled twice: to WebAssembly with 128-bit SIMD (the product,
 * loaded by js/fmnist.mjs in Node, a page or a Web Worker) and natively with
 * gcc + SIMDe (tests under sanitizers, fuzzers, fast offline training).
 *
 * Conventions
 * - Every function that can fail returns 0 / NULL on failure (or a negative
 *   count) and leaves a one-line, human-readable reason in fm_last_error().
 *   Bad input never crashes and never yields silently wrong data.
 * - Memory: objects returned by *_create / *_load / *_parse are owned by the
 *   caller and released with the matching *_free. Buffers passed in are only
 *   read during the call unless stated otherwise.
 * - Images are 8-bit grayscale, row-major, 0 = black background as in
 *   Fashion-MNIST. Networks see pixels / 255 (the model file records this).
 */
#ifndef FMNIST_H
#define FMNIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FM_NUM_CLASSES 10
#define FM_IMAGE_SIDE 28
#define FM_IMAGE_PIXELS (FM_IMAGE_SIDE * FM_IMAGE_SIDE)

/* The last error message of this thread ("" when none). */
const char *fm_last_error(void);
/* Class name for index 0..9 ("T-shirt/top", ...); NULL when out of range. */
const char *fm_class_name(int index);

/* ---- Data: IDX files (raw or gzip) ------------------------------------- */

typedef struct fm_dataset {
  int count;        /* number of images */
  int rows, cols;   /* 28 x 28 for Fashion-MNIST */
  uint8_t *images;  /* count * rows * cols bytes */
  uint8_t *labels;  /* count bytes, each 0..9 */
} fm_dataset;

/* Parses an images file and a labels file (each raw IDX or gzip of IDX).
 * Names are used in error messages only ("train-images-idx3-ubyte.gz: ...").
 * Validates magic numbers, dimensions, counts, file lengths, gzip CRC,
 * label range and that both files describe the same number of items. */
fm_dataset *fm_dataset_parse(const uint8_t *images, size_t images_len, const char *images_name,
                             const uint8_t *labels, size_t labels_len, const char *labels_name);
void fm_dataset_free(fm_dataset *ds);

/* ---- Networks ---------------------------------------------------------- */

typedef struct fm_net fm_net;

/* Builds a network from a spec string ("mlp", "cnn-small", or comma-separated
 * tokens such as "conv3x3:32,bn,relu,maxpool2,flatten,dense:10"; see
 * src/net/spec.c) for inputs of c x h x w and initialises its weights as
 * PyTorch does (Kaiming-uniform), deterministically from seed. */
fm_net *fm_net_create(const char *spec, int c, int h, int w, uint64_t seed);
void fm_net_free(fm_net *net);
/* The expanded spec ("mlp" becomes its token list). */
const char *fm_net_spec(const fm_net *net);
long fm_net_param_count(const fm_net *net);
/* Multiply-adds of one forward pass of one image. */
double fm_net_macs(const fm_net *net);
int fm_net_input_size(const fm_net *net);
int fm_net_output_size(const fm_net *net);
/* Flat float32 view of all trainable parameters, in state_dict order. */
float *fm_net_params(fm_net *net);

/* net = (1 - weight) * net + weight * other, parameter by parameter and for
 * the batch-norm statistics: a weight average ("model soup") of networks of
 * the same architecture fine-tuned from the same start. */
int fm_net_blend(fm_net *net, const fm_net *other, float weight);

/* Inference (batch norm uses running statistics, dropout is off).
 * pixels: n images of 8-bit grayscale; probs: n x 10 softmax outputs. */
int fm_net_predict_u8(fm_net *net, const uint8_t *pixels, int n, float *probs);
/* Same for already-normalised float inputs. */
int fm_net_predict_f32(fm_net *net, const float *x, int n, float *probs);
/* Inference runs the 3x3 convolutions on planes from 7x7 up with int16
 * multiplies (Winograd domain, per-channel and per-tile scales: about 1e-3
 * relative error per output, under 0.1% of test images change class; see
 * docs/performance.md), and a first 3x3 convolution of one input channel and
 * dense layers of 64 inputs or more and a multiple of 8 outputs too
 * (per-image and per-channel or per-output scales): whole networks infer
 * x1.15-1.33 faster. exact = 1
 * keeps every pass in float32, as training computes it; 0 is the default. */
void fm_net_set_exact(fm_net *net, int exact);

/* Free-form metadata saved in the model file (string -> string). One key
 * changes inference: "tta" = "shift" makes the predict functions (and so
 * evaluation) decide each image whose top class has probability under 0.9
 * on its own by the mean of the image and the image moved one pixel left and
 * right (two more forward passes for those images only); "none" turns it
 * off. */
int fm_net_set_meta(fm_net *net, const char *key, const char *value);
const char *fm_net_get_meta(const fm_net *net, const char *key);

/* The verdict on one image's probabilities: out[0] the top class, out[1] 1
 * when unsure (top probability under the model's metadata "unsure_below",
 * default 0.5), out[2] 1 when probably one of the ten classes (certainty,
 * 1 - entropy / log 10, at least the metadata "scope_min"; always 1 for a
 * model without it). Used by the page and `fmnist predict`. */
int fm_net_verdict(const fm_net *net, const float *probs, int32_t *out);

/* ---- Model files: safetensors ------------------------------------------ */

/* Serialises to safetensors; *out is malloc'd (free with fm_free). The
 * weights are float32, or float16 for a network loaded from a float16 file
 * and not trained since (saving it again keeps its size). */
int fm_net_save(const fm_net *net, uint8_t **out, size_t *out_len);
/* The same with the float tensors stored as dtype "F32" or "F16" (half the
 * bytes, each weight rounded to the nearest float16; refused when a value
 * is beyond float16's range). */
int fm_net_save_as(const fm_net *net, const char *dtype, uint8_t **out, size_t *out_len);
/* Rejects truncated files, bad JSON, missing/extra tensors, wrong shapes or
 * dtypes, out-of-range offsets and non-finite weights. */
fm_net *fm_net_load(const uint8_t *bytes, size_t len);

/* ---- Training ---------------------------------------------------------- */

typedef struct fm_train_config fm_train_config;
/* A config with defaults: adam, lr 1e-3, batch 64, 1 epoch, constant lr. */
fm_train_config *fm_config_create(void);
void fm_config_free(fm_train_config *cfg);
/* Sets a numeric option by name; returns 0 for an unknown key or bad value.
 * Keys: epochs, batch, lr, optimizer (0 sgd, 1 adam, 2 adamw), momentum,
 * nesterov, weight_decay, beta1, beta2, eps, schedule (0 constant,
 * 1 cosine), warmup_epochs, min_lr, seed, label_smoothing,
 * augment_shift (pixels), augment_flip (0/1), augment_erase (probability),
 * shard, shards (data-parallel, below),
 * augment_photo (probability of the photo-like distortions of
 * src/train/augment_photo.c), augment_pair (probability that a sneaker is
 * drawn as a pair, src/train/augment_pair.c), holdout (validation images at the end),
 * limit (use only the first N training images; 0 = all), photo_ratio
 * (share of each batch drawn from real photos: fm_trainer_create_mixed),
 * photo_balance (0: photos as they come; 1: each folder equally often),
 * ema (0: off; else the decay per step of a moving average of the weights,
 * e.g. 0.999: the finished run's model is the average, see
 * fm_trainer_swap_average), distill (0..1: the weight of a teacher's
 * answers in each Fashion-MNIST image's target, fm_trainer_set_teacher). */
int fm_config_set(fm_train_config *cfg, const char *key, double value);
double fm_config_get(const fm_train_config *cfg, const char *key);

typedef struct fm_trainer fm_trainer;
/* The trainer keeps pointers to net and data: both must outlive it. */
fm_trainer *fm_trainer_create(fm_net *net, const fm_dataset *train, const fm_train_config *cfg);
void fm_trainer_free(fm_trainer *tr);

typedef struct fm_step_info {
  int epoch;            /* 0-based epoch of the step just done */
  int batch;            /* 0-based batch index within that epoch */
  int batches_per_epoch;
  int images;           /* images in this batch */
  float loss;           /* mean cross-entropy of the batch */
  float accuracy;       /* fraction of the batch predicted right */
  float lr;             /* learning rate used */
  int done;             /* 1 when all epochs are finished */
} fm_step_info;

/* Runs one mini-batch (shuffling at the start of each epoch). Returns 1 when
 * a step ran, 0 when training is finished, -1 on error (e.g. the loss became
 * non-finite: the weights are restored to those before the step). */
int fm_trainer_step(fm_trainer *tr, fm_step_info *info);

/* Data-parallel training (e.g. one trainer per Web Worker): give each
 * trainer the same config and data plus options shard (0..shards-1) and
 * shards. fm_trainer_step then computes only its share of each batch and
 * returns 2 instead of updating the weights. Every trainer then adds every
 * shard's exchange vector (its own included), in shard order, and calls
 * fm_trainer_finish, which applies the update: all trainers stay identical,
 * and equal a single trainer's run up to float rounding for networks
 * without batch norm or dropout (those normalise over each shard's samples
 * and draw per-shard masks, as PyTorch's DistributedDataParallel does
 * without SyncBatchNorm; running statistics are averaged over shards).
 * The vector holds fm_trainer_exchange_size floats: gradients, then
 * batch-norm statistics. */
long fm_trainer_exchange_size(const fm_trainer *tr);
int fm_trainer_exchange_get(const fm_trainer *tr, float *out);
int fm_trainer_exchange_add(fm_trainer *tr, const float *vector);
/* 1 when the step is applied, -1 on error (as fm_trainer_step). */
int fm_trainer_finish(fm_trainer *tr, fm_step_info *info);

/* Checkpoints: the trainer's state (position in the run, random streams,
 * optimiser moments); the weights are saved with fm_net_save beside it.
 * To resume: load the model, create a trainer with the same config and
 * dataset, then load the state; the run continues exactly where it was.
 * *out is malloc'd (free with fm_free). */
int fm_trainer_save_state(const fm_trainer *tr, uint8_t **out, size_t *out_len);
int fm_trainer_load_state(fm_trainer *tr, const uint8_t *bytes, size_t len);
/* Epochs completed so far. */
int fm_trainer_epoch(const fm_trainer *tr);

/* With option ema: exchanges the network's weights (and batch-norm
 * statistics) with their moving average, e.g. to validate the average
 * during a run; calling it again swaps back. After the last step the
 * average is swapped in (and stays: there is no further step). A step taken
 * while the average is swapped in swaps the trained weights back first.
 * Returns 0 when the trainer keeps no average. */
int fm_trainer_swap_average(fm_trainer *tr);
/* 1 while the average is the network's weights. */
int fm_trainer_average_in_net(const fm_trainer *tr);

/* Knowledge distillation: with option distill a > 0, each Fashion-MNIST
 * image's target is (1 - a) x its label's + a x the teacher's probabilities
 * for the same augmented image (the teacher's own test-time views
 * included); real photos keep their labels. The teacher is any loaded
 * model with the same input, typically a larger, more accurate one; it must
 * outlive the trainer and is not saved in checkpoints (give it again to
 * resume). NULL removes it. */
int fm_trainer_set_teacher(fm_trainer *tr, fm_net *teacher);

/* ---- Real photos as training data (src/data/photoset.c) ---------------- */

/* A set of real photos, each kept as the photo pipeline's 28x28 input with
 * its label: the set of classes its folder allows (a partial label: "long
 * sleeves" = T-shirt/top, Pullover or Shirt), or none of the ten (a hat). */
typedef struct fm_photoset fm_photoset;
#define FM_PHOTO_MAX_FOLDERS 64
#define FM_PHOTO_FOLDER_NAME 64
/* From a JSON mapping of folder names to allowed classes (names or indices;
 * [] = none of the ten): {"folders": {"shoes": ["Sandal", "Sneaker",
 * "Ankle boot"], "hat": []}}. Other top-level keys are ignored. */
fm_photoset *fm_photoset_create(const char *mapping_json, size_t len);
void fm_photoset_free(fm_photoset *ps);
/* Decodes one photo file, runs the photo pipeline (as prediction does) and
 * adds it under its folder. Returns its index, or -1 (unknown folder, bad or
 * oversized image: the message says which; the set is unchanged). */
int fm_photoset_add(fm_photoset *ps, const char *folder, const uint8_t *bytes, size_t len);
/* Training renders: each photo added by fm_photoset_add afterwards also
 * keeps n (0..FM_PHOTO_MAX_JITTERS) renders of a randomly perturbed copy
 * (framing, resolution, light, colour, noise; src/train/jitter_photo.c) run
 * through the same pipeline; the trainer draws one of a photo's renders
 * each time it uses the photo. Costs n more pipeline runs per photo. */
#define FM_PHOTO_MAX_JITTERS 32
int fm_photoset_set_jitters(fm_photoset *ps, int n);
/* Adds a photo as n renders the pipeline already made (n x side^2 bytes):
 * the plain one first, then n - 1 from fm_photo_render_jittered. */
int fm_photoset_add_renders(fm_photoset *ps, const char *folder, const uint8_t *inputs, int n);
/* All renders held, plain and jittered. */
int fm_photoset_renders(const fm_photoset *ps);
/* Renders at side x side instead of 28x28 (fm_photo_render), for a model
 * of larger inputs; before any photo is added. */
int fm_photoset_set_side(fm_photoset *ps, int side);
int fm_photoset_side(const fm_photoset *ps);
/* Adds an input the pipeline already made (28x28, or the set's side; the
 * page decodes photos with the browser) under a folder of the mapping. */
int fm_photoset_add_input(fm_photoset *ps, const char *folder, const uint8_t *input);
/* Adds an input with its own allowed classes (bit c = class c; 0 = none
 * of the ten), outside any folder: a person's correction. */
int fm_photoset_add_labeled(fm_photoset *ps, const uint8_t *input, int allowed);
int fm_photoset_count(const fm_photoset *ps);
/* Photo i's allowed classes (bit mask), its folder index (-1: labelled on
 * its own), and all inputs (count x side^2 bytes). */
int fm_photoset_allowed(const fm_photoset *ps, int i);
int fm_photoset_folder_of(const fm_photoset *ps, int i);
const uint8_t *fm_photoset_inputs(const fm_photoset *ps);
/* The mapping: folder count, name and allowed mask of folder f, and the
 * index of a folder name (-1 when the mapping does not list it). */
int fm_photoset_folders(const fm_photoset *ps);
const char *fm_photoset_folder_name(const fm_photoset *ps, int f);
int fm_photoset_folder_allowed(const fm_photoset *ps, int f);
int fm_photoset_folder(const fm_photoset *ps, const char *name);
/* Cross-validation: the k-th photo of each folder (in the order added) is in
 * fold k % folds. Returns a new set holding fold `fold` (held_out = 1) or
 * every other fold (held_out = 0). */
fm_photoset *fm_photoset_split(const fm_photoset *ps, int fold, int folds, int held_out);

/* A photo's probabilities with the model's photo views (src/net/
 * predict_photo.c): the plain render input (fm_photo_render of the same
 * photo at the model's side, fm_net_photo_side) and, when its top class is
 * under the metadata "photo_views_below" (default 0.6), the mean with the
 * model's "photo_views" jittered renders (fm_photo_render_jittered 1..N;
 * none when the metadata is absent). */
int fm_net_predict_photo(fm_net *net, const uint8_t *rgba, int w, int h, const uint8_t *input, float *probs);
/* The side of the square renders a model takes from the photo pipeline: 28
 * for the shipped models; 0 (with an error) when its input is not one. */
int fm_net_photo_side(const fm_net *net);
/* The same for every photo of a set (count x 10 probabilities), from the
 * renders the set keeps (at the model's side): it needs at least
 * photo_views of them per photo. */
int fm_net_predict_photoset(fm_net *net, const fm_photoset *ps, float *probs);
int fm_net_photo_views(const fm_net *net);

/* A trainer whose batches mix Fashion-MNIST images with photos: option
 * photo_ratio (0..1) is the share of each batch drawn from the photos (at
 * least one photo per batch when above 0), in an order reshuffled at every
 * pass over them; an epoch is still one pass over the Fashion-MNIST images
 * in their share of the batches (all photos: one pass over the photos).
 * Photos are augmented with a random mirror, a shift of up to 2 pixels and,
 * with probability augment_photo, the photo distortions; their loss is
 * minus the log of the probability on their allowed classes (uniform target
 * for none of the ten). photos must outlive the trainer. */
fm_trainer *fm_trainer_create_mixed(fm_net *net, const fm_dataset *train, const fm_photoset *photos,
                                    const fm_train_config *cfg);

/* ---- Evaluation -------------------------------------------------------- */

/* Adds predictions of images [start, start+n) to a 10x10 confusion matrix
 * (rows = true class, columns = predicted). pred may be NULL; else receives n
 * predicted classes. Returns the number of images done or -1. */
int fm_evaluate_range(fm_net *net, const fm_dataset *ds, int start, int n, int32_t *confusion,
                      uint8_t *pred);

/* From a confusion matrix: out[c*4 + {0,1,2,3}] = precision, recall, F1,
 * support for each class c, then out[40..43] the macro averages and out[44]
 * the accuracy. out must hold 45 floats. */
void fm_report(const int32_t *confusion, float *out);

/* ---- Images ------------------------------------------------------------ */

/* Images: files over FM_MAX_IMAGE_PIXELS pixels are refused. */
#ifndef FM_MAX_IMAGE_PIXELS /* the fuzz build lowers it: same paths, cheaper runs */
#define FM_MAX_IMAGE_PIXELS (64 * 1024 * 1024)
#endif
/* Reads only the header: dimensions, and refuses images over the limit. */
int fm_image_info(const uint8_t *bytes, size_t len, int *w, int *h);
/* Decodes a PNG, JPEG, GIF (its first frame) or BMP to RGBA, applying a
 * JPEG's EXIF orientation as browsers do (*out malloc'd, free with
 * fm_free). Other formats (WebP, HEIC, AVIF, TIFF, SVG) are named in the
 * error message. */
int fm_image_decode_rgba(const uint8_t *bytes, size_t len, uint8_t **out, int *w, int *h);
/* The photo pipeline (src/image/photo.c): any RGBA photo -> the 28x28
 * dataset-like input. box (may be NULL) receives the object's crop
 * x0, y0, x1, y1 in the photo's pixels. mask (may be NULL; room for
 * FM_PHOTO_MASK_MAX^2 bytes) receives what the pipeline kept as the object
 * (255) and took for background (0), at its working resolution, whose width
 * and height go to mask_size[0..1]. Used by the page and the CLI. */
#define FM_PHOTO_MASK_MAX 160
int fm_photo_to_input(const uint8_t *rgba, int w, int h, uint8_t *out28, int32_t *box,
                      uint8_t *mask, int32_t *mask_size);
/* The same pipeline rendering the object at side x side pixels instead of
 * 28x28 (FM_PHOTO_SIDE_MIN..MAX; 28 gives fm_photo_to_input's bytes), for
 * models that take larger inputs: more of a garment's detail survives. out
 * has room for side * side bytes; a 28x28 dataset image is resized. */
#define FM_PHOTO_SIDE_MIN 8
#define FM_PHOTO_SIDE_MAX 64
int fm_photo_render(const uint8_t *rgba, int w, int h, int side, uint8_t *out, int32_t *box,
                    uint8_t *mask, int32_t *mask_size);
/* Render number `render` (>= 1) of a randomly perturbed copy of the photo
 * through the same pipeline: a training view (src/train/jitter_photo.c),
 * the same for the same photo and number; at 28x28, or side x side. */
int fm_photo_to_input_jittered(const uint8_t *rgba, int w, int h, int render, uint8_t *out28);
int fm_photo_render_jittered(const uint8_t *rgba, int w, int h, int side, int render, uint8_t *out);
/* n renders into out (n x 784): the plain one, then jittered renders 1..n-1
 * (what a photo set keeps for a photo with n - 1 jitters); fm_photo_renders
 * at side x side (n x side^2). */
int fm_photo_to_renders(const uint8_t *rgba, int w, int h, int n, uint8_t *out);
int fm_photo_renders(const uint8_t *rgba, int w, int h, int side, int n, uint8_t *out);

/* ---- Saliency ---------------------------------------------------------- */

/* What the model looked at (src/net/saliency.c): the gradient of the logit
 * of class cls (cls < 0: the top class) with respect to each input pixel as
 * the network sees it (pixels / 255), for one image run as predict runs it
 * (batch norm with its running statistics, dropout off, no test-time
 * views). grad receives fm_net_input_size floats; large magnitudes are the
 * pixels that move the answer most. Returns the class explained, or -1.
 * The network's weights and gradient buffers are left as they were. */
int fm_net_saliency(fm_net *net, const uint8_t *pixels, int cls, float *grad);

/* ---- Threads (native build; the wasm module is single-threaded) --------- */
/* Sets the number of worker threads (1 = serial); call before creating
 * networks. Returns 0 in a single-threaded build for n != 1. */
int fm_set_threads(int n);

/* ---- Memory helpers for callers that cannot call libc (JS) -------------- */
void *fm_alloc(size_t n);
void fm_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* FMNIST_H */
