/* float16.h: binary16 conversions for F16 model files (float16.c). */
#ifndef FM_FLOAT16_H
#define FM_FLOAT16_H

#include <stdint.h>

float fm_f16_to_f32(uint16_t h);
uint16_t fm_f32_to_f16(float f);

#endif
