# Fails when a source file of a layer includes a header that layer must not
# know (docs/ARCHITECTURE.md, "Layers"). Run by ctest as
#   cmake -DSOURCE_DIR=<repo> -P tests/layering_test.cmake
# The link rules are checked when CMake configures (cmake/Layering.cmake).
set(rules
  # folder  forbidden include (regex)           why
  "domain|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|domain/ knows no gRPC"
  "domain|rocksdb/|domain/ knows no RocksDB"
  "domain|storage/|core/|rpc/|server/|domain/ depends on no other layer"
  "common|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|common/ knows no gRPC"
  "common|rocksdb/|common/ knows no RocksDB"
  "common|storage/|core/|rpc/|server/|domain/|common/ depends on no layer"
  "storage|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|storage/ knows no gRPC"
  "storage|core/|rpc/|server/|search/|storage/ does not know the layers above it"
  "search|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|search/ knows no gRPC"
  "search|rocksdb/|storage/|search/ knows no RocksDB"
  "search|core/|rpc/|server/|search/ does not know the layers above it"
  "domain|search/|sqlite3|domain/ knows no SQLite"
  "core|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|core/ knows no gRPC"
  "core|rpc/|server/|core/ does not know the layers above it"
  "rpc|server/|rpc/ does not know server/"
  "storage|etcd/|replication/|storage/ knows no etcd"
  "core|etcd/|replication/|core/ knows no etcd"
  "etcd|common/|domain/|storage/|core/|rpc/|server/|replication/|factlog/|etcd/ knows nothing of factlog"
  "replication|rpc/|server/|replication/ does not know rpc/ or server/"
  "http|grpcpp/|grpc/|.*\\.grpc\\.pb\\.h|http/ knows no gRPC"
  "http|server/|replication/|etcd/|http/ does not know server/ or replication"
  "http|rpc/[a-ln-z]|http/ uses only rpc/methods.h (the method table) of rpc/")
set(failures 0)
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 folder)
  list(POP_BACK parts why)
  list(REMOVE_AT parts 0)
  list(JOIN parts "|" pattern)
  file(GLOB files "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.cc")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^#include [<\"]")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include [<\"]([^>\"]*)[>\"].*" "\\1" header
             "${line}")
      if(header MATCHES "^(${pattern})")
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
        message(SEND_ERROR "${rel}: includes ${header}: ${why}")
        math(EXPR failures "${failures} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} include(s) break the layering")
endif()
message(STATUS "layering: every include of domain/, common/, storage/, search/, core/ and rpc/ keeps to its layer")
