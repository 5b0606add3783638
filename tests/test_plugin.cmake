# The plugin's tests that are not doctest suites (the doctest ones are declared with
# circumplex_test in CMakeLists.txt): a C99 host, the exported symbols, the C example, the
# Python and C# bindings and the Unity sample against stubs. Included by CMakeLists.txt.
set(plugin_model ${CIRCUMPLEX_TINY_MODEL}/pkg)
set(plugin_lib $<TARGET_FILE:circumplex_plugin>)

# In the ASan+UBSan build the library is instrumented, and python3 and mono are not: their
# tests preload ASan's runtime and leave the interpreters' own leaks unchecked.
set(plugin_preload "")
set(plugin_script_env "")
if(CIRCUMPLEX_SANITIZE)
  # libstdc++ too: ASan's __cxa_throw interceptor must find it loaded when ASan starts.
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE plugin_asan
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so OUTPUT_VARIABLE plugin_stdcxx
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(plugin_preload "${plugin_asan}:${plugin_stdcxx}")
  set(plugin_script_env "LD_PRELOAD=${plugin_preload}" "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1")
endif()

# The header as C99 with every warning an error, and a short circle walk.
add_executable(test_plugin_c99 test_plugin_c99.c)
set_target_properties(test_plugin_c99 PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(test_plugin_c99 PRIVATE -std=c99 -Wall -Wextra -Werror -pedantic)
target_link_libraries(test_plugin_c99 PRIVATE circumplex_plugin m)
add_test(NAME test_plugin_c99 COMMAND test_plugin_c99 ${plugin_model})

# The example in circumplex.h's banner compiles as C99 and runs (from a folder whose
# assets/models/default is the tiny model, the path the example names).
set(plugin_header ${PROJECT_SOURCE_DIR}/plugin/include/circumplex.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${plugin_header})
file(READ ${plugin_header} plugin_banner)
string(REGEX MATCH "#include <stdio.h>.*return 0;\n \\*   }" plugin_banner "${plugin_banner}")
string(REPLACE "\n *   " "\n" plugin_banner "${plugin_banner}")
string(REPLACE "\n *\n" "\n\n" plugin_banner "${plugin_banner}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/plugin_banner.c.new "/* Generated from the banner of plugin/include/circumplex.h. */\n${plugin_banner}\n")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/plugin_banner.c.new ${CMAKE_CURRENT_BINARY_DIR}/plugin_banner.c COPYONLY)  # only when changed
add_executable(test_plugin_banner ${CMAKE_CURRENT_BINARY_DIR}/plugin_banner.c)
set_target_properties(test_plugin_banner PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(test_plugin_banner PRIVATE -std=c99 -Wall -Wextra -Werror -pedantic)
target_link_libraries(test_plugin_banner PRIVATE circumplex_plugin)
set(banner_dir ${PROJECT_BINARY_DIR}/test-output/plugin/banner)
add_test(NAME test_plugin_banner
         COMMAND sh -c "mkdir -p '${banner_dir}/assets/models' && ln -sfn '${plugin_model}' '${banner_dir}/assets/models/default' && cd '${banner_dir}' && exec '$<TARGET_FILE:test_plugin_banner>'")

# Only cpx_ symbols leave libcircumplex.so, exactly the header's functions.
add_test(NAME test_plugin_symbols
         COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=${plugin_lib} -DHEADER=${PROJECT_SOURCE_DIR}/plugin/include/circumplex.h
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_symbols.cmake)

# The C example host: one second of the 60 Hz circle walk.
add_test(NAME test_plugin_example_c COMMAND cpx_example_circle_walk ${plugin_model} 1)

# Python (ctypes) bindings and their example.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME test_plugin_python
           COMMAND ${CMAKE_COMMAND} -E env ${plugin_script_env} ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_python.py
                   ${plugin_lib} ${plugin_model} ${PROJECT_SOURCE_DIR}/plugin/bindings/python)
else()
  add_test(NAME test_plugin_python COMMAND sh -c "echo 'skipped: python3 not found (tools/setup.sh installs it)'; exit 77")
  set_tests_properties(test_plugin_python PROPERTIES SKIP_RETURN_CODE 77)
endif()
# A second OSC implementation: Debian's pyliblo (python3-liblo, for Debian's /usr/bin/python3)
# receives the VMC bundle and VRChat's budget parameters; skipped (77) where it is missing.
add_test(NAME test_plugin_vmc_python
         COMMAND ${CMAKE_COMMAND} -E env ${plugin_script_env} /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_vmc_python.py
                 ${plugin_lib} ${plugin_model} ${PROJECT_SOURCE_DIR}/plugin/bindings/python)
set_tests_properties(test_plugin_vmc_python PROPERTIES SKIP_RETURN_CODE 77)
# Weights in safetensors, from Python: numpy reads the tiny model's weights, PyTorch rebuilds
# the decoder, and circumplex draws with weights the script wrote (Debian's python3 has
# python3-numpy and python3-torch; skipped, 77, without them).
add_test(NAME test_weights_python
         COMMAND ${CMAKE_COMMAND} -E env ${plugin_script_env} /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_weights_python.py
                 ${plugin_lib} ${plugin_model} ${PROJECT_SOURCE_DIR}/plugin/bindings/python ${PROJECT_BINARY_DIR}/test-output)
set_tests_properties(test_weights_python PROPERTIES SKIP_RETURN_CODE 77)

# C# bindings, and the Unity sample against stubs of the Unity types, under Mono.
find_program(CIRCUMPLEX_MCS mcs)
find_program(CIRCUMPLEX_MONO mono)
set(csharp ${PROJECT_SOURCE_DIR}/plugin/bindings/csharp)
foreach(t IN ITEMS csharp unity)
  set(sources ${csharp}/Circumplex.cs ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_${t}.cs)
  if(t STREQUAL "unity")
    list(APPEND sources ${csharp}/Unity/CircumplexFace.cs ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_unity_stubs.cs)
  endif()
  if(CIRCUMPLEX_MCS AND CIRCUMPLEX_MONO)
    add_test(NAME test_plugin_${t}
             COMMAND ${CMAKE_COMMAND} -DMCS=${CIRCUMPLEX_MCS} -DMONO=${CIRCUMPLEX_MONO} -DLIBDIR=$<TARGET_FILE_DIR:circumplex_plugin>
                     -DOUT=${PROJECT_BINARY_DIR}/test-output/plugin/mono -DNAME=test_plugin_${t} "-DSOURCES=${sources}"
                     -DARGS=${plugin_model} -DPRELOAD=${plugin_preload} -P ${CMAKE_CURRENT_SOURCE_DIR}/test_plugin_mono.cmake)
  else()
    add_test(NAME test_plugin_${t} COMMAND sh -c "echo 'skipped: mono-mcs/mono-runtime not installed (tools/setup.sh installs them)'; exit 77")
    set_tests_properties(test_plugin_${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()

set_tests_properties(test_plugin_c99 test_plugin_banner test_plugin_example_c test_plugin_python test_plugin_vmc_python test_weights_python
                     test_plugin_csharp test_plugin_unity
                     PROPERTIES FIXTURES_REQUIRED tiny_model TIMEOUT 600)
