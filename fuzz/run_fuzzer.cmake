# Runs one libFuzzer target for a bounded number of inputs, for ctest:
#   cmake -DFUZZER=path -DSEEDS=dir -DSCRATCH=dir -DRUNS=n -P run_fuzzer.cmake
# The seeds are copied into SCRATCH (emptied first) and the fuzzer works on
# that copy, so the inputs it adds never land in the repository's corpus. A
# crash input goes to SCRATCH/../crash-* (libFuzzer's artifact prefix).
foreach(var FUZZER SEEDS SCRATCH RUNS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")
file(GLOB seeds "${SEEDS}/*")
file(COPY ${seeds} DESTINATION "${SCRATCH}")
get_filename_component(name "${FUZZER}" NAME)
get_filename_component(artifacts "${SCRATCH}" DIRECTORY)

execute_process(
  COMMAND "${FUZZER}" -runs=${RUNS} -seed=1 -print_final_stats=1
          "-artifact_prefix=${artifacts}/crash-${name}-" "${SCRATCH}"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${name} failed (${result}); the input that crashed it "
                      "is in ${artifacts}/crash-${name}-*")
endif()
