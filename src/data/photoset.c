/* photoset.c: real photos as training data. Each photo goes through the same
 * C code as prediction (decode, the photo pipeline of src/image/photo.c) once,
 * and its 28x28 input (side x side: fm_photoset_set_side) is kept in memory
 * with its label: the set of classes
 * its folder allows (a partial label), or none of them (out of scope).
 *
 * Which folder allows which classes is data, a small JSON mapping, so a user
 * can train on folders of their own:
 *   {"folders": {"t-shirt": ["T-shirt/top"], "longsleeve": ["T-shirt/top",
 *    "Pullover", "Shirt"], "shoes": [5, 7, 9], "hat": []}}
 * Classes are names (fm_class_name) or indices 0..9; [] = none of the ten.
 * Other top-level keys (source, licence) are kept for people, not read. */
#include <stdlib.h>
#include <string.h>

#include "../common.h"
#include "../model/json.h"
#include "photoset.h"

#define MAX_MAPPING (64 * 1024)

/* Bytes of one render. */
static size_t px(const fm_photoset *ps) { return (size_t)ps->side * ps->side; }

void fm_photoset_free(fm_photoset *ps) {
  if (!ps) return;
  for (int f = 0; f < ps->nfolders; f++) free(ps->folder_name[f]);
  free(ps->inputs);
  free(ps->allowed);
  free(ps->folder);
  free(ps->renders);
  free(ps->first_render);
  free(ps->nrenders);
  free(ps);
}

static fm_photoset *mapping_fail(fm_photoset *ps, fm_json *j) {
  fm_json_free(j);
  fm_photoset_free(ps);
  return NULL;
}

/* One class of a folder's list: a name or an index. -1 when neither. */
static int class_of(const fm_json *j, int t) {
  uint64_t v;
  if (j->tok[t].type == JSMN_PRIMITIVE) return fm_json_u64(j, t, &v) && v < FM_NUM_CLASSES ? (int)v : -1;
  for (int c = 0; c < FM_NUM_CLASSES; c++)
    if (fm_json_eq(j, t, fm_class_name(c))) return c;
  return -1;
}

fm_photoset *fm_photoset_create(const char *mapping, size_t len) {
  if (!mapping || len == 0) return fm_fail("photo mapping is empty"), NULL;
  if (len > MAX_MAPPING) return fm_fail("photo mapping is over %d KB", MAX_MAPPING / 1024), NULL;
  fm_photoset *ps = fm_calloc(1, sizeof *ps);
  if (!ps) return NULL;
  ps->side = FM_IMAGE_SIDE;
  fm_json j;
  int r = fm_json_parse(&j, mapping, len, 4096);
  if (r <= 0) {
    if (r != FM_JSON_NO_MEMORY) fm_fail("photo mapping is not a JSON object");
    return mapping_fail(ps, &j);
  }
  int folders = -1;
  for (int i = 1; i < j.ntok; i = fm_json_skip(&j, i + 1)) {
    if (i + 1 >= j.ntok) break;
    if (fm_json_eq(&j, i, "folders")) folders = i + 1;
  }
  if (folders < 0 || j.tok[folders].type != JSMN_OBJECT) {
    fm_fail("photo mapping has no \"folders\" object (folder name -> list of classes)");
    return mapping_fail(ps, &j);
  }
  char name[FM_PHOTO_FOLDER_NAME];
  for (int k = folders + 1; fm_json_inside(&j, k, folders); k = fm_json_skip(&j, k + 1)) {
    int v = k + 1;
    if (j.tok[k].type != JSMN_STRING || !fm_json_string(&j, k, name, sizeof name) || !name[0]) {
      fm_fail("photo mapping: a folder name is not a string of 1..%d bytes", FM_PHOTO_FOLDER_NAME - 1);
      return mapping_fail(ps, &j);
    }
    if (!fm_json_inside(&j, v, folders) || j.tok[v].type != JSMN_ARRAY) {
      fm_fail("photo mapping: folder '%s' needs a list of classes ([] for none of the ten)", name);
      return mapping_fail(ps, &j);
    }
    if (fm_photoset_folder(ps, name) >= 0) {
      fm_fail("photo mapping: folder '%s' is listed twice", name);
      return mapping_fail(ps, &j);
    }
    if (ps->nfolders == FM_PHOTO_MAX_FOLDERS) {
      fm_fail("photo mapping: more than %d folders", FM_PHOTO_MAX_FOLDERS);
      return mapping_fail(ps, &j);
    }
    uint16_t allowed = 0;
    for (int c = v + 1; fm_json_inside(&j, c, v); c = fm_json_skip(&j, c)) {
      int cls = class_of(&j, c);
      if (cls < 0) {
        char bad[40] = "?";
        if (!fm_json_string(&j, c, bad, sizeof bad)) {
          int n = FM_MIN(j.tok[c].end - j.tok[c].start, (int)sizeof bad - 1);
          memcpy(bad, mapping + j.tok[c].start, (size_t)n), bad[n] = 0;
        }
        fm_fail("photo mapping: folder '%s': '%s' is not a class (a name such as \"Pullover\" or "
                "an index 0..9)", name, bad);
        return mapping_fail(ps, &j);
      }
      allowed |= (uint16_t)(1u << cls);
    }
    int f = ps->nfolders;
    if (!(ps->folder_name[f] = fm_malloc(strlen(name) + 1))) return mapping_fail(ps, &j);
    memcpy(ps->folder_name[f], name, strlen(name) + 1);
    ps->folder_allowed[f] = allowed;
    ps->nfolders++;
  }
  fm_json_free(&j);
  if (!ps->nfolders) {
    fm_fail("photo mapping lists no folders");
    fm_photoset_free(ps);
    return NULL;
  }
  return ps;
}

