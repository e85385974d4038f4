// What the test harness adds to the test addon's exports (test_addon.cc calls them all).
#pragma once

#include <napi.h>

namespace frnn::binding {

void RegisterRnnHarness(Napi::Env env, Napi::Object ops);   // harness_rnn.cc: recurrent ops
void RegisterOpsHarness(Napi::Env env, Napi::Object ops);   // harness_ops.cc: every other op
void RegisterInit(Napi::Env env, Napi::Object exports);     // harness_init.cc: initializers

}  // namespace frnn::binding
