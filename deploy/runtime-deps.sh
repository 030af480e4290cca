#!/usr/bin/env bash
# The Debian packages that provide the shared libraries some binaries load.
#
#   deploy/runtime-deps.sh BINARY...
#       prints one package name per line (from ldd and dpkg -S)
#   deploy/runtime-deps.sh --check deploy/runtime-packages.txt BINARY...
#       exits 1 naming every needed package the list lacks, and every
#       library no package provides or ldd cannot find
#
# Needs ldd and dpkg, i.e. a Debian system with the build's libraries
# installed (the build stage of deploy/Dockerfile, or a developer machine).
set -euo pipefail

list=
if [ "${1:-}" = "--check" ]; then
  list=${2:?--check needs the package list file}
  shift 2
fi
if [ $# -eq 0 ]; then
  echo "usage: $0 [--check PACKAGE-LIST] BINARY..." >&2
  exit 2
fi

failed=0
libs=()
for binary in "$@"; do
  if ! output=$(ldd "$binary" 2>&1); then
    echo "runtime-deps: ldd $binary failed: $output" >&2
    exit 1
  fi
  while read -r line; do
    case $line in
      *"=> not found"*)
        echo "runtime-deps: $binary: ${line%% *} not found" >&2
        failed=1
        ;;
      *"=> /"*)
        lib=${line#*=> }
        libs+=("${lib%% (*}")
        ;;
    esac
  done <<<"$output"
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)

# dpkg registers some libraries under /lib, some under /usr/lib (usrmerge),
# so ask (in one dpkg -S, which is slow to start) for the path ldd printed,
# its /usr twin and its resolved target.
candidates=()
for lib in "${libs[@]}"; do
  candidates+=("$lib" "/usr$lib" "$(readlink -f "$lib")")
done
declare -A owner=()
while IFS= read -r line; do
  case $line in
    *": /"*)
      package=${line%%: /*}
      package=${package%%,*}    # "a, b: /path": the first
      owner[/${line#*: /}]=${package%%:*}  # libfoo:amd64 -> libfoo
      ;;
  esac
done < <(dpkg -S "${candidates[@]}" 2>/dev/null || true)

needed=()
for lib in "${libs[@]}"; do
  found=
  for candidate in "$lib" "/usr$lib" "$(readlink -f "$lib")"; do
    if [ -n "${owner[$candidate]:-}" ]; then
      found=${owner[$candidate]}
      break
    fi
  done
  if [ -n "$found" ]; then
    needed+=("$found")
  else
    echo "runtime-deps: no package provides $lib" >&2
    failed=1
  fi
done

mapfile -t needed < <(printf '%s\n' "${needed[@]}" | sort -u)

if [ -z "$list" ]; then
  printf '%s\n' "${needed[@]}"
  exit $failed
fi

mapfile -t listed < <(sed 's/#.*//' "$list" | tr -s ' \t' '\n' | sed '/^$/d' |
  sort -u)
for package in "${needed[@]}"; do
  if ! printf '%s\n' "${listed[@]}" | grep -qxF -- "$package"; then
    echo "runtime-deps: $list lacks $package (needed by $*)" >&2
    failed=1
  fi
done
if [ $failed -eq 0 ]; then
  echo "runtime-deps: $list covers the ${#needed[@]} packages $* need"
fi
exit $failed
