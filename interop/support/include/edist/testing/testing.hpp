// Everything of edist::testing except the GoogleTest helpers (edist/testing/gtest.hpp).
#pragma once

#include "edist/testing/beam_node.hpp"
#include "edist/testing/child_process.hpp"
#include "edist/testing/epmd_instance.hpp"
#include "edist/testing/erlang_install.hpp"
#include "edist/testing/live_node.hpp"
#include "edist/testing/names.hpp"
