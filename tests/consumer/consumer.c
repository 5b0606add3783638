/*
 * consumer.c — a host outside the circumplex tree, built against an installed prefix
 * (find_package or pkg-config; tests/test_install.cmake). It creates a context with no
 * model_path, so the library must find share/circumplex/models/default of its own prefix,
 * drives the cursor to "happy" and reads the ARKit rig.
 *
 *   consumer EXPECTED_PREFIX      exit 0 when all of that worked and the model came from
 *                                 EXPECTED_PREFIX (a canonical path)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circumplex.h"

int main(int argc, char** argv) {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  cpx_context_info facts;
  cpx_context* ctx = NULL;
  cpx_affect p = {0.0f, 0.0f, 0.0f};
  float arkit[CPX_ARKIT_COUNT];
  int i, smile = -1;
  const char* name = NULL;
  if (argc != 2) {
    fprintf(stderr, "usage: %s EXPECTED_PREFIX\n", argv[0]);
    return 2;
  }
  printf("libcircumplex %s, API %u\n", cpx_version_string(), (unsigned)cpx_api_version());
  if (cpx_create(&info, &ctx) != CPX_OK) {
    fprintf(stderr, "cpx_create: %s\n", cpx_last_error(NULL));
    return 1;
  }
  memset(&facts, 0, sizeof facts);
  facts.struct_size = (uint32_t)sizeof facts;
  if (cpx_get_info(ctx, &facts) != CPX_OK) goto fail;
  printf("model: %s (%d-D, %d px)\n", facts.model_path, facts.dimensions, facts.model_image_size);
  if (strncmp(facts.model_path, argv[1], strlen(argv[1])) != 0) {
    fprintf(stderr, "the default model came from %s, not from the prefix %s\n", facts.model_path, argv[1]);
    cpx_destroy(ctx);
    return 1;
  }
  if (cpx_set_emotion(ctx, "happy", 1.0f) != CPX_OK) goto fail;
  for (i = 0; i < 120; ++i) {
    if (cpx_update(ctx, 1.0f / 60.0f, &p) != CPX_OK) goto fail;
  }
  if (cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, arkit, CPX_ARKIT_COUNT) != CPX_OK) goto fail;
  for (i = 0; i < CPX_ARKIT_COUNT; ++i) {
    if (cpx_output_name(CPX_OUTPUT_ARKIT, i, &name) == CPX_OK && strcmp(name, "mouthSmileLeft") == 0) smile = i;
  }
  if (smile < 0) goto fail;
  printf("cursor v=%+.3f a=%+.3f; mouthSmileLeft=%.3f\n", p.v, p.a, arkit[smile]);
  if (!(p.v > 0.3f) || !(arkit[smile] > 0.1f)) {
    fprintf(stderr, "the cursor or the rig did not follow \"happy\"\n");
    cpx_destroy(ctx);
    return 1;
  }
  cpx_destroy(ctx);
  printf("ok\n");
  return 0;
fail:
  fprintf(stderr, "failed: %s\n", cpx_last_error(ctx));
  cpx_destroy(ctx);
  return 1;
}
