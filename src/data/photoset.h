/* photoset.h: the photo set object (internal view). */
#ifndef FM_PHOTOSET_H
#define FM_PHOTOSET_H

#include "fmnist.h"

struct fm_photoset {
  int count, cap;
  int side;          /* renders are side x side (28 unless fm_photoset_set_side) */
  uint8_t *inputs;   /* count x side^2: the photo pipeline's plain renders */
  uint16_t *allowed; /* per photo: bit c = class c allowed; 0 = none of the ten */
  int16_t *folder;   /* per photo: its folder, -1 when labelled on its own */
  /* Extra training renders (src/train/jitter_photo.c): photo i's are
   * renders[first_render[i] .. + nrenders[i]) x side^2. Training draws among
   * them; fm_net_predict_photoset averages them as a model's photo views. */
  uint8_t *renders;
  int32_t *first_render;
  uint8_t *nrenders;
  int render_count, render_cap;
  int jitters; /* renders made per photo by fm_photoset_add */
  int nfolders;
  char *folder_name[FM_PHOTO_MAX_FOLDERS];
  uint16_t folder_allowed[FM_PHOTO_MAX_FOLDERS];
};

#endif
