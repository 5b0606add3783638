# Compiles C# sources with Mono's mcs and runs the program with mono against libcircumplex.so.
# cmake -DMCS=mcs -DMONO=mono -DLIBDIR=dir/of/libcircumplex.so -DOUT=dir -DNAME=prog
#       "-DSOURCES=a.cs;b.cs" "-DARGS=x;y" [-DPRELOAD=libasan.so] -P test_plugin_mono.cmake
file(MAKE_DIRECTORY "${OUT}")
execute_process(COMMAND "${MCS}" -nologo -warnaserror+ -debug "-out:${OUT}/${NAME}.exe" ${SOURCES}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mcs failed (${rc}) for ${SOURCES}")
endif()
set(ENV{LD_LIBRARY_PATH} "${LIBDIR}:$ENV{LD_LIBRARY_PATH}")
if(PRELOAD)
  # A sanitizer build: the instrumented library needs ASan's runtime loaded first.
  set(ENV{LD_PRELOAD} "${PRELOAD}")
  set(ENV{ASAN_OPTIONS} "detect_leaks=0:verify_asan_link_order=0:halt_on_error=1:handle_segv=0:allow_user_segv_handler=1")
endif()
execute_process(COMMAND "${MONO}" --debug "${OUT}/${NAME}.exe" ${ARGS} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} failed (${rc})")
endif()
