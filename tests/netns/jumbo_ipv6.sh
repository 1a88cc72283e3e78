#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/netns/jumbo.sh over an IPv6 underlay: an 8903-byte overlay on 9000,
# 1403 for the host left at 1500, and everything jumbo.sh checks.
MESH_IPV6=1 exec "$(dirname "$0")/jumbo.sh" "$@"
