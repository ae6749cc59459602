/* photoset.h: the photo set object (internal view). */
#ifndef FM_PHOTOSET_H
#define FM_PHOTOSET_H

#include "fmnist.h"

struct fm_photoset {
  int count, cap;
  uint8_t *inputs;   /* count x 784: the photo pipeline's 28x28 inputs */
  uint16_t *allowed; /* per photo: bit c = class c allowed; 0 = none of the ten */
  int16_t *folder;   /* per photo: its folder, -1 when labelled on its own */
  int nfolders;
  char *folder_name[FM_PHOTO_MAX_FOLDERS];
  uint16_t folder_allowed[FM_PHOTO_MAX_FOLDERS];
};

#endif
