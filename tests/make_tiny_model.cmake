# Makes the tiny model package the tests share: synth → train → map with the real CLI.
# cmake -DEXE=path/to/circumplex -DDIR=out/folder -P make_tiny_model.cmake
file(REMOVE_RECURSE "${DIR}")
foreach(step
    "synth;--count;320;--identities;32;--size;32;--seed;21;--out;${DIR}/data"
    "train;--data;${DIR}/data;--out;${DIR}/run;--epochs;2;--batch;16;--latent;8;--width;8;--threads;1;--seed;3"
    "map;--run;${DIR}/run;--data;${DIR}/data;--out;${DIR}/pkg;--threads;1")
  execute_process(COMMAND "${EXE}" ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "circumplex ${step} failed (${rc}):\n${out}\n${err}")
  endif()
endforeach()
message(STATUS "tiny model package ready in ${DIR}/pkg")
