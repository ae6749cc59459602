/* metrics.c: evaluation over a dataset range and the classification report
 * (precision, recall, F1, support per class, macro averages, accuracy). */
#include <string.h>

#include "../common.h"
#include "../net/net.h"

int fm_evaluate_range(fm_net *net, const fm_dataset *ds, int start, int n, int32_t *confusion,
                      uint8_t *pred) {
  enum { CHUNK = 256 };
  if (!net || !ds || !confusion) return fm_fail("evaluate: missing network, dataset or matrix"), -1;
  if (ds->rows * ds->cols != fm_net_input_size(net))
    return fm_fail("dataset images are %dx%d but the network expects %d inputs", ds->rows,
                   ds->cols, fm_net_input_size(net)),
           -1;
  if (start < 0 || n < 0 || start > ds->count || n > ds->count - start)
    return fm_fail("evaluate: range %d+%d is outside the dataset of %d images", start, n, ds->count),
           -1;
  float probs[CHUNK * FM_NUM_CLASSES];
  int in = fm_net_input_size(net);
  for (int s = 0; s < n; s += CHUNK) {
    int b = FM_MIN(CHUNK, n - s);
    if (!fm_net_predict_u8(net, ds->images + (size_t)(start + s) * in, b, probs)) return -1;
    for (int i = 0; i < b; i++) {
      const float *p = probs + i * FM_NUM_CLASSES;
      int arg = 0;
      for (int j = 1; j < FM_NUM_CLASSES; j++)
        if (p[j] > p[arg]) arg = j;
      confusion[ds->labels[start + s + i] * FM_NUM_CLASSES + arg]++;
      if (pred) pred[s + i] = (uint8_t)arg;
    }
  }
  return n;
}

void fm_report(const int32_t *confusion, float *out) {
  double macro[3] = {0, 0, 0}, total = 0, right = 0;
  for (int c = 0; c < FM_NUM_CLASSES; c++) {
    double tp = confusion[c * FM_NUM_CLASSES + c], row = 0, col = 0;
    for (int j = 0; j < FM_NUM_CLASSES; j++) {
      row += confusion[c * FM_NUM_CLASSES + j];
      col += confusion[j * FM_NUM_CLASSES + c];
    }
    /* sklearn's convention: 0 when undefined (no predictions / no support). */
    double precision = col > 0 ? tp / col : 0, recall = row > 0 ? tp / row : 0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    out[c * 4 + 0] = (float)precision;
    out[c * 4 + 1] = (float)recall;
    out[c * 4 + 2] = (float)f1;
    out[c * 4 + 3] = (float)row;
    macro[0] += precision;
    macro[1] += recall;
    macro[2] += f1;
    total += row;
    right += tp;
  }
  for (int k = 0; k < 3; k++) out[40 + k] = (float)(macro[k] / FM_NUM_CLASSES);
  out[43] = (float)total;
  out[44] = total > 0 ? (float)(right / total) : 0;
}
