# Runs COMMAND (a ;-list) and passes when it exits with an error code (not a signal) and its
# output matches EXPECT: a wrong command line must fail cleanly, with a message that says why.
#   cmake -DCOMMAND="prog;arg;..." -DEXPECT="regex" -P expect_failure.cmake
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0 OR rc GREATER 127)
  message(FATAL_ERROR "expected a clean failure, got exit '${rc}'\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match '${EXPECT}'\nstdout:\n${out}\nstderr:\n${err}")
endif()
