# One factlog-bench smoke run (bench/CMakeLists.txt): passes when the bench
# exits 0 and printed the row of WORKLOAD. Run with
#   cmake -DBENCH=<factlog-bench> -DWORKLOAD=<name> "-DARGS=<a;b;...>" -P ...
# Everything the bench wrote is echoed, so that ctest's
# FAIL_REGULAR_EXPRESSION sees sanitizer reports in it too.
execute_process(
  COMMAND ${BENCH} --workloads ${WORKLOAD} ${ARGS}
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
message("${err}")
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "factlog-bench --workloads ${WORKLOAD} exited with ${rc}")
endif()
string(FIND "${out}" "\"workload\":\"${WORKLOAD}" row)
if(row EQUAL -1)
  message(FATAL_ERROR "factlog-bench printed no row for ${WORKLOAD}")
endif()
