# cmake -DRDPBRIDGE=BIN -DVERSION=V -DOUT=FILE -P help.cmake
# Writes `rdpbridge --help` and the --help of every command and sub-command into one text file,
# installed as /usr/share/doc/rdpbridge/help.txt: the CLI's manual, read with `less`. Commands
# are taken from each help's "Subcommands:" list rather than from a list here, so a new command
# cannot be left out.
cmake_minimum_required(VERSION 3.25)

set(text "rdpbridge ${VERSION}: `rdpbridge --help` and every command's --help.\n")
# "-" stands for the top level; a command path is its words joined by "/" (";" would split it).
set(queue "-")
while(queue)
  list(POP_FRONT queue path)
  if(path STREQUAL "-")
    set(args "")
  else()
    string(REPLACE "/" ";" args "${path}")
  endif()
  execute_process(COMMAND "${RDPBRIDGE}" ${args} --help
                  OUTPUT_VARIABLE help ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rdpbridge ${args} --help exited ${rc}: ${err}")
  endif()
  string(REPLACE ";" " " shown "${args}")
  string(STRIP "rdpbridge ${shown} --help" title)
  string(REGEX REPLACE "  +" " " title "${title}")
  string(REGEX REPLACE "." "=" rule "${title}")
  string(APPEND text "\n${title}\n${rule}\n\n${help}")
  # CLI11 lists sub-commands as "  NAME   description" lines under "Subcommands:" until a blank.
  if(help MATCHES "\nSubcommands:\n(([^\n]+\n)*)")
    string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
    foreach(line IN LISTS lines)
      if(line MATCHES "^  ([a-z][a-z0-9-]*)( |$)")
        if(path STREQUAL "-")
          list(APPEND queue "${CMAKE_MATCH_1}")
        else()
          list(APPEND queue "${path}/${CMAKE_MATCH_1}")
        endif()
      endif()
    endforeach()
  endif()
endwhile()
file(WRITE "${OUT}" "${text}")
