/* replay.c: a main() for the fuzz targets without libFuzzer, so that every
 * input kept in fuzz/regressions/ (each one once crashed or hung a target)
 * is replayed by `make test` under AddressSanitizer + UBSan with gcc. */
#include <stdio.h>
#include <stdlib.h>

#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) return fprintf(stderr, "cannot open %s\n", argv[i]), 2;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) return fprintf(stderr, "read error %s\n", argv[i]), 2;
    fclose(f);
    LLVMFuzzerTestOneInput(b, (size_t)n);
    free(b);
    printf("ok %s\n", argv[i]);
  }
  return 0;
}
