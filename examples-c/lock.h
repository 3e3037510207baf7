/*
 * lock_run(): one run at a time on a file, for the sync examples (header-only,
 * C99). Needs flock(2), beside POSIX: define _DEFAULT_SOURCE before the first
 * include (before common.h).
 */
#ifndef CALLS_EXAMPLES_LOCK_H
#define CALLS_EXAMPLES_LOCK_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/*
 * Takes an exclusive lock on PATH.lock (flock: released when the process
 * ends, however it ends; flock(1) takes the same one from a shell), so that a
 * second run at the same time (cron overlapping a long run) stops at once
 * instead of working from the same state. `tool` names the program in the
 * message. Returns the descriptor to close at the end, or -1 (a message is
 * printed).
 */
static inline int lock_run(const char *path, const char *tool)
{
    size_t n = strlen(path) + sizeof ".lock";
    char *lock = malloc(n);
    int fd;
    if (lock == NULL)
        return -1;
    snprintf(lock, n, "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        fprintf(stderr, "error: cannot open %s: %s\n", lock, strerror(errno));
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "error: another %s is running on %s (%s is locked)\n", tool, path, lock);
        close(fd);
        fd = -1;
    }
    free(lock);
    return fd;
}

#endif /* CALLS_EXAMPLES_LOCK_H */
