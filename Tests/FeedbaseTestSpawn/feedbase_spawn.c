#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "feedbase_spawn.h"

int feedbase_cloexec_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int feedbase_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int feedbase_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}
