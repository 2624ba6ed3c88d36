// Test fixture, not shipped: the "empty" dynamic module of scripts/bench-envoy.sh, the native
// counterpart of proxy-wasm/examples/bench_empty_filter.rs. It reads `Origin` and adds one response
// header, nothing else, so its cost is that of Envoy 1.40's dynamic-module HTTP filter itself: the
// floor for any module, corsguard's included. A preflight it answers itself, as any CORS module
// must, with the least there is: a 204 that echoes `Origin`. Built with `cc -O2 -shared -fPIC`; the few ABI types
// it needs are declared as envoy-module/src/abi.rs declares them. With -DCORSGUARD_CANARY it also
// reads memory it has freed, once per request: the finding tests/e2e/test_envoy_module.py makes
// sure memcheck reports, so that its silence about corsguard's module means something.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
  const char *ptr;
  size_t length;
} buffer;

bool envoy_dynamic_module_callback_http_get_header(void *filter, uint32_t kind, buffer key, buffer *value,
                                                    size_t index, size_t *count);
bool envoy_dynamic_module_callback_http_add_header(void *filter, uint32_t kind, buffer key, buffer value);
typedef struct {
  buffer key;
  buffer value;
} header;
void envoy_dynamic_module_callback_http_send_response_headers(void *filter, header *headers, size_t count, bool end);

enum { REQUEST_HEADERS = 0, RESPONSE_HEADERS = 2, CONTINUE = 0, STOP_ITERATION = 1 };

static int config;
typedef struct {
  bool origin;
} stream;

const char *envoy_dynamic_module_on_program_init(void) { return "v0.2.0"; }
const void *envoy_dynamic_module_on_http_filter_config_new(void *envoy, buffer name, buffer text) { return &config; }
void envoy_dynamic_module_on_http_filter_config_destroy(const void *config) {}
const void *envoy_dynamic_module_on_http_filter_per_route_config_new(buffer name, buffer text) { return NULL; }
void envoy_dynamic_module_on_http_filter_per_route_config_destroy(const void *config) {}

// A stream's state, allocated as any module's is (the empty proxy-wasm filter's context is too).
const void *envoy_dynamic_module_on_http_filter_new(const void *config, void *envoy) {
  return calloc(1, sizeof(stream));
}
void envoy_dynamic_module_on_http_filter_destroy(const void *filter) { free((void *)filter); }

uint32_t envoy_dynamic_module_on_http_filter_request_headers(void *envoy, const void *filter, bool end) {
#ifdef CORSGUARD_CANARY
  volatile char *freed = malloc(8);
  free((void *)freed);
  ((stream *)filter)->origin = freed[0];  // a use after free
#endif
  buffer origin = {NULL, 0}, method = {NULL, 0};
  size_t count = 0;
  ((stream *)filter)->origin = envoy_dynamic_module_callback_http_get_header(
      envoy, REQUEST_HEADERS, (buffer){"origin", 6}, &origin, 0, &count);
  if (((stream *)filter)->origin &&
      envoy_dynamic_module_callback_http_get_header(envoy, REQUEST_HEADERS,
                                                    (buffer){"access-control-request-method", 29}, &method, 0, &count)) {
    header answer[] = {{{":status", 7}, {"204", 3}}, {{"access-control-allow-origin", 27}, origin}};
    envoy_dynamic_module_callback_http_send_response_headers(envoy, answer, 2, true);
    return STOP_ITERATION;
  }
  return CONTINUE;
}

uint32_t envoy_dynamic_module_on_http_filter_response_headers(void *envoy, const void *filter, bool end) {
  buffer value = ((const stream *)filter)->origin ? (buffer){"origin", 6} : (buffer){"none", 4};
  envoy_dynamic_module_callback_http_add_header(envoy, RESPONSE_HEADERS, (buffer){"x-empty-filter", 14}, value);
  return CONTINUE;
}

// Every other hook the ABI requires: nothing to do.
uint32_t envoy_dynamic_module_on_http_filter_request_body(void *e, const void *f, bool end) { return CONTINUE; }
uint32_t envoy_dynamic_module_on_http_filter_request_trailers(void *e, const void *f) { return CONTINUE; }
uint32_t envoy_dynamic_module_on_http_filter_response_body(void *e, const void *f, bool end) { return CONTINUE; }
uint32_t envoy_dynamic_module_on_http_filter_response_trailers(void *e, const void *f) { return CONTINUE; }
void envoy_dynamic_module_on_http_filter_stream_complete(void *e, const void *f) {}
void envoy_dynamic_module_on_http_filter_http_callout_done(void *e, const void *f, uint64_t id, uint32_t result,
                                                           void *headers, size_t headers_size, void *chunks,
                                                           size_t chunks_size) {}
void envoy_dynamic_module_on_http_filter_http_stream_headers(void *e, const void *f, uint64_t id, void *headers,
                                                             size_t headers_size, bool end) {}
void envoy_dynamic_module_on_http_filter_http_stream_data(void *e, const void *f, uint64_t id, const void *data,
                                                          size_t data_count, bool end) {}
void envoy_dynamic_module_on_http_filter_http_stream_trailers(void *e, const void *f, uint64_t id, void *trailers,
                                                              size_t trailers_size) {}
void envoy_dynamic_module_on_http_filter_http_stream_complete(void *e, const void *f, uint64_t id) {}
void envoy_dynamic_module_on_http_filter_http_stream_reset(void *e, const void *f, uint64_t id, uint32_t reason) {}
void envoy_dynamic_module_on_http_filter_scheduled(void *e, const void *f, uint64_t id) {}
void envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(void *e, const void *f) {}
void envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(void *e, const void *f) {}