int fm_photoset_folder(const fm_photoset *ps, const char *name) {
  for (int f = 0; name && f < ps->nfolders; f++)
    if (!strcmp(ps->folder_name[f], name)) return f;
  return -1;
}

int fm_photoset_folders(const fm_photoset *ps) { return ps->nfolders; }
const char *fm_photoset_folder_name(const fm_photoset *ps, int f) {
  return f >= 0 && f < ps->nfolders ? ps->folder_name[f] : NULL;
}
int fm_photoset_folder_allowed(const fm_photoset *ps, int f) {
  return f >= 0 && f < ps->nfolders ? ps->folder_allowed[f] : -1;
}
int fm_photoset_count(const fm_photoset *ps) { return ps->count; }
const uint8_t *fm_photoset_inputs(const fm_photoset *ps) { return ps->inputs; }
int fm_photoset_allowed(const fm_photoset *ps, int i) {
  return i >= 0 && i < ps->count ? ps->allowed[i] : -1;
}
int fm_photoset_folder_of(const fm_photoset *ps, int i) {
  return i >= 0 && i < ps->count ? ps->folder[i] : -2;
}

/* Appends one input and its nr extra renders (nr x side^2 bytes); folder -1 =
 * a photo labelled on its own (a correction). */
static int append(fm_photoset *ps, const uint8_t *input, int allowed, int folder, const uint8_t *renders,
                  int nr) {
  if (ps->count == ps->cap) {
    int cap = ps->cap ? 2 * ps->cap : 256;
    uint8_t *in = realloc(ps->inputs, (size_t)cap * px(ps));
    if (in) ps->inputs = in;
    uint16_t *al = realloc(ps->allowed, (size_t)cap * sizeof *al);
    if (al) ps->allowed = al;
    int16_t *fo = realloc(ps->folder, (size_t)cap * sizeof *fo);
    if (fo) ps->folder = fo;
    int32_t *fr = realloc(ps->first_render, (size_t)cap * sizeof *fr);
    if (fr) ps->first_render = fr;
    uint8_t *nre = realloc(ps->nrenders, (size_t)cap);
    if (nre) ps->nrenders = nre;
    if (!in || !al || !fo || !fr || !nre) return fm_fail("out of memory for %d photos", cap), -1;
    ps->cap = cap;
  }
  if (ps->render_count + nr > ps->render_cap) {
    int cap = FM_MAX(2 * ps->render_cap, ps->render_count + nr + 256);
    uint8_t *r = realloc(ps->renders, (size_t)cap * px(ps));
    if (!r) return fm_fail("out of memory for %d photo renders", cap), -1;
    ps->renders = r, ps->render_cap = cap;
  }
  if (nr) memcpy(ps->renders + (size_t)ps->render_count * px(ps), renders, (size_t)nr * px(ps));
  ps->first_render[ps->count] = ps->render_count;
  ps->nrenders[ps->count] = (uint8_t)nr;
  ps->render_count += nr;
  memcpy(ps->inputs + (size_t)ps->count * px(ps), input, px(ps));
  ps->allowed[ps->count] = (uint16_t)allowed;
  ps->folder[ps->count] = (int16_t)folder;
  return ps->count++;
}

static int folder_or_fail(const fm_photoset *ps, const char *folder) {
  int f = fm_photoset_folder(ps, folder);
  if (f < 0) {
    char known[256] = "";
    for (int k = 0; k < ps->nfolders && strlen(known) < 200; k++)
      strcat(strcat(known, k ? ", " : ""), ps->folder_name[k]);
    fm_fail("folder '%.60s' is not in the photo mapping (it knows %s)", folder ? folder : "(null)", known);
  }
  return f;
}

