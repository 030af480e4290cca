# The layers' dependency rules (docs/ARCHITECTURE.md, "Layers"), checked
# where CMake can see them: the libraries each layer links, followed
# through every library it links in turn. A library that reaches a
# forbidden one fails the configure step, naming the path to it. The
# include rules are checked by the layering_test ctest entry
# (tests/layering_test.cmake).

# Appends to `out_var` each library `target` links, directly or through
# other targets of this project, as "a -> b -> c" paths.
function(_factlog_link_closure target path out_var)
  set(result ${${out_var}})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(libs ${target} LINK_LIBRARIES)
  endif()
  if(NOT libs)
    return()
  endif()
  foreach(lib IN LISTS libs)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
    list(APPEND result "${path} -> ${lib}")
    if(TARGET ${lib} AND lib MATCHES "^factlog_")
      _factlog_link_closure(${lib} "${path} -> ${lib}" result)
    endif()
  endforeach()
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

# factlog_forbid_links(TARGET PATTERN WHY): fails when TARGET reaches a
# library whose name matches PATTERN.
function(factlog_forbid_links target pattern why)
  set(paths "")
  _factlog_link_closure(${target} ${target} paths)
  foreach(path IN LISTS paths)
    string(REGEX REPLACE ".* -> " "" last "${path}")
    if(last MATCHES "${pattern}")
      message(FATAL_ERROR "layering: ${path}: ${why}")
    endif()
  endforeach()
endfunction()

set(_grpc "^gRPC::|^factlog_grpc$|^factlog_rpc$|^factlog_server$|^grpc")
set(_rocksdb "^RocksDB::|^factlog_storage$")
factlog_forbid_links(factlog_domain "${_grpc}" "domain/ knows no gRPC")
factlog_forbid_links(factlog_domain "${_rocksdb}" "domain/ knows no RocksDB")
factlog_forbid_links(factlog_common "${_grpc}" "common/ knows no gRPC")
factlog_forbid_links(factlog_common "${_rocksdb}" "common/ knows no RocksDB")
factlog_forbid_links(factlog_storage "${_grpc}" "storage/ knows no gRPC")
factlog_forbid_links(factlog_core "${_grpc}" "core/ knows no gRPC")
factlog_forbid_links(factlog_search "${_grpc}" "search/ knows no gRPC")
factlog_forbid_links(factlog_search "${_rocksdb}" "search/ knows no RocksDB")
factlog_forbid_links(factlog_search "^factlog_core$"
  "search/ does not know the layers above it")
factlog_forbid_links(factlog_storage "^factlog_search$|^SQLite::"
  "storage/ knows nothing of the search index")
factlog_forbid_links(factlog_messages "${_grpc}" "the messages know no gRPC")
factlog_forbid_links(factlog_core "^factlog_etcd$|^factlog_replication$"
  "core/ knows no etcd: the replicated mode plugs in behind core::CommitLog")
factlog_forbid_links(factlog_storage "^factlog_etcd$|^factlog_replication$"
  "storage/ knows no etcd")
factlog_forbid_links(factlog_etcd "^factlog_"
  "etcd/ is a client of etcd only and knows nothing of factlog")
factlog_forbid_links(factlog_replication "^factlog_rpc$|^factlog_server$"
  "replication/ plugs in behind core::CommitLog and knows no rpc/ or server/")
factlog_forbid_links(factlog_http "${_grpc}"
  "http/ knows no gRPC: it sits beside rpc/ over core/")
factlog_forbid_links(factlog_rpc_methods "${_grpc}"
  "the method table knows no gRPC: http/ uses it too")
