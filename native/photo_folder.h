/* photo_folder.h: a folder of class folders (DIR/t-shirt/a.jpg, ...) read
 * into a photo set for the native trainer (header-only, like read_file.h).
 * Files are taken in sorted order, so cross-validation folds are the same on
 * every machine; photos are decoded and run through the photo pipeline on
 * every thread at once, then added in that order. A file that is not a
 * readable image, a folder the mapping does not know and an empty folder are
 * each reported on stderr by name and left out; no photo at all is an error. */
#ifndef FM_NATIVE_PHOTO_FOLDER_H
#define FM_NATIVE_PHOTO_FOLDER_H

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fmnist.h"
#include "read_file.h"

typedef struct {
  char **path;
  int *folder;
  uint8_t *inputs; /* per file: its `renders` inputs, the plain one first */
  int renders, side;
  char **error; /* per file: why it was left out, NULL when fine */
  int n, next;
  pthread_mutex_t lock;
} photo_jobs;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entry names of dir (malloc'd), the count in *n; NULL if unreadable. */
static char **list_dir(const char *dir, int *n) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = NULL;
  int cap = 0;
  *n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (*n == cap) names = realloc(names, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *names);
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)*n, sizeof *names, cmp_str);
  return names;
}

static void *photo_worker(void *arg) {
  photo_jobs *J = arg;
  for (;;) {
    pthread_mutex_lock(&J->lock);
    int i = J->next++;
    pthread_mutex_unlock(&J->lock);
    if (i >= J->n) return NULL;
    size_t len;
    uint8_t *bytes = read_file(J->path[i], &len), *rgba = NULL;
    int w, h;
    if (!bytes) J->error[i] = strdup("cannot read the file");
    else {
      uint8_t *in = J->inputs + (size_t)i * J->renders * J->side * J->side;
      if (!fm_image_decode_rgba(bytes, len, &rgba, &w, &h) || !fm_photo_renders(rgba, w, h, J->side, J->renders, in))
        J->error[i] = strdup(fm_last_error());
    }
    fm_free(rgba);
    free(bytes);
  }
}

/* Reads DIR/<folder>/<file> for every folder of the mapping file; each photo
 * also gets `jitters` jittered training renders (fm_photoset_set_jitters),
 * all rendered at side x side (fm_photoset_set_side). */
static fm_photoset *load_photo_folder(const char *dir, const char *mapping_path, int threads, int jitters, int side) {
  size_t mlen;
  uint8_t *mapping = read_file(mapping_path, &mlen);
  if (!mapping) {
    fprintf(stderr, "fmnist-train: %s: cannot read the photo mapping\n", mapping_path);
    return NULL;
  }
  fm_photoset *ps = fm_photoset_create((const char *)mapping, mlen);
  free(mapping);
  if (!ps) {
    fprintf(stderr, "fmnist-train: %s: %s\n", mapping_path, fm_last_error());
    return NULL;
  }
  if (!fm_photoset_set_jitters(ps, jitters) || !fm_photoset_set_side(ps, side)) {
    fprintf(stderr, "fmnist-train: photos: %s\n", fm_last_error());
    fm_photoset_free(ps);
    return NULL;
  }
  int nfolders;
  char **folders = list_dir(dir, &nfolders);
  if (!folders) {
    fprintf(stderr, "fmnist-train: %s: cannot read the photo folder\n", dir);
    fm_photoset_free(ps);
    return NULL;
  }
  photo_jobs J = {0};
  pthread_mutex_init(&J.lock, NULL);
  for (int f = 0; f < nfolders; f++) {
    char sub[2048];
    snprintf(sub, sizeof sub, "%s/%s", dir, folders[f]);
    struct stat st;
    if (stat(sub, &st) || !S_ISDIR(st.st_mode)) {
      fprintf(stderr, "fmnist-train: %s: not a folder, left out\n", sub);
      continue;
    }
    if (fm_photoset_folder(ps, folders[f]) < 0) {
      fprintf(stderr, "fmnist-train: %s: the mapping does not list this folder, left out\n", sub);
      continue;
    }
    int nfiles;
    char **files = list_dir(sub, &nfiles);
    if (!nfiles) fprintf(stderr, "fmnist-train: %s: empty folder\n", sub);
    for (int k = 0; k < nfiles; k++) {
      J.path = realloc(J.path, (size_t)(J.n + 1) * sizeof *J.path);
      J.folder = realloc(J.folder, (size_t)(J.n + 1) * sizeof *J.folder);
      char *p = malloc(strlen(sub) + strlen(files[k]) + 2);
      sprintf(p, "%s/%s", sub, files[k]);
      J.path[J.n] = p;
      J.folder[J.n++] = f;
      free(files[k]);
    }
    free(files);
  }
  J.renders = 1 + jitters;
  J.side = side;
  J.inputs = malloc((size_t)(J.n ? J.n : 1) * J.renders * side * side);
  J.error = calloc((size_t)(J.n ? J.n : 1), sizeof *J.error);
  pthread_t tid[64];
  int nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
  for (int t = 0; t < nt; t++) pthread_create(&tid[t], NULL, photo_worker, &J);
  for (int t = 0; t < nt; t++) pthread_join(tid[t], NULL);
  int bad = 0;
  for (int i = 0; i < J.n; i++) {
    if (J.error[i]) {
      fprintf(stderr, "fmnist-train: %s: %s, left out\n", J.path[i], J.error[i]);
      bad++;
    } else if (fm_photoset_add_renders(ps, folders[J.folder[i]], J.inputs + (size_t)i * J.renders * side * side,
                                       J.renders) < 0) {
      fprintf(stderr, "fmnist-train: %s: %s\n", J.path[i], fm_last_error());
      bad++;
    }
    free(J.path[i]);
    free(J.error[i]);
  }
  for (int f = 0; f < nfolders; f++) free(folders[f]);
  free(folders);
  free(J.path), free(J.folder), free(J.inputs), free(J.error);
  pthread_mutex_destroy(&J.lock);
  if (!fm_photoset_count(ps)) {
    fprintf(stderr, "fmnist-train: %s: no photos in the folders the mapping lists\n", dir);
    fm_photoset_free(ps);
    return NULL;
  }
  fprintf(stderr, "photos: %d from %s (%d left out)", fm_photoset_count(ps), dir, bad);
  if (jitters) fprintf(stderr, ", each with %d jittered renders", jitters);
  fprintf(stderr, "\n");
  return ps;
}

#endif
