/*
 * circle_walk.c — a minimal C host for libcircumplex: plays C2A2's circle walk at 60 Hz in
 * real time and prints the cursor, the nearest emotion and the strongest ARKit weights, then
 * all 52 weights of the last update.
 *
 *   cpx_example_circle_walk [MODEL_DIR] [SECONDS]
 *
 * MODEL_DIR: a model package folder ("-" or absent: the shipped default). SECONDS: how long
 * to run (default 4, one turn of the walk). Exit status 0 on success, 1 on any error.
 */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "circumplex.h"

/* Prints the failing call and the context's message, and says whether it failed. */
static int failed(cpx_context* ctx, cpx_result r, const char* what) {
  if (r == CPX_OK) return 0;
  fprintf(stderr, "%s failed: %s: %s\n", what, cpx_result_name(r), cpx_last_error(ctx));
  return 1;
}

int main(int argc, char** argv) {
  const char* model = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
  const double seconds = argc > 2 ? atof(argv[2]) : 4.0;
  const float dt = 1.0f / 60.0f;
  const int updates = (int)(seconds * 60.0 + 0.5);
  cpx_create_info info = CPX_CREATE_INFO_INIT;
  cpx_context* ctx = NULL;
  float arkit[CPX_ARKIT_COUNT];
  cpx_affect p = {0.0f, 0.0f, 0.0f};
  const char* emotion = "";
  const char* name = "";
  struct timespec tick;
  int i, k;

  if (argc > 3 || seconds <= 0.0 || seconds > 3600.0) {
    fprintf(stderr, "usage: %s [MODEL_DIR|-] [SECONDS]\n", argv[0]);
    return 1;
  }
  printf("libcircumplex %s (API %u; header %d.%d.%d)\n", cpx_version_string(), (unsigned)cpx_api_version(),
         CPX_VERSION_MAJOR, CPX_VERSION_MINOR, CPX_VERSION_PATCH);
  if (cpx_api_version() < CPX_API_VERSION) {
    fprintf(stderr, "the library is older than this header\n");
    return 1;
  }

  info.model_path = model;
  info.flags = CPX_CREATE_RIG_ONLY; /* this host shows no face, so it needs no generator */
  if (failed(NULL, cpx_create(&info, &ctx), "cpx_create")) return 1;
  if (failed(ctx, cpx_play_circle_walk(ctx, 0.0f, 0.0f, 0.8f, 4.0f), "cpx_play_circle_walk")) goto fail;

  clock_gettime(CLOCK_MONOTONIC, &tick);
  for (i = 1; i <= updates; ++i) {
    int best = 0;
    if (failed(ctx, cpx_update(ctx, dt, &p), "cpx_update")) goto fail;
    if (failed(ctx, cpx_get_outputs(ctx, CPX_OUTPUT_ARKIT, arkit, CPX_ARKIT_COUNT), "cpx_get_outputs")) goto fail;
    if (failed(ctx, cpx_nearest_emotion(ctx, &emotion), "cpx_nearest_emotion")) goto fail;
    for (k = 1; k < CPX_ARKIT_COUNT; ++k) {
      if (arkit[k] > arkit[best]) best = k;
    }
    if (i % 10 == 0) {
      cpx_output_name(CPX_OUTPUT_ARKIT, best, &name);
      printf("t=%5.2f s  v=%+.3f a=%+.3f  %-20s strongest %s=%.3f\n", i * dt, p.v, p.a, emotion, name, arkit[best]);
    }
    /* Sleep to the next 1/60 s tick (absolute time, so the rate does not drift). */
    tick.tv_nsec += 16666667L;
    if (tick.tv_nsec >= 1000000000L) {
      tick.tv_nsec -= 1000000000L;
      tick.tv_sec += 1;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
  }

  printf("ARKit weights after %d updates:\n", updates);
  for (k = 0; k < CPX_ARKIT_COUNT; ++k) {
    cpx_output_name(CPX_OUTPUT_ARKIT, k, &name);
    printf("  %-18s %.4f\n", name, arkit[k]);
  }
  cpx_destroy(ctx);
  return 0;

fail:
  cpx_destroy(ctx);
  return 1;
}