int fm_photoset_add_input(fm_photoset *ps, const char *folder, const uint8_t *input) {
  if (!ps || !input) return fm_fail("photo set and input are required"), -1;
  int f = folder_or_fail(ps, folder);
  return f < 0 ? -1 : append(ps, input, ps->folder_allowed[f], f, NULL, 0);
}

int fm_photoset_add_renders(fm_photoset *ps, const char *folder, const uint8_t *inputs, int n) {
  if (!ps || !inputs) return fm_fail("photo set and inputs are required"), -1;
  if (n < 1 || n > 1 + FM_PHOTO_MAX_JITTERS)
    return fm_fail("a photo has 1..%d renders, not %d", 1 + FM_PHOTO_MAX_JITTERS, n), -1;
  int f = folder_or_fail(ps, folder);
  return f < 0 ? -1 : append(ps, inputs, ps->folder_allowed[f], f, inputs + px(ps), n - 1);
}

int fm_photoset_set_jitters(fm_photoset *ps, int n) {
  if (!ps) return fm_fail("no photo set");
  if (n < 0 || n > FM_PHOTO_MAX_JITTERS)
    return fm_fail("jittered renders per photo must be 0..%d, not %d", FM_PHOTO_MAX_JITTERS, n);
  ps->jitters = n;
  return 1;
}

int fm_photoset_renders(const fm_photoset *ps) { return ps ? ps->count + ps->render_count : 0; }

int fm_photoset_set_side(fm_photoset *ps, int side) {
  if (!ps) return fm_fail("no photo set");
  if (side < FM_PHOTO_SIDE_MIN || side > FM_PHOTO_SIDE_MAX)
    return fm_fail("a photo's render side must be %d to %d pixels, not %d", FM_PHOTO_SIDE_MIN,
                   FM_PHOTO_SIDE_MAX, side);
  if (ps->count && side != ps->side)
    return fm_fail("the set already holds %dx%d renders: set the side before adding photos", ps->side, ps->side);
  ps->side = side;
  return 1;
}

int fm_photoset_side(const fm_photoset *ps) { return ps ? ps->side : 0; }

int fm_photoset_add_labeled(fm_photoset *ps, const uint8_t *input, int allowed) {
  if (!ps || !input) return fm_fail("photo set and input are required"), -1;
  if (allowed < 0 || allowed >= 1 << FM_NUM_CLASSES)
    return fm_fail("allowed classes must be a mask of bits 0..9 (0 = none of the ten), not %d", allowed), -1;
  return append(ps, input, allowed, -1, NULL, 0);
}

int fm_photoset_add(fm_photoset *ps, const char *folder, const uint8_t *bytes, size_t len) {
  if (!ps) return fm_fail("no photo set"), -1;
  int f = folder_or_fail(ps, folder);
  if (f < 0) return -1;
  uint8_t *rgba = NULL, *inputs = fm_malloc((size_t)(1 + ps->jitters) * px(ps));
  int w, h;
  if (!inputs || !fm_image_decode_rgba(bytes, len, &rgba, &w, &h)) return fm_free(inputs), -1;
  int ok = fm_photo_renders(rgba, w, h, ps->side, 1 + ps->jitters, inputs);
  fm_free(rgba);
  int i = ok ? append(ps, inputs, ps->folder_allowed[f], f, inputs + px(ps), ps->jitters) : -1;
  fm_free(inputs);
  return i;
}

/* Folds are stratified: the k-th photo of each folder, in the order they were
 * added, is in fold k % folds. Callers add files in sorted name order, so a
 * fold is the same on every machine. */
fm_photoset *fm_photoset_split(const fm_photoset *ps, int fold, int folds, int held_out) {
  if (!ps || folds < 2 || fold < 0 || fold >= folds)
    return fm_fail("fold %d of %d does not exist (folds are numbered 0..%d, at least 2)", fold, folds,
                   folds - 1), NULL;
  fm_photoset *out = fm_calloc(1, sizeof *out);
  if (!out) return NULL;
  out->jitters = ps->jitters;
  out->side = ps->side;
  for (int f = 0; f < ps->nfolders; f++) {
    if (!(out->folder_name[f] = fm_malloc(strlen(ps->folder_name[f]) + 1))) return fm_photoset_free(out), NULL;
    strcpy(out->folder_name[f], ps->folder_name[f]);
    out->folder_allowed[f] = ps->folder_allowed[f];
    out->nfolders++;
  }
  int seen[FM_PHOTO_MAX_FOLDERS + 1] = {0};
  for (int i = 0; i < ps->count; i++) {
    int f = ps->folder[i], k = seen[f + 1]++;
    if ((k % folds == fold) == !!held_out &&
        append(out, ps->inputs + (size_t)i * px(ps), ps->allowed[i], f,
               ps->renders + (size_t)ps->first_render[i] * px(ps), ps->nrenders[i]) < 0)
      return fm_photoset_free(out), NULL;
  }
  return out;
}
