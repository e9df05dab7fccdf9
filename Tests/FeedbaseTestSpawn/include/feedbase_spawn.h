// glibc's GNU spawn extensions, which Swift's Glibc module does not show (they need _GNU_SOURCE).
#ifndef FEEDBASE_SPAWN_H
#define FEEDBASE_SPAWN_H
#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so no concurrent spawn inherits them.
int feedbase_cloexec_pipe(int fds[2]);
/// Close every descriptor from `lowest` up in the child.
int feedbase_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);
/// chdir(path) in the child before exec.
int feedbase_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
#endif
