/* The C ABI from plain C99 (built with -std=c99 -Wall -Wextra -Werror -pedantic): the
 * header compiles as C, its init macros work, and a short circle walk on the model package
 * given as argv[1] gives weights in [0, 1]; misuse gives result codes.
 * Exit status 0 when every check passes. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "circumplex.h"

static int failures = 0;

#define EXPECT(cond)                                              \
  do {                                                            \
    if (!(cond)) {                                                \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                 \
    }                                                             \
  } while (0)

int main(int argc, char** argv) {
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  cpx_create_info filled;
  cpx_osc_info osc = CPX_OSC_INFO_INIT;
  cpx_context* ctx = NULL;
  cpx_context_info ci;
  cpx_state state;
  cpx_affect p;
  float arkit[CPX_ARKIT_COUNT];
  float small[4];
  const char* name = NULL;
  int32_t count = 0;
  int i, k;

  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 2;
  }
  EXPECT(info.struct_size == sizeof(cpx_create_info));
  EXPECT(osc.struct_size == sizeof(cpx_osc_info));
  /* cpx_create_info_init writes API 3's fields only (an older host's struct is never
     overrun): struct_size says so, and the bytes after stay as they were. */
  memset(&filled, 0xAB, sizeof filled);
  EXPECT(cpx_create_info_init(&filled) == CPX_OK);
  EXPECT(filled.struct_size == offsetof(cpx_create_info, device));
  EXPECT(memcmp((const char*)&filled + sizeof filled.struct_size, (const char*)&info + sizeof info.struct_size,
                offsetof(cpx_create_info, device) - sizeof info.struct_size) == 0);
  EXPECT(((const unsigned char*)&filled)[offsetof(cpx_create_info, device)] == 0xAB);
  EXPECT(cpx_version() == CPX_VERSION);
  EXPECT(cpx_api_version() >= CPX_API_VERSION);
  EXPECT(strcmp(cpx_result_name(CPX_ERROR_BUFFER_TOO_SMALL), "CPX_ERROR_BUFFER_TOO_SMALL") == 0);
  EXPECT(cpx_output_count(CPX_OUTPUT_ARKIT, &count) == CPX_OK && count == CPX_ARKIT_COUNT);
  EXPECT(cpx_output_name(CPX_OUTPUT_VRM, 0, &name) == CPX_OK && strcmp(name, "happy") == 0);

  /* A failed create, and calls after it. */
  info.model_path = "/nonexistent";
  EXPECT(cpx_create(&info, &ctx) == CPX_ERROR_MODEL);
  EXPECT(ctx == NULL);
  EXPECT(strlen(cpx_last_error(NULL)) > 0);
  EXPECT(cpx_update(ctx, 0.016f, &p) == CPX_ERROR_INVALID_HANDLE);
  cpx_destroy(ctx);

  info.model_path = argv[1];
  info.flags = CPX_CREATE_RIG_ONLY;
  if (cpx_create(&info, &ctx) != CPX_OK) {
    fprintf(stderr, "cpx_create: %s\n", cpx_last_error(NULL));
    return 1;
  }
  ci.struct_size = sizeof ci;
  EXPECT(cpx_get_info(ctx, &ci) == CPX_OK);
  EXPECT(ci.rig_only == 1 && (ci.dimensions == 2 || ci.dimensions == 3));
  EXPECT(cpx_play_circle_walk(ctx, 0.0f, 0.0f, 0.8f, 2.0f) == CPX_OK);
  for (i = 0; i < 240; ++i) {
    EXPECT(cpx_update(ctx, 1.0f / 60.0f, &p) == CPX_OK);
    EXPECT(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, arkit, CPX_ARKIT_COUNT) == CPX_OK);
    for (k = 0; k < CPX_ARKIT_COUNT; ++k) EXPECT(arkit[k] >= 0.0f && arkit[k] <= 1.0f);
  }
  EXPECT(fabsf(sqrtf(p.v * p.v + p.a * p.a) - 0.8f) < 0.05f);
  state.struct_size = sizeof state;
  EXPECT(cpx_get_state(ctx, &state) == CPX_OK && state.update_count == 240);
  EXPECT(cpx_nearest_emotion(ctx, &name) == CPX_OK && name != NULL);

  /* Misuse. */
  EXPECT(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, small, 4) == CPX_ERROR_BUFFER_TOO_SMALL);
  EXPECT(strstr(cpx_last_error(ctx), "too small") != NULL);
  EXPECT(cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, NULL, 52) == CPX_ERROR_NULL_POINTER);
  EXPECT(cpx_set_target(ctx, (float)NAN, 0.0f, 0.0f) == CPX_ERROR_INVALID_ARGUMENT);
  EXPECT(cpx_update(ctx, (float)INFINITY, NULL) == CPX_ERROR_INVALID_ARGUMENT);
  EXPECT(cpx_set_emotion(ctx, "not-an-emotion", 1.0f) == CPX_ERROR_UNKNOWN_NAME);
  EXPECT(cpx_poll_frame(ctx, 0, &count, NULL) == CPX_ERROR_NOT_SUPPORTED);
  cpx_destroy(ctx);
  cpx_destroy(NULL);

  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("C99 host: all checks passed\n");
  return failures ? 1 : 0;
}
