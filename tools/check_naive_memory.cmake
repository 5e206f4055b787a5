# Runs a small prefill benchmark (COMMAND, a ;-list writing JSON to JSON) and checks that every
# case's naive peak memory holds at least its fp32 score matrix: the measurement must see the
# memory an op needs in every case, not only in the first (freed memory kept by attnn's storage
# cache or the heap would otherwise be reused without growing the resident set).
#   cmake -DCOMMAND="attnn;bench;attention;...;--json;out.json" -DJSON=out.json -P check_naive_memory.cmake
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the benchmark failed (${rc})\n${out}\n${err}")
endif()
file(READ "${JSON}" json)
string(JSON cases LENGTH "${json}" prefill)
if(cases LESS 2)
  message(FATAL_ERROR "expected at least two prefill cases, got ${cases}")
endif()
math(EXPR last "${cases} - 1")
foreach(i RANGE ${last})
  string(JSON seq GET "${json}" prefill ${i} seq)
  string(JSON batch GET "${json}" prefill ${i} batch)
  string(JSON heads GET "${json}" prefill ${i} heads)
  string(JSON naive ERROR_VARIABLE missing GET "${json}" prefill ${i} naive_peak_bytes)
  if(missing)
    message(FATAL_ERROR "case ${i} (seq ${seq}) has no naive_peak_bytes")
  endif()
  math(EXPR scores "4 * ${batch} * ${heads} * ${seq} * ${seq}")
  if(naive LESS scores)
    message(FATAL_ERROR "case ${i} (seq ${seq}): naive peak ${naive} bytes is below its ${scores}-byte scores")
  endif()
  message(STATUS "case ${i}: seq ${seq}, naive peak ${naive} bytes >= scores ${scores}")
endforeach()
