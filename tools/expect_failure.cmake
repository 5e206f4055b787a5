# Runs COMMAND (a ;-list) and passes when it exits with an error code (not a signal) and its
# output matches EXPECT: a wrong command line must fail cleanly, with a message that says why.
# With WORKDIR, the command runs in that folder (emptied first), which must still be empty after:
# a rejected command line leaves no files behind. With UNEXPECT, the output must not match it
# (what the command would print had it started its work).
#   cmake -DCOMMAND="prog;arg;..." -DEXPECT="regex" [-DUNEXPECT="regex"] [-DWORKDIR=path] -P expect_failure.cmake
set(dir_args)
if(WORKDIR)
  file(REMOVE_RECURSE "${WORKDIR}")
  file(MAKE_DIRECTORY "${WORKDIR}")
  set(dir_args WORKING_DIRECTORY "${WORKDIR}")
endif()
execute_process(COMMAND ${COMMAND} ${dir_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0 OR rc GREATER 127)
  message(FATAL_ERROR "expected a clean failure, got exit '${rc}'\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match '${EXPECT}'\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(UNEXPECT AND "${out}${err}" MATCHES "${UNEXPECT}")
  message(FATAL_ERROR "output matches '${UNEXPECT}': the command ran before it failed\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(WORKDIR)
  file(GLOB left "${WORKDIR}/*")
  if(left)
    message(FATAL_ERROR "a rejected command line left files behind: ${left}")
  endif()
endif()
