/* Moves a browser's monotonic clock forward on request, so that the browser suite sees each
 * engine's preflight cache expire (WebKit 600 s, Chromium 7200 s, Firefox 86400 s) in seconds.
 *
 * Preloaded into the engine (LD_PRELOAD), it replaces clock_gettime: the monotonic clocks, which
 * every engine's preflight cache reads, are shifted by the signed 64-bit count of seconds held in
 * the file CLOCK_SHIFT_FILE names (mapped once, re-read on every call, so the suite moves the
 * clock by rewriting it). The wall clock is left alone. libfaketime does the same for Chromium,
 * but deadlocks Firefox's allocator at start: this allocates nothing and calls only the kernel.
 * Built by scripts/setup.sh browser into .tools/clock_shift.so. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int64_t *shift;
static volatile int mapped;

static void map_shift(void) {
    const char *path = getenv("CLOCK_SHIFT_FILE");
    if (path == NULL) return;
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    long at = syscall(SYS_mmap, 0, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
    syscall(SYS_close, fd);
    if (at != -1) shift = (volatile int64_t *)at;
}

int clock_gettime(clockid_t clock, struct timespec *now) {
    long result = syscall(SYS_clock_gettime, clock, now);
    if (!mapped) { /* racing threads map it twice at worst */
        mapped = 1;
        map_shift();
    }
    int monotonic = clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_COARSE ||
                    clock == CLOCK_MONOTONIC_RAW || clock == CLOCK_BOOTTIME;
    if (result == 0 && monotonic && shift != NULL) now->tv_sec += *shift;
    return (int)result;
}
